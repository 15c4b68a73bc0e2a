/**
 * MaxPoolGrad for tfjs-backend-wasm 4.22, replacing the package's kernel, which misplaces the
 * gradient of windows whose values are all negative (measured: a [-3, -1, -2, -4] window sends
 * its dy to -3, the first position, not to the maximum -1; its running maximum starts above
 * them). Right after a ReLU that is harmless; on signed inputs it is wrong.
 *
 * Same rule as the cpu backend: each output window sends its dy to the first (row-major scan
 * order) strictly greatest valid input position; padding positions never win; a window of NaNs
 * sends nothing. Runs in JavaScript straight on the wasm heap, channels innermost so that the
 * scan is contiguous.
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { tf } from "../../tf.ts";
import { heapF32, type TensorInfo } from "./kernel-utils.ts";

export const KERNEL_NAME = "MaxPoolGrad";

function maxPoolGrad(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }) {
  const backend = args.backend as BackendWasm;
  const { dy, input } = args.inputs as { dy: TensorInfo; input: TensorInfo };
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs as unknown as tf.MaxPoolGradAttrs;
  if (input.dtype !== "float32" || dy.dtype !== "float32") {
    throw new Error(`wasm ${KERNEL_NAME}: inputs dy and input must be float32`);
  }
  const info = tf.backend_util.computePool2DInfo(
    input.shape as [number, number, number, number],
    filterSize,
    strides,
    1,
    pad,
    dimRoundingMode,
  );
  const dx = backend.makeOutput(input.shape, "float32");
  // Read the views after makeOutput: allocating may grow (and detach) the heap.
  const xs = heapF32(backend, input);
  const dys = heapF32(backend, dy);
  const dxs = heapF32(backend, dx);
  dxs.fill(0);
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight, outWidth } = info;
  const { strideHeight: sH, strideWidth: sW, filterHeight: fH, filterWidth: fW } = info;
  const { top, left } = info.padInfo;
  const best = new Float64Array(C);
  const where = new Int32Array(C);
  for (let b = 0; b < batchSize; b++) {
    for (let yR = 0; yR < outHeight; yR++) {
      const r0 = yR * sH - top;
      const rMin = Math.max(r0, 0);
      const rMax = Math.min(r0 + fH, H);
      for (let yC = 0; yC < outWidth; yC++) {
        const c0 = yC * sW - left;
        const cMin = Math.max(c0, 0);
        const cMax = Math.min(c0 + fW, W);
        best.fill(Number.NEGATIVE_INFINITY);
        where.fill(-1);
        for (let r = rMin; r < rMax; r++) {
          for (let c = cMin; c < cMax; c++) {
            const base = ((b * H + r) * W + c) * C;
            for (let d = 0; d < C; d++) {
              const v = xs[base + d]!;
              if (v > best[d]!) {
                best[d] = v;
                where[d] = base + d;
              }
            }
          }
        }
        const outBase = ((b * outHeight + yR) * outWidth + yC) * C;
        for (let d = 0; d < C; d++) {
          const at = where[d]!;
          if (at >= 0) dxs[at] = dxs[at]! + dys[outBase + d]!;
        }
      }
    }
  }
  return dx;
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: KERNEL_NAME,
  backendName: "wasm",
  kernelFunc: maxPoolGrad as tf.KernelFunc,
};
