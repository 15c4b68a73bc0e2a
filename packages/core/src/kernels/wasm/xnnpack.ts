/**
 * XNNPACK entry points of the tfjs-backend-wasm module, called by our wasm kernels on views into
 * the wasm heap: the package's Conv2D, FusedConv2D and BatchMatMul bound once per backend, a
 * heap view registered under a temporary tensor id, and one group's convolution. A view is
 * registered with the C++ side, used, and unregistered (the C++ side only forgets the id and drops
 * cached operators; memory stays owned by the real tensors). Used by GroupedKernels.ts,
 * SharedConvPool.ts and GroupedConvPoolInference.ts.
 */
import type { GroupedConvDims } from "../../ops/grouped.ts";
import type { tf } from "../../tf.ts";

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
export interface GroupConv extends Omit<GroupedConvDims, "G"> {
  x: number;
  w: number;
  /** Byte offset of the bias [G, O], or null for none. */
  bias: number | null;
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
