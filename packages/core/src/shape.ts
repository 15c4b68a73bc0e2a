/**
 * The number of elements of a shape: the product of its dimensions, 1 for a scalar's [] (as
 * tf.util.sizeFromShape, but for readonly shapes and without loading tfjs, so that the data
 * packages may use it: `@updates-leak/core/shape`).
 */
export function sizeFromShape(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}
