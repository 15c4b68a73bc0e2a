/**
 * `GroupedConvPoolInference` for the wasm backend (ops/conv-pool-inference.ts): x [G*B, H, W, C],
 * w [G, k, k, C, O], b [G, O] -> y [G*B, ph, pw, O] = relu(maxpool2x2(conv(x, w) + b)).
 *
 * Group by group: `GroupedConv2D`'s convolution of the group (`convGroup`: XNNPACK, both threads,
 * bias included) into one scratch buffer the size of a group's output, pooled into y while it is
 * in cache (poolReluRegroup2x2 with one model, simd/kernels.wat, or its JavaScript twin). So the
 * bits of GroupedConv2D, maxPool and relu.
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { groupedConvOutShape } from "../../ops/grouped.ts";
import type { tf } from "../../tf.ts";
import { GROUPED_CONV_POOL_INFERENCE } from "../names.ts";
import { poolReluRegroupJs } from "./conv-pool.ts";
import { heapF32, type KernelArgs, release, type TensorInfo } from "./kernel-utils.ts";
import { simdKernels } from "./simd/instance.ts";
import { convGroup, type GroupConv, type WasmBackendLike } from "./xnnpack.ts";

function groupedConvPoolInference(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const b = backend as unknown as WasmBackendLike;
  const { x, w, b: bias } = args.inputs as Record<string, TensorInfo | undefined>;
  if (!x || !w || !bias) throw new Error(`${GROUPED_CONV_POOL_INFERENCE}: needs x, w and b`);
  const [GB, oh, ow, O] = groupedConvOutShape(GROUPED_CONV_POOL_INFERENCE, x.shape, w.shape, bias.shape, 0);
  if (oh % 2 || ow % 2) {
    throw new Error(
      `${GROUPED_CONV_POOL_INFERENCE}: x [${x.shape}], w [${w.shape}] and b [${bias.shape}] do not fit ${w.shape[0]} groups with even output sides`,
    );
  }
  const [, H, W, C] = x.shape as [number, number, number, number];
  const [G, k] = w.shape as [number, number];
  const B = GB / G;
  const [ph, pw] = [oh / 2, ow / 2];
  const y = backend.makeOutput([GB, ph, pw, O], "float32");
  const scratch = backend.makeOutput([B, oh, ow, O], "float32");
  const simd = O >= 4 ? simdKernels(backend) : null;
  const at = (t: TensorInfo) => backend.getMemoryOffset(t.dataId);
  const conv: GroupConv = { x: at(x), w: at(w), bias: at(bias), B, H, W, C, k, O, pad: 0 };
  const ys = B * ph * pw * O;
  for (let g = 0; g < G; g++) {
    convGroup(b, conv, g, at(scratch));
    if (simd) simd.poolReluRegroup2x2(at(scratch), at(y) + 4 * g * ys, 0, B, ph, pw, 1, O, 0);
    else
      poolReluRegroupJs(heapF32(backend, scratch), heapF32(backend, y).subarray(g * ys), B, ph, pw, 1, O, 0);
  }
  release(backend, scratch);
  return y;
}

export const groupedConvPoolInferenceConfig: tf.KernelConfig = {
  kernelName: GROUPED_CONV_POOL_INFERENCE,
  backendName: "wasm",
  kernelFunc: groupedConvPoolInference as unknown as tf.KernelFunc,
};
