import { beforeAll, describe, expect, test } from "bun:test";
import { computeOn, sameBits, sameBitsOrNaN } from "../../backend/compare.ts";
import { selectBackend } from "../../backend/select.ts";
import { tf } from "../../tf.ts";
import { addConfig } from "./Add.ts";
import { broadcastBlock } from "./broadcast-middle.ts";
import { multiplyConfig } from "./Multiply.ts";
import { randomTensor, rngFor, TEST_SEED } from "./test-cases.ts";

const OPS = { Add: tf.add, Multiply: tf.mul } as const;

describe("wasm Add and Multiply (block-broadcast in SIMD, else the package's kernels)", () => {
  beforeAll(async () => {
    await selectBackend({ backend: "wasm", quiet: true });
  });

  test("broadcastBlock finds [A, N, c] for one block of ones, and nothing else", () => {
    expect(broadcastBlock([2, 36864, 10], [2, 1, 10])).toEqual([2, 36864, 10]);
    expect(broadcastBlock([128, 8, 8, 20], [128, 1, 1, 20])).toEqual([128, 64, 20]);
    expect(broadcastBlock([5, 6, 7], [7])).toEqual([1, 30, 7]);
    expect(broadcastBlock([5, 6, 7], [6, 7])).toEqual([1, 5, 42]);
    expect(broadcastBlock([5, 6, 7], [5, 6, 1])).toEqual([30, 7, 1]);
    expect(broadcastBlock([5, 6, 7], [5, 6, 7])).toBeNull(); // no broadcast
    expect(broadcastBlock([5, 6, 7], [1, 6, 1])).toBeNull(); // two blocks
    expect(broadcastBlock([5, 6, 7], [5, 2, 7])).toBeNull(); // not a broadcast of ones
    expect(broadcastBlock([6, 7], [1, 6, 7])).toBeNull(); // higher rank
  });

  test("the kernels are registered and give cpu's bits on the models' bias and mask shapes", async () => {
    expect(tf.getKernel("Add", "wasm")?.kernelFunc).toBe(addConfig.kernelFunc);
    expect(tf.getKernel("Multiply", "wasm")?.kernelFunc).toBe(multiplyConfig.kernelFunc);
    const rng = rngFor("broadcast-engine");
    const before = tf.memory().numTensors;
    for (const [xs, ys] of [
      [
        [2, 3686, 10],
        [2, 1, 10],
      ],
      [
        [12, 8, 8, 20],
        [12, 1, 1, 20],
      ],
      [
        [3, 4, 6],
        [3, 1, 6],
      ],
    ] as [number[], number[]][]) {
      const x = randomTensor(rng, xs);
      const y = randomTensor(rng, ys);
      for (const [name, op] of Object.entries(OPS)) {
        for (const swap of [false, true]) {
          const f = (t: Record<string, tf.Tensor>) => (swap ? op(t.y!, t.x!) : op(t.x!, t.y!));
          const [got] = await computeOn("wasm", { x, y }, f);
          const [want] = await computeOn("cpu", { x, y }, f);
          expect(got!.shape).toEqual(xs);
          expect(sameBits(got!.data, want!.data), `${name} [${xs}] [${ys}] swap=${swap}`).toBe(true);
        }
      }
    }
    await selectBackend({ backend: "wasm", quiet: true });
    expect(tf.memory().numTensors).toBe(before);
  });

  test("match cpu bit for bit on 80 random broadcasts (blocks of ones, plain, both sides, NaN and infinities)", async () => {
    const rng = rngFor("broadcast-cases");
    const failures: string[] = [];
    const specials = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 0];
    for (let c = 0; c < 80; c++) {
      const rank = 1 + rng.int(4);
      const xs = Array.from({ length: rank }, () => 1 + rng.int(6));
      if (c % 2 === 0) xs[rank - 1] = 4 + rng.int(9);
      const ys = xs.map((d) => (rng.next() < 0.4 ? 1 : d));
      const lead = rng.int(rank); // drop leading axes sometimes (they must be broadcast then)
      const small = c % 5 === 0 ? ys.slice(lead) : ys;
      const x = randomTensor(rng, xs);
      const y = randomTensor(rng, small);
      for (const t of [x, y])
        t.data = t.data.map((v, i) => (i % 9 === 4 ? specials[rng.int(specials.length)]! : v));
      for (const [name, op] of Object.entries(OPS)) {
        const f = (t: Record<string, tf.Tensor>) => (c % 3 === 0 ? op(t.y!, t.x!) : op(t.x!, t.y!));
        const [got] = await computeOn("wasm", { x, y }, f);
        const [want] = await computeOn("cpu", { x, y }, f);
        const ok =
          JSON.stringify(got!.shape) === JSON.stringify(want!.shape) && sameBitsOrNaN(got!.data, want!.data);
        if (!ok) failures.push(`${name} x=[${xs}] y=[${small}] seed=${TEST_SEED}`);
      }
    }
    expect(failures).toEqual([]);
    await selectBackend({ backend: "wasm", quiet: true });
  });
});
