/**
 * `GroupedConv2D` and `GroupedMatMul` for the wasm backend (see ops/grouped.ts): one XNNPACK
 * call per group on views into the wasm heap (xnnpack.ts). Registered by register_all_kernels.ts.
 */

import { groupedConvCall } from "../../ops/grouped.ts";
import type { tf } from "../../tf.ts";
import { GROUPED_CONV2D, GROUPED_MATMUL } from "../names.ts";
import { bind, convGroup, type GroupConv, view, type WasmBackendLike } from "./xnnpack.ts";

function groupedConv2D(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const b = args.backend as WasmBackendLike;
  const { x, w, bias, pad, outShape, G, B, H, W, C, k, O } = groupedConvCall(args);
  const out = b.makeOutput(outShape, "float32");
  const at = (t: tf.TensorInfo) => b.dataIdMap.get(t.dataId).memoryOffset;
  const conv: GroupConv = { x: at(x), w: at(w), bias: bias ? at(bias) : null, B, H, W, C, k, O, pad };
  const os = B * outShape[1] * outShape[2] * O;
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

export const groupedConv2DConfig: tf.KernelConfig = {
  kernelName: GROUPED_CONV2D,
  backendName: "wasm",
  kernelFunc: groupedConv2D as tf.KernelFunc,
};

export const groupedMatMulConfig: tf.KernelConfig = {
  kernelName: GROUPED_MATMUL,
  backendName: "wasm",
  kernelFunc: groupedMatMul as tf.KernelFunc,
};
