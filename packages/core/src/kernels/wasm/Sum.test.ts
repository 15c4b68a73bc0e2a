import { beforeAll, describe, expect, test } from "bun:test";
import { computeOn, sameBits } from "../../backend/compare.ts";
import { selectBackend } from "../../backend/select.ts";
import { tf } from "../../tf.ts";
import { sumConfig } from "./Sum.ts";
import { expectClose, randomTensor, rngFor, TEST_SEED } from "./test-cases.ts";

describe("wasm Sum (a block of non-innermost axes in one pass, else the package's kernel)", () => {
  beforeAll(async () => {
    await selectBackend({ backend: "wasm", quiet: true });
  });

  test("bias-gradient shapes: this kernel runs, with the package's bits (its transpose + innermost sum)", async () => {
    expect(tf.getKernel("Sum", "wasm")?.kernelFunc).toBe(sumConfig.kernelFunc);
    const rng = rngFor("sum-middle");
    const before = tf.memory().numTensors;
    for (const shape of [
      [3, 5000, 10],
      [2, 37, 4, 20],
    ]) {
      const x = randomTensor(rng, shape);
      const rest = shape.filter((_, i) => i !== 1);
      // The package's path: the reduced axis moved innermost by a transpose, then summed there.
      const perm = [...shape.keys()].filter((i) => i !== 1).concat(1);
      const [pkg] = await computeOn("wasm", { x }, (t) => tf.sum(tf.transpose(t.x!, perm), -1));
      for (const keepDims of [false, true]) {
        const [got] = await computeOn("wasm", { x }, (t) => tf.sum(t.x!, 1, keepDims));
        expect(got!.shape).toEqual(keepDims ? shape.map((d, i) => (i === 1 ? 1 : d)) : rest);
        expect(sameBits(got!.data, pkg!.data)).toBe(true);
      }
    }
    await selectBackend({ backend: "wasm", quiet: true });
    expect(tf.memory().numTensors).toBe(before);
  });

  test("matches cpu on 60 random shapes and axis sets (contiguous or not, innermost or not, keepDims)", async () => {
    const rng = rngFor("sum-cases");
    const failures: string[] = [];
    for (let c = 0; c < 60; c++) {
      const rank = 1 + rng.int(5);
      const shape = Array.from({ length: rank }, () => 1 + rng.int(7));
      const axes = [...Array(rank).keys()].filter(() => rng.next() < 0.5);
      if (axes.length === 0) axes.push(rng.int(rank));
      // Negative axes count from the end.
      const given = axes.map((a) => (rng.next() < 0.3 ? a - rank : a));
      const keepDims = rng.next() < 0.5;
      // Positive values: a relative bound means little for a sum of signed values that cancel.
      const normal = randomTensor(rng, shape);
      const x = { shape: normal.shape, data: normal.data.map(Math.abs) };
      const f = (t: Record<string, tf.Tensor>) => tf.sum(t.x!, given, keepDims);
      const [got] = await computeOn("wasm", { x }, f);
      const [want] = await computeOn("cpu", { x }, f);
      const what = `x=[${shape}] axes=[${given}] keepDims=${keepDims} seed=${TEST_SEED}`;
      const e = expectClose(got!, want!, what);
      if (e) failures.push(e);
    }
    expect(failures).toEqual([]);
    await selectBackend({ backend: "wasm", quiet: true });
  });
});
