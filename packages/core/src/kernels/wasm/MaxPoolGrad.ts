/**
 * MaxPoolGrad for tfjs-backend-wasm 4.22, replacing the package's kernel, which misplaces the
 * gradient of windows whose values are all negative (measured: a [-3, -1, -2, -4] window sends
 * its dy to -3, the first position, not to the maximum -1; its running maximum starts above
 * them). Right after a ReLU that is harmless; on signed inputs it is wrong.
 *
 * Same rule as the cpu backend: each output window sends its dy to the first (row-major scan
 * order) strictly greatest valid input position; padding positions never win; a window of NaNs
 * sends nothing. Runs straight on the wasm heap, channels innermost so that the scan is
 * contiguous: 2x2 windows at stride 2 with at least 4 channels (both MNIST pools) in hand-written
 * WebAssembly SIMD (simd/kernels.wat, four channels per instruction), everything else in JavaScript.
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { tf } from "../../tf.ts";
import { capturePackageKernel, heapF32, type TensorInfo } from "./kernel-utils.ts";
import { simdKernels } from "./simd/instance.ts";

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
  const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight, outWidth } = info;
  const { strideHeight: sH, strideWidth: sW, filterHeight: fH, filterWidth: fW } = info;
  const { top, left } = info.padInfo;
  const pool2x2Fits =
    fH === 2 &&
    fW === 2 &&
    sH === 2 &&
    sW === 2 &&
    top === 0 &&
    left === 0 &&
    outHeight * 2 <= H &&
    outWidth * 2 <= W;
  const simd = pool2x2Fits && C >= 4 ? simdKernels(backend) : null;
  if (simd) {
    // Positions no window covers (an odd last row or column) get no gradient.
    if (outHeight * 2 !== H || outWidth * 2 !== W) heapF32(backend, dx).fill(0);
    const at = (t: TensorInfo) => backend.getMemoryOffset(t.dataId);
    simd.maxPoolGrad2x2(at(input), at(dy), at(dx), batchSize, H, W, C, outHeight, outWidth);
    return dx;
  }
  // Read the views after makeOutput: allocating may grow (and detach) the heap.
  const xs = heapF32(backend, input);
  const dys = heapF32(backend, dy);
  const dxs = heapF32(backend, dx);
  if (pool2x2Fits) {
    pool2x2(xs, dys, dxs, batchSize, H, W, C, outHeight, outWidth);
    return dx;
  }
  dxs.fill(0);
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

/**
 * The common case, 2x2 windows at stride 2 inside the input: windows do not overlap, so each
 * covered input position is written once (its window's dy or 0), with the window unrolled (the
 * general loop above runs several times slower per element).
 */
export function pool2x2(
  xs: Float32Array,
  dys: Float32Array,
  dxs: Float32Array,
  batch: number,
  H: number,
  W: number,
  C: number,
  oH: number,
  oW: number,
): void {
  // Positions no window covers (an odd last row or column) get no gradient.
  if (oH * 2 !== H || oW * 2 !== W) dxs.fill(0);
  const row = W * C;
  let o = 0;
  for (let b = 0; b < batch; b++) {
    for (let yR = 0; yR < oH; yR++) {
      for (let yC = 0; yC < oW; yC++) {
        const base = ((b * H + 2 * yR) * W + 2 * yC) * C;
        for (let d = 0; d < C; d++, o++) {
          const i0 = base + d;
          const i1 = i0 + C;
          const i2 = i0 + row;
          const i3 = i2 + C;
          // First strictly greatest in row-major order; NaN never wins; all-NaN sends nothing.
          let best = Number.NEGATIVE_INFINITY;
          let at = -1;
          const v0 = xs[i0]!;
          if (v0 > best) {
            best = v0;
            at = 0;
          }
          const v1 = xs[i1]!;
          if (v1 > best) {
            best = v1;
            at = 1;
          }
          const v2 = xs[i2]!;
          if (v2 > best) {
            best = v2;
            at = 2;
          }
          if (xs[i3]! > best) at = 3;
          const g = dys[o]!;
          dxs[i0] = at === 0 ? g : 0;
          dxs[i1] = at === 1 ? g : 0;
          dxs[i2] = at === 2 ? g : 0;
          dxs[i3] = at === 3 ? g : 0;
        }
      }
    }
  }
}

export const maxPoolGradConfig: tf.KernelConfig = {
  kernelName: KERNEL_NAME,
  backendName: "wasm",
  kernelFunc: maxPoolGrad as tf.KernelFunc,
  // Never falls back, but keeps the package's kernel runnable (its wasm function bound) for the
  // tests and benchmarks that compare against it through runPackageKernel.
  setupFunc: (backend) => capturePackageKernel(KERNEL_NAME).setupFunc?.(backend),
};
