/**
 * Helpers shared by the tensor suites: random inputs (never zeros: a zero input can take fast
 * paths real data does not), reading results back so that GPU work is waited for, leak checks.
 */
import { type Rng, sizeFromShape, tf } from "@updates-leak/core";

export function randomTensor(rng: Rng, shape: number[]): tf.Tensor {
  return tf.tensor(rng.normals(sizeFromShape(shape)), shape, "float32");
}

export function randomLabels(rng: Rng, n: number, classes: number): Int32Array {
  return Int32Array.from({ length: n }, () => rng.int(classes));
}

/** Reads every tensor back to the host (awaiting GPU work), then disposes them. */
export async function readAndDispose(ts: tf.Tensor | readonly tf.Tensor[]): Promise<void> {
  const list = Array.isArray(ts) ? ts : [ts as tf.Tensor];
  try {
    await Promise.all(list.map((t) => t.data()));
  } finally {
    tf.dispose(list as tf.Tensor[]);
  }
}

/**
 * Waits until `ts` are computed, then disposes them, without reading them back: for intermediates
 * the engine never reads (a probe conv's output for 64 models is 147 MB, whose copy out of wasm
 * memory took 10x the op). wasm and cpu compute synchronously; on webgpu a scalar sum is read.
 */
export async function finishAndDispose(ts: tf.Tensor | readonly tf.Tensor[]): Promise<void> {
  const list = Array.isArray(ts) ? ts : [ts as tf.Tensor];
  try {
    if (tf.getBackend() === "webgpu") {
      const s = tf.tidy(() => tf.addN(list.map((t) => tf.sum(t))));
      await s.data();
      s.dispose();
    }
  } finally {
    tf.dispose(list as tf.Tensor[]);
  }
}

/** Runs `body`; returns a note if it left tensors behind (they are reported, not hidden). */
export async function leakCheck(what: string, body: () => Promise<void>): Promise<string | null> {
  const before = tf.memory().numTensors;
  await body();
  const after = tf.memory().numTensors;
  return after === before ? null : `${what}: ${after - before} tensor(s) leaked`;
}
