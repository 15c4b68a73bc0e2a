/**
 * `GroupedConv2D` and `GroupedMatMul` for the wasm backend (see ops/grouped.ts): one XNNPACK
 * call per group on views into the wasm heap. Each view is registered with the C++ side under a
 * temporary tensor id that points into the input's memory, used, and unregistered (the C++ side
 * only forgets the id and drops cached operators; memory stays owned by the real tensors).
 */

import { GROUPED_CONV2D, GROUPED_MATMUL, groupedConvOutShape } from "../../ops/grouped.ts";
import { tf } from "../../tf.ts";
import { groupedConvPoolConfig } from "./GroupedConvPool.ts";
import { groupedConvPoolGradConfig } from "./GroupedConvPoolGrad.ts";
import { groupedConvPoolInferenceConfig } from "./GroupedConvPoolInference.ts";
import { sharedConvPoolConfig } from "./SharedConvPool.ts";

export interface WasmBackendLike {
  wasm: {
    cwrap(name: string, ret: null, args: string[]): (...a: unknown[]) => void;
    tfjs: {
      registerTensor(id: number, size: number, offset: number): void;
      disposeData(id: number): void;
    };
  };
  dataIdMap: { get(dataId: object): { id: number; memoryOffset: number } };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: "float32"): tf.TensorInfo;
}

export interface Bound {
  backend: WasmBackendLike;
  conv2d: (...a: unknown[]) => void;
  fusedConv2d: (...a: unknown[]) => void;
  batchMatMul: (...a: unknown[]) => void;
}
let bound: Bound | null = null;

/** The package's Conv2D, FusedConv2D and BatchMatMul entry points, bound once per backend. */
export function bind(backend: WasmBackendLike): Bound {
  if (bound?.backend === backend) return bound;
  bound = {
    backend,
    conv2d: backend.wasm.cwrap("Conv2D", null, new Array(19).fill("number")),
    fusedConv2d: backend.wasm.cwrap("FusedConv2D", null, new Array(23).fill("number")),
    batchMatMul: backend.wasm.cwrap("BatchMatMul", null, [
      "number",
      "array",
      "number",
      "number",
      "array",
      "number",
      "number",
      "number",
      "number",
    ]),
  };
  return bound;
}

/** Registers a view of `size` floats at byte `offset`; returns its temporary id. */
export function view(b: WasmBackendLike, size: number, offset: number): number {
  const id = b.dataIdNextNumber++;
  b.wasm.tfjs.registerTensor(id, size, offset);
  return id;
}

/** The package's FusableActivation value for no activation. */
const LINEAR = 0;

/** One grouped convolution's operands on the heap (byte offsets) and sizes, for `convGroup`. */
export interface GroupConv {
  x: number;
  w: number;
  /** Byte offset of the bias [G, O], or null for none. */
  bias: number | null;
  B: number;
  H: number;
  W: number;
  C: number;
  k: number;
  O: number;
  pad: number;
}

/**
 * Group g's convolution (the package's Conv2D, or FusedConv2D with the bias; XNNPACK, all
 * threads), its [B, H+2p-k+1, W+2p-k+1, O] output written at byte `outOffset`.
 */
export function convGroup(b: WasmBackendLike, c: GroupConv, g: number, outOffset: number): void {
  const f = bind(b);
  const { B, H, W, C, k, O, pad } = c;
  const [oh, ow] = [H + 2 * pad - k + 1, W + 2 * pad - k + 1];
  const xs = B * H * W * C;
  const ws = k * k * C * O;
  const xi = view(b, xs, c.x + 4 * g * xs);
  const wi = view(b, ws, c.w + 4 * g * ws);
  const oi = view(b, B * oh * ow * O, outOffset);
  if (c.bias !== null) {
    const bi = view(b, O, c.bias + 4 * g * O);
    // prettier-ignore
    f.fusedConv2d(xi, B, H, W, wi, k, k, bi, pad, pad, pad, pad, 0, 1, 1, 1, 1, C, O, LINEAR, 0, 0, oi);
    b.wasm.tfjs.disposeData(bi);
  } else {
    f.conv2d(xi, B, H, W, wi, k, k, pad, pad, pad, pad, 0, 1, 1, 1, 1, C, O, oi);
  }
  b.wasm.tfjs.disposeData(xi);
  b.wasm.tfjs.disposeData(wi);
  b.wasm.tfjs.disposeData(oi);
}

function groupedConv2D(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const b = args.backend as WasmBackendLike;
  const { x, w, bias } = args.inputs as { x: tf.TensorInfo; w: tf.TensorInfo; bias?: tf.TensorInfo };
  const pad = (args.attrs?.pad as number | undefined) ?? 0;
  const outShape = groupedConvOutShape(GROUPED_CONV2D, x.shape, w.shape, bias?.shape, pad);
  const [GB, H, W, C] = x.shape as [number, number, number, number];
  const [G, k, , , O] = w.shape as [number, number, number, number, number];
  const out = b.makeOutput(outShape, "float32");
  const at = (t: tf.TensorInfo) => b.dataIdMap.get(t.dataId).memoryOffset;
  const conv: GroupConv = { x: at(x), w: at(w), bias: bias ? at(bias) : null, B: GB / G, H, W, C, k, O, pad };
  const os = (GB / G) * outShape[1] * outShape[2] * O;
  for (let g = 0; g < G; g++) convGroup(b, conv, g, at(out) + 4 * g * os);
  return out;
}

function groupedMatMul(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const b = args.backend as WasmBackendLike;
  const f = bind(b);
  const a = args.inputs.a!;
  const w = args.inputs.b!;
  const [G, K, N] = w.shape as [number, number, number];
  const shared = a.shape.length === 2;
  const P = a.shape[a.shape.length - 2]!;
  if (a.shape[a.shape.length - 1] !== K || (!shared && a.shape[0] !== G)) {
    throw new Error(`GroupedMatMul: a ${a.shape} does not fit b ${w.shape}`);
  }
  const out = b.makeOutput([G, P, N], "float32");
  const ao = b.dataIdMap.get(a.dataId).memoryOffset;
  const bo = b.dataIdMap.get(w.dataId).memoryOffset;
  const oo = b.dataIdMap.get(out.dataId).memoryOffset;
  const aShape = new Uint8Array(new Int32Array([1, P, K]).buffer);
  const bShape = new Uint8Array(new Int32Array([1, K, N]).buffer);
  const sharedA = shared ? view(b, P * K, ao) : -1;
  for (let g = 0; g < G; g++) {
    const ai = shared ? sharedA : view(b, P * K, ao + 4 * g * P * K);
    const bi = view(b, K * N, bo + 4 * g * K * N);
    const oi = view(b, P * N, oo + 4 * g * P * N);
    f.batchMatMul(ai, aShape, 3, bi, bShape, 3, 0, 0, oi);
    if (!shared) b.wasm.tfjs.disposeData(ai);
    b.wasm.tfjs.disposeData(bi);
    b.wasm.tfjs.disposeData(oi);
  }
  if (shared) b.wasm.tfjs.disposeData(sharedA);
  return out;
}

let registered = false;
export function registerGroupedWasmKernels(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({
    kernelName: GROUPED_CONV2D,
    backendName: "wasm",
    kernelFunc: groupedConv2D as tf.KernelFunc,
  });
  tf.registerKernel({
    kernelName: GROUPED_MATMUL,
    backendName: "wasm",
    kernelFunc: groupedMatMul as tf.KernelFunc,
  });
  tf.registerKernel(groupedConvPoolConfig);
  tf.registerKernel(groupedConvPoolGradConfig);
  tf.registerKernel(groupedConvPoolInferenceConfig);
  tf.registerKernel(sharedConvPoolConfig);
}
