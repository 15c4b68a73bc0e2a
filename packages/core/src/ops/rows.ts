/**
 * Rows of a matrix by index: a minibatch out of a data set held on the backend. On wasm and cpu
 * the kernel `TakeRows` (kernels/TakeRows.ts) copies the rows straight in memory, with the
 * indices as attributes (nothing uploaded); other backends (webgpu) run tf.gather.
 */
import { TAKE_ROWS } from "../kernels/names.ts";
import { type Tensor, tf } from "../tf.ts";

export { TAKE_ROWS };

/** x [n, width] float32, rows (integers in [0, n)) -> [rows.length, width]. */
export function takeRows(x: Tensor, rows: Int32Array): Tensor {
  if (x.rank !== 2 || x.dtype !== "float32") {
    throw new Error(`takeRows: x must be a float32 matrix, got ${x.dtype} of shape [${x.shape}]`);
  }
  const n = x.shape[0] as number;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i] as number;
    if (!(r >= 0 && r < n)) throw new Error(`takeRows: rows[${i}] = ${r} is not in [0, ${n})`);
  }
  if (tf.getKernel(TAKE_ROWS, tf.getBackend()) !== undefined) {
    // A copy of the indices: attributes must not change under a kernel that may run later.
    const attrs = { rows: Array.from(rows) } as unknown as tf.NamedAttrMap;
    return tf.engine().runKernel(TAKE_ROWS, { x }, attrs) as Tensor;
  }
  return tf.tidy(() => tf.gather(x, tf.tensor1d(rows, "int32")));
}
