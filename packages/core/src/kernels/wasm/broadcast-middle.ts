/**
 * Add and Multiply for tfjs-backend-wasm 4.22 when one input is broadcast over a block of middle
 * axes: x [A, N, c] op y [A, 1, c], e.g. a per-model bias [M, 1, O] added to [M, h*w*B, O], or
 * dropout2d masks [M*B, 1, 1, C] times [M*B, h, w, C]. The package's broadcasting loop computes
 * an index per value (Add [2, 36864, 10] + [2, 1, 10]: 0.7-1.1 ms; [18, 36864, 10]: 6.4 ms);
 * here hand-written SIMD (simd/kernels.wat) adds or multiplies four values per instruction. One
 * IEEE operation per value either way (both are commutative bit for bit): the same bits. Other
 * shapes and dtypes go to the package's kernel.
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { sizeFromShape } from "../../shape.ts";
import type { tf } from "../../tf.ts";
import { type KernelArgs, replacingPackageKernel, type TensorInfo } from "./kernel-utils.ts";
import { simdKernels } from "./simd/instance.ts";

/**
 * [A, N, c] when `small` (left-padded with ones to full's rank) equals `full` except for one
 * block of axes where it is 1 and full is not; null otherwise (equal shapes included).
 */
export function broadcastBlock(
  full: readonly number[],
  small: readonly number[],
): [number, number, number] | null {
  const r = full.length;
  if (small.length > r) return null;
  const s = [...new Array<number>(r - small.length).fill(1), ...small];
  let lo = 0;
  while (lo < r && s[lo] === full[lo]) lo++;
  if (lo === r) return null;
  let hi = r;
  while (s[hi - 1] === full[hi - 1]) hi--;
  for (let i = lo; i < hi; i++) if (s[i] !== 1) return null;
  return [sizeFromShape(full.slice(0, lo)), sizeFromShape(full.slice(lo, hi)), sizeFromShape(full.slice(hi))];
}

/** A kernel config for `name` (op 0: Add, 1: Multiply) with the SIMD path and the package's fallback. */
export function broadcastMiddleConfig(name: "Add" | "Multiply", op: 0 | 1): tf.KernelConfig {
  return replacingPackageKernel(name, (args: KernelArgs) => {
    const backend = args.backend as BackendWasm;
    const { a, b } = args.inputs as { a: TensorInfo; b: TensorInfo };
    if (a.dtype !== "float32" || b.dtype !== "float32") return null;
    const aFull = a.shape.length >= b.shape.length && sizeFromShape(a.shape) >= sizeFromShape(b.shape);
    const [x, y] = aFull ? [a, b] : [b, a];
    const block = broadcastBlock(x.shape, y.shape);
    const simd = block && block[2] >= 4 && sizeFromShape(x.shape) > 0 ? simdKernels(backend) : null;
    if (!block || !simd) return null;
    const out = backend.makeOutput(x.shape, "float32");
    const at = (t: TensorInfo) => backend.getMemoryOffset(t.dataId);
    simd.broadcastMiddle(op, at(x), at(y), at(out), ...block);
    return out;
  });
}
