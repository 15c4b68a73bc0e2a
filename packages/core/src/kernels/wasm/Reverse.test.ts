import { beforeAll, describe, expect, test } from "bun:test";
import { computeOn, sameBits } from "../../backend/compare.ts";
import { selectBackend } from "../../backend/select.ts";
import { tf } from "../../tf.ts";
import { axisBlock } from "./kernel-utils.ts";
import { reverseConfig } from "./Reverse.ts";
import { randomTensor, rngFor, TEST_SEED } from "./test-cases.ts";

describe("wasm Reverse (a contiguous block of axes in SIMD, else the package's kernel)", () => {
  beforeAll(async () => {
    await selectBackend({ backend: "wasm", quiet: true });
  });

  test("axisBlock views the reversed axes as one flattened axis", () => {
    expect(axisBlock([18, 25, 20, 10], [1])).toEqual({ first: 1, last: 1, outer: 18, mid: 25, inner: 200 });
    expect(axisBlock([2, 5, 5, 3], [1, 2])).toEqual({ first: 1, last: 2, outer: 2, mid: 25, inner: 3 });
    expect(axisBlock([2, 5, 5, 3], [2, 1, 2])).toEqual({ first: 1, last: 2, outer: 2, mid: 25, inner: 3 });
    expect(axisBlock([2, 5, 5, 3], [1, 3])).toBeNull();
    expect(axisBlock([2, 5], [])).toBeNull();
  });

  test("the kernel is registered and matches cpu bit for bit on 60 random shapes and axis sets", async () => {
    expect(tf.getKernel("Reverse", "wasm")?.kernelFunc).toBe(reverseConfig.kernelFunc);
    const rng = rngFor("reverse-cases");
    const before = tf.memory().numTensors;
    const failures: string[] = [];
    for (let c = 0; c < 60; c++) {
      const rank = 1 + rng.int(4);
      const shape = Array.from({ length: rank }, () => 1 + rng.int(6));
      if (c % 2 === 0) shape[rank - 1] = 4 + rng.int(9);
      const axes = [...Array(rank).keys()].filter(() => rng.next() < 0.5);
      if (axes.length === 0) axes.push(rng.int(rank));
      const given = axes.map((a) => (rng.next() < 0.3 ? a - rank : a));
      const x = randomTensor(rng, shape);
      const f = (t: Record<string, tf.Tensor>) => tf.reverse(t.x!, given);
      const [got] = await computeOn("wasm", { x }, f);
      const [want] = await computeOn("cpu", { x }, f);
      if (!sameBits(got!.data, want!.data)) failures.push(`x=[${shape}] dims=[${given}] seed=${TEST_SEED}`);
    }
    expect(failures).toEqual([]);
    await selectBackend({ backend: "wasm", quiet: true });
    const ints = tf.tensor3d(
      Int32Array.from({ length: 2 * 3 * 4 }, (_, i) => i),
      [2, 3, 4],
      "int32",
    );
    const r = tf.reverse(ints, 1);
    expect(r.dtype).toBe("int32");
    expect(Array.from(await r.data()).slice(0, 12)).toEqual([8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3]);
    tf.dispose([ints, r]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
