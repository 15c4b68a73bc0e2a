/** Row-major [n, width] arrays: the size check, row gathers, and rows kept on the backend. */
import { tf } from "@updates-leak/core";
import { takeRows } from "@updates-leak/core/internal";

type T2 = tf.Tensor2D;

/** Checks that a flat array holds n rows of `width` values; names the field on failure. */
export function checkRows(what: string, arr: ArrayLike<number>, n: number, width: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what}: n must be a positive integer, got ${n}`);
  if (arr.length !== n * width) {
    throw new Error(`${what}: expected ${n} x ${width} = ${n * width} values, got ${arr.length}`);
  }
}

/** Rows `idx[start..start+count)` of a row-major [*, width] array, as a new array. */
export function gatherRows(
  src: Float32Array,
  width: number,
  idx: ArrayLike<number>,
  start = 0,
  count?: number,
): Float32Array {
  const c = count ?? idx.length - start;
  const out = new Float32Array(c * width);
  for (let i = 0; i < c; i++) {
    const r = idx[start + i] as number;
    out.set(src.subarray(r * width, (r + 1) * width), i * width);
  }
  return out;
}

/**
 * A row-major [n, width] array uploaded once; `take` copies a minibatch out of it on the backend
 * (core's takeRows). Building each minibatch in JavaScript and uploading it cost about 1 ms of an
 * A_LI step on wasm (64 x 1000 values; large typed-array allocations are slow next to the wasm
 * threads), tf.gather 3-5 ms.
 */
export class DeviceRows {
  private readonly t: T2;
  constructor(what: string, data: Float32Array, n: number, width: number) {
    checkRows(what, data, n, width);
    this.t = tf.tensor2d(data, [n, width]);
  }

  /** Rows `indices`, as a new [indices.length, width] tensor. */
  take(indices: Int32Array): T2 {
    return takeRows(this.t, indices) as T2;
  }

  dispose(): void {
    this.t.dispose();
  }
}
