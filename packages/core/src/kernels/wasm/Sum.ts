/**
 * Sum for tfjs-backend-wasm 4.22 over a block of axes that is not innermost, e.g. a bias gradient
 * (dy [M, N, O] summed over N). The package's kernel first transposes the reduction axes to the
 * end, which costs more than the sum: [18, 4096, 20] took 6.3 ms, [18, 36864, 10] 6.9 ms. Here one
 * pass over the wasm heap views x as [outer, mid, inner] and sums over mid: in hand-written SIMD
 * (simd/kernels.wat) when inner >= 4, 0.16 and 0.9 ms, else in JavaScript (`sumMiddle`, 0.75 and
 * 3.2 ms). Float32 accumulators, added in order over mid as the package's loop adds them after its
 * transpose: the same bits, so models trained before and after this kernel agree. Other
 * reductions (innermost axes, axes that are not one contiguous block, non-float32) go to the
 * package's kernel.
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { tf } from "../../tf.ts";
import {
  axisBlock,
  heapF32,
  type KernelArgs,
  replacingPackageKernel,
  type TensorInfo,
} from "./kernel-utils.ts";
import { simdKernels } from "./simd/instance.ts";

export const KERNEL_NAME = "Sum";

/** out[o, i] = sum over m of x[o, m, i] (x is [outer, mid, inner], row-major), in float32, m in order. */
export function sumMiddle(
  x: Float32Array,
  outer: number,
  mid: number,
  inner: number,
  out: Float32Array,
): void {
  const acc = new Float32Array(inner);
  for (let o = 0; o < outer; o++) {
    acc.fill(0);
    let base = o * mid * inner;
    for (let m = 0; m < mid; m++, base += inner) {
      for (let i = 0; i < inner; i++) acc[i] = (acc[i] as number) + (x[base + i] as number);
    }
    for (let i = 0; i < inner; i++) out[o * inner + i] = acc[i] as number;
  }
}

function sum(args: KernelArgs): TensorInfo | null {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as tf.SumAttrs;
  const block = x.dtype === "float32" ? axisBlock(x.shape, tf.util.parseAxisParam(axis, x.shape)) : null;
  if (!block || block.last === x.shape.length - 1) return null;
  const { first, last, outer, mid, inner } = block;
  const outShape = keepDims
    ? x.shape.map((d, i) => (i >= first && i <= last ? 1 : d))
    : x.shape.filter((_, i) => i < first || i > last);
  const out = backend.makeOutput(outShape, "float32");
  const simd = inner >= 4 ? simdKernels(backend) : null;
  if (simd) {
    simd.sumMiddle(backend.getMemoryOffset(x.dataId), backend.getMemoryOffset(out.dataId), outer, mid, inner);
    return out;
  }
  // Read the views after makeOutput: allocating may grow (and detach) the heap.
  sumMiddle(heapF32(backend, x), outer, mid, inner, heapF32(backend, out));
  return out;
}

export const sumConfig = replacingPackageKernel(KERNEL_NAME, sum);
