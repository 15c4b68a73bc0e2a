/**
 * Comparing results across backends: the relative error used by the conformance suite and the
 * kernel tests, and helpers that run the same computation on a chosen backend from plain arrays.
 *
 * Relative error of `actual` against `reference`:
 *   max_i |actual_i - reference_i| / max(max_i |reference_i|, 1e-30)
 * (one scale per tensor, so small entries of a large tensor are not over-weighted). NaN anywhere,
 * or a length mismatch, gives Infinity.
 */
import { tf } from "../tf.ts";
import { type ConcreteBackend, selectBackend } from "./select.ts";

/** Max absolute difference over the max absolute reference value (see the file comment). */
export function relativeError(actual: ArrayLike<number>, reference: ArrayLike<number>): number {
  if (actual.length !== reference.length) return Number.POSITIVE_INFINITY;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < reference.length; i++) {
    const a = actual[i]!;
    const r = reference[i]!;
    if (Number.isNaN(a) || Number.isNaN(r)) return Number.POSITIVE_INFINITY;
    diff = Math.max(diff, Math.abs(a - r));
    scale = Math.max(scale, Math.abs(r));
  }
  return diff / Math.max(scale, 1e-30);
}

/** True when both arrays hold the same float32 values bit for bit (NaN payloads and -0 included). */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * Bit for bit, except that any NaN equals any NaN: a NaN's sign and payload are not specified
 * (JavaScript stores one NaN, x86 SIMD makes another).
 */
export function sameBitsOrNaN(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== y[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  }
  return true;
}

/** A tensor as plain data. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/**
 * Selects `backend` (quietly), builds tensors from `inputs`, runs `fn` inside a tidy and returns
 * its outputs as host arrays. Leaves no tensors behind.
 */
export async function computeOn(
  backend: ConcreteBackend,
  inputs: Record<string, HostTensor>,
  fn: (t: Record<string, tf.Tensor>) => tf.Tensor | tf.Tensor[],
): Promise<HostTensor[]> {
  await selectBackend({ backend, quiet: true });
  const made: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(inputs)) made[k] = tf.tensor(v.data, v.shape, "float32");
  try {
    const out = tf.tidy(() => fn(made));
    const list = Array.isArray(out) ? out : [out];
    const host: HostTensor[] = [];
    for (const t of list) host.push({ shape: [...t.shape], data: Float32Array.from(await t.data()) });
    tf.dispose(list);
    return host;
  } finally {
    tf.dispose(Object.values(made));
  }
}

/** Runs one kernel by name on `backend` (see computeOn). */
export function runKernelOn(
  backend: ConcreteBackend,
  kernelName: string,
  inputs: Record<string, HostTensor>,
  attrs: object,
): Promise<HostTensor[]> {
  return computeOn(
    backend,
    inputs,
    (t) => tf.engine().runKernel(kernelName, t, attrs as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[],
  );
}
