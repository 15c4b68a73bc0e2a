/**
 * `GroupedConvPoolInference` for the wasm backend (ops/conv-pool-inference.ts): x [G*B, H, W, C],
 * w [G, k, k, C, O], b [G, O] -> y [G*B, ph, pw, O] = relu(maxpool2x2(conv(x, w) + b)).
 *
 * Group by group: the package's FusedConv2D (XNNPACK, both threads, bias included) into one
 * scratch buffer the size of a group's output, pooled into y while it is in cache
 * (poolReluRegroup2x2 with one model, simd/kernels.wat, or its JavaScript twin). The same XNNPACK
 * call per group as `GroupedConv2D`, so the bits of GroupedConv2D, maxPool and relu.
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { GROUPED_CONV_POOL_INFERENCE } from "../../ops/conv-pool-inference.ts";
import type { tf } from "../../tf.ts";
import { poolReluRegroupJs } from "./conv-pool.ts";
import { bind, LINEAR, view, type WasmBackendLike } from "./GroupedKernels.ts";
import { heapF32, type KernelArgs, release, type TensorInfo } from "./kernel-utils.ts";
import { simdKernels } from "./simd/instance.ts";

function groupedConvPoolInference(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const b = backend as unknown as WasmBackendLike;
  const { x, w, b: bias } = args.inputs as Record<string, TensorInfo | undefined>;
  if (!x || !w || !bias) throw new Error(`${GROUPED_CONV_POOL_INFERENCE}: needs x, w and b`);
  const [GB, H, W, C] = x.shape as [number, number, number, number];
  const [G, k, , , O] = w.shape as [number, number, number, number, number];
  const [oh, ow] = [H - k + 1, W - k + 1];
  if (GB % G !== 0 || w.shape[3] !== C || bias.shape.join() !== [G, O].join() || oh % 2 || ow % 2) {
    throw new Error(
      `${GROUPED_CONV_POOL_INFERENCE}: x [${x.shape}], w [${w.shape}] and b [${bias.shape}] do not fit ${G} groups with even output sides`,
    );
  }
  const B = GB / G;
  const [ph, pw] = [oh / 2, ow / 2];
  const y = backend.makeOutput([GB, ph, pw, O], "float32");
  const scratch = backend.makeOutput([B, oh, ow, O], "float32");
  const simd = O >= 4 ? simdKernels(backend) : null;
  const f = bind(b);
  const xo = backend.getMemoryOffset(x.dataId);
  const wo = backend.getMemoryOffset(w.dataId);
  const bo = backend.getMemoryOffset(bias.dataId);
  const zo = backend.getMemoryOffset(scratch.dataId);
  const yo = backend.getMemoryOffset(y.dataId);
  const [xs, ws, ys] = [B * H * W * C, k * k * C * O, B * ph * pw * O];
  for (let g = 0; g < G; g++) {
    const xi = view(b, xs, xo + 4 * g * xs);
    const wi = view(b, ws, wo + 4 * g * ws);
    const bi = view(b, O, bo + 4 * g * O);
    const zi = view(b, B * oh * ow * O, zo);
    // prettier-ignore
    f.fusedConv2d(xi, B, H, W, wi, k, k, bi, 0, 0, 0, 0, 0, 1, 1, 1, 1, C, O, LINEAR, 0, 0, zi);
    for (const id of [xi, wi, bi, zi]) b.wasm.tfjs.disposeData(id);
    if (simd) simd.poolReluRegroup2x2(zo, yo + 4 * g * ys, 0, B, ph, pw, 1, O, 0);
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
