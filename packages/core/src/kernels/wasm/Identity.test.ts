import { beforeAll, describe, expect, test } from "bun:test";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { computeOn, sameBits } from "../../backend/compare.ts";
import { selectBackend } from "../../backend/select.ts";
import { tf } from "../../tf.ts";
import { expectClose, randomTensor, rngFor } from "./test-cases.ts";

describe("wasm Identity (shares the input's data)", () => {
  beforeAll(async () => {
    await selectBackend({ backend: "wasm", quiet: true });
  });

  test("tf.clone shares the data, outlives its source, and frees it with the last holder", () => {
    const backend = tf.backend() as BackendWasm;
    const before = tf.memory();
    const host = Float32Array.from({ length: 1000 }, (_, i) => Math.sin(i) * 1e3);
    const x = tf.tensor(host, [10, 100]);
    const y = tf.clone(x);
    expect(y.shape).toEqual([10, 100]);
    expect(backend.refCount(x.dataId)).toBe(2);
    // One data buffer for two tensors (tf.memory's numBytes counts per tensor).
    expect(tf.memory().numDataBuffers).toBe(before.numDataBuffers + 1);
    x.dispose();
    expect(sameBits(y.dataSync() as Float32Array, host)).toBe(true);
    const str = tf.tensor(["a", "bc"]);
    const s = tf.clone(str);
    expect(s.arraySync() as unknown as string[]).toEqual(["a", "bc"]);
    tf.dispose([y, str, s]);
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numBytes).toBe(before.numBytes);
    expect(tf.memory().numDataBuffers).toBe(before.numDataBuffers);
  });

  test("gradients through saved (cloned) tensors match cpu; no leaks", async () => {
    const rng = rngFor("identity-grads");
    const before = tf.memory().numTensors;
    const x = randomTensor(rng, [4, 6, 6, 3]);
    // Elementwise after the pool, so wasm and cpu round alike: relu, tanh and maxPool all save
    // tensors (through Identity) for their gradients.
    const f = (t: Record<string, tf.Tensor>) =>
      tf.grad((a: tf.Tensor) => {
        const p = tf.maxPool(a as tf.Tensor4D, 2, 2, "valid");
        return tf.sum(tf.mul(tf.relu(p), tf.tanh(p)));
      })(t.x!);
    const [got] = await computeOn("wasm", { x }, f);
    const [want] = await computeOn("cpu", { x }, f);
    expect(expectClose(got!, want!, "grad of sum(relu(maxPool(x)) * tanh(maxPool(x)))")).toBeNull();
    await selectBackend({ backend: "wasm", quiet: true });
    expect(tf.memory().numTensors).toBe(before);
  });
});
