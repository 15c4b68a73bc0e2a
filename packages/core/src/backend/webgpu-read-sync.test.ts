import { afterAll, describe, expect, test } from "bun:test";
import { tf } from "../tf.ts";
import { selectBackend } from "./select.ts";
import { probeWebGpu } from "./webgpu.ts";

const probe = await probeWebGpu();
const usable = probe.adapter !== null && probe.adapter.kind !== "null";

describe.skipIf(!usable)("webgpu synchronous reads under Bun", () => {
  afterAll(async () => {
    await selectBackend({ backend: "cpu", quiet: true });
  });

  test("dataSync / arraySync of computed tensors equal their async reads and the cpu values", async () => {
    await selectBackend({ backend: "webgpu", quiet: true });
    const before = tf.memory().numTensors;
    const a = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    const b = tf.tensor2d([1, -1, 0.5, 2, -3, 4], [3, 2]);
    const c = tf.matMul(a, b); // computed on the GPU, not cached on the CPU
    expect(Array.from(c.dataSync())).toEqual([-7, 15, -11.5, 30]);
    const d = tf.add(c, 1);
    expect(d.arraySync()).toEqual([
      [-6, 16],
      [-10.5, 31],
    ]);
    const e = tf.mul(d, 2);
    const asyncVals = Array.from(await e.data());
    const f = tf.mul(d, 2);
    expect(Array.from(f.dataSync())).toEqual(asyncVals);
    const big = tf.range(0, 100_000, 1, "float32");
    const sq = tf.square(big);
    const vals = sq.dataSync();
    expect(vals.length).toBe(100_000);
    expect(vals[99_999]).toBe(Math.fround(99_999 * 99_999));
    const n = tf.tidy(() => tf.cast(tf.greater(big, 49_999.5), "int32"));
    const count = tf.sum(n);
    expect(count.dtype).toBe("int32");
    expect(count.dataSync()[0]).toBe(50_000);
    tf.dispose([a, b, c, d, e, f, big, sq, n, count]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
