/**
 * Transpose for tfjs-backend-wasm 4.22 when it swaps two blocks of axes in front of a contiguous
 * block of at least 4 values: x viewed as [A, N, M, c] -> [A, M, N, c], e.g. [B*h*w, M, c] ->
 * [M, B*h*w, c] (regrouping models after the probes' first conv, models/batched.ts) or
 * [G, B, h*w, c] -> [G, h*w, B, c]. The package's kernel moves one value at a time through a
 * generic index loop (9.4M values of [14400, 65, 10]: 11.5 ms); here each c-block is copied with
 * 128-bit loads and stores in hand-written SIMD (simd/kernels.wat). A copy: the same bits.
 * An empty tensor gets its empty output (the package's kernel divides by zero on one). Everything
 * else (the last axis moving, blocks under 4 values, other dtypes) goes to the package's kernel.
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { sizeFromShape } from "../../shape.ts";
import type { tf } from "../../tf.ts";
import { type KernelArgs, replacingPackageKernel, type TensorInfo } from "./kernel-utils.ts";
import { simdKernels } from "./simd/instance.ts";

export const KERNEL_NAME = "Transpose";

/**
 * [A, N, M, c] sizes when `perm` keeps a leading and a trailing block of axes in place and swaps
 * the two blocks between them; null otherwise.
 */
export function middleSwap(
  shape: readonly number[],
  perm: readonly number[],
): [number, number, number, number] | null {
  const r = shape.length;
  let a = 0;
  while (a < r && perm[a] === a) a++;
  let t = r;
  while (t > a && perm[t - 1] === t - 1) t--;
  if (a === t || t === r) return null; // identity, or the last axis moves
  // perm[a..t) must read b, b+1, ..., t-1, a, a+1, ..., b-1 for some a < b < t.
  const b = perm[a]!;
  if (b <= a || b >= t) return null;
  for (let i = a; i < t; i++) {
    const want = i < a + (t - b) ? b + (i - a) : a + (i - a - (t - b));
    if (perm[i] !== want) return null;
  }
  return [
    sizeFromShape(shape.slice(0, a)),
    sizeFromShape(shape.slice(a, b)),
    sizeFromShape(shape.slice(b, t)),
    sizeFromShape(shape.slice(t)),
  ];
}

function transpose(args: KernelArgs): TensorInfo | null {
  const backend = args.backend as BackendWasm;
  const { x } = args.inputs as { x: TensorInfo };
  const { perm } = args.attrs as unknown as tf.TransposeAttrs;
  const outShape = perm.map((p) => x.shape[p]!);
  // Nothing to move (the package's kernel divides by zero on an empty tensor).
  if (sizeFromShape(x.shape) === 0) return backend.makeOutput(outShape, x.dtype);
  const swap = x.dtype === "float32" || x.dtype === "int32" ? middleSwap(x.shape, perm) : null;
  const simd = swap && swap[3] >= 4 ? simdKernels(backend) : null;
  if (!swap || !simd) return null;
  const out = backend.makeOutput(outShape, x.dtype);
  const [A, N, M, c] = swap;
  simd.swapMiddle(backend.getMemoryOffset(x.dataId), backend.getMemoryOffset(out.dataId), A, N, M, c);
  return out;
}

export const transposeConfig = replacingPackageKernel(KERNEL_NAME, transpose);
