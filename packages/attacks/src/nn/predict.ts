/** Reading tensors back: one tidy at a time, and prediction over row chunks. */
import { tf } from "@updates-leak/core";

/**
 * Runs `fn` in tf.tidy and reads its tensor back. Never return a typed array from tf.tidy itself:
 * tidy walks its result looking for tensors, element by element (15 ms for 20,000 values).
 */
export function readTidy<D extends "float32" | "int32" = "float32">(
  fn: () => tf.Tensor,
): D extends "int32" ? Int32Array : Float32Array {
  const t = tf.tidy(fn);
  try {
    return t.dataSync() as D extends "int32" ? Int32Array : Float32Array;
  } finally {
    t.dispose();
  }
}

/**
 * Runs `fn` on consecutive row chunks [start, start+count) and concatenates the outputs (each
 * [count, outWidth]) into one array. Each chunk runs inside tf.tidy.
 */
export function predictInChunks(
  n: number,
  outWidth: number,
  chunk: number,
  fn: (start: number, count: number) => tf.Tensor,
): Float32Array {
  const out = new Float32Array(n * outWidth);
  for (let start = 0; start < n; start += chunk) {
    const count = Math.min(chunk, n - start);
    const vals = readTidy(() => fn(start, count));
    if (vals.length !== count * outWidth) {
      throw new Error(`predictInChunks: chunk gave ${vals.length} values, expected ${count} x ${outWidth}`);
    }
    out.set(vals, start * outWidth);
  }
  return out;
}

/**
 * `net` on the rows of x [n, inWidth], `chunk` rows per call (predictInChunks): [n, outWidth].
 * Each chunk is uploaded as one [count, inWidth] tensor.
 */
export function predictRows(
  x: Float32Array,
  n: number,
  inWidth: number,
  outWidth: number,
  chunk: number,
  net: (xb: tf.Tensor2D) => tf.Tensor,
): Float32Array {
  return predictInChunks(n, outWidth, chunk, (start, count) =>
    net(tf.tensor2d(x.subarray(start * inWidth, (start + count) * inWidth), [count, inWidth])),
  );
}
