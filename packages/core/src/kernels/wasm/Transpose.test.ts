import { beforeAll, describe, expect, test } from "bun:test";
import { computeOn, sameBits } from "../../backend/compare.ts";
import { selectBackend } from "../../backend/select.ts";
import { tf } from "../../tf.ts";
import { middleSwap, transposeConfig } from "./Transpose.ts";
import { randomTensor, rngFor, TEST_SEED } from "./test-cases.ts";

describe("wasm Transpose (two middle blocks swapped in SIMD, else the package's kernel)", () => {
  beforeAll(async () => {
    await selectBackend({ backend: "wasm", quiet: true });
  });

  test("middleSwap finds [A, N, M, c] exactly for perms that swap two blocks before a fixed tail", () => {
    expect(middleSwap([14400, 65, 10], [1, 0, 2])).toEqual([1, 14400, 65, 10]);
    expect(middleSwap([2, 64, 576, 10], [0, 2, 1, 3])).toEqual([2, 64, 576, 10]);
    expect(middleSwap([2, 3, 4, 5, 6], [0, 3, 1, 2, 4])).toEqual([2, 12, 5, 6]);
    expect(middleSwap([2, 3, 4, 5, 6], [2, 3, 0, 1, 4])).toEqual([1, 6, 20, 6]);
    expect(middleSwap([2, 3, 4, 5], [1, 0, 2, 3])).toEqual([1, 2, 3, 20]);
    expect(middleSwap([2, 3, 4], [0, 1, 2])).toBeNull(); // identity
    expect(middleSwap([2, 3, 4], [0, 2, 1])).toBeNull(); // the last axis moves
    expect(middleSwap([2, 3, 4, 5], [2, 0, 1, 3])).toEqual([1, 6, 4, 5]);
    expect(middleSwap([2, 3, 4, 5], [1, 2, 0, 3])).toEqual([1, 2, 12, 5]);
    expect(middleSwap([2, 3, 4, 5, 6], [2, 1, 0, 3, 4])).toBeNull(); // a reversal, not a block swap
  });

  test("the kernel is registered and its bits are cpu's on the engine's shapes (float32 and int32)", async () => {
    expect(tf.getKernel("Transpose", "wasm")?.kernelFunc).toBe(transposeConfig.kernelFunc);
    const rng = rngFor("transpose-engine");
    const before = tf.memory().numTensors;
    for (const [shape, perm] of [
      [
        [1440, 65, 10],
        [1, 0, 2],
      ],
      [
        [2, 64, 144, 10],
        [0, 2, 1, 3],
      ],
      [
        [3, 7, 6],
        [1, 0, 2],
      ],
    ] as [number[], number[]][]) {
      const x = randomTensor(rng, shape);
      const f = (t: Record<string, tf.Tensor>) => tf.transpose(t.x!, perm);
      const [got] = await computeOn("wasm", { x }, f);
      const [want] = await computeOn("cpu", { x }, f);
      expect(got!.shape).toEqual(want!.shape);
      expect(sameBits(got!.data, want!.data)).toBe(true);
      await selectBackend({ backend: "wasm", quiet: true });
      const ints = tf.tensor(
        Int32Array.from(x.data, (v) => Math.round(v * 1e6)),
        shape,
        "int32",
      );
      const t = tf.transpose(ints, perm);
      const ref = tf.tidy(() => tf.transpose(tf.cast(ints, "float32"), perm));
      expect(t.dtype).toBe("int32");
      expect(Array.from(await t.data())).toEqual(Array.from(await ref.data()));
      tf.dispose([ints, t, ref]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  test("matches cpu bit for bit on 80 random shapes and perms (swaps, blocks under 4 values, the rest)", async () => {
    const rng = rngFor("transpose-cases");
    const failures: string[] = [];
    for (let c = 0; c < 80; c++) {
      const rank = 2 + rng.int(4);
      const shape = Array.from({ length: rank }, () => rng.int(7)); // zero-size axes too
      if (c % 2 === 0) shape[rank - 1] = 4 + rng.int(9); // a block of >= 4: the SIMD path
      let perm = Array.from(rng.permutation(rank));
      if (c % 3 === 0 && rank >= 3) {
        // a middle swap before a fixed last axis, the likeliest to take the SIMD path
        const a = rng.int(rank - 2);
        const b = a + 1 + rng.int(rank - 2 - a);
        const head = [...Array(a).keys()];
        const first = Array.from({ length: b - a }, (_, i) => a + i);
        const second = Array.from({ length: rank - 1 - b }, (_, i) => b + i);
        perm = [...head, ...second, ...first, rank - 1];
      }
      const x = randomTensor(rng, shape);
      const f = (t: Record<string, tf.Tensor>) => tf.transpose(t.x!, perm);
      const [got] = await computeOn("wasm", { x }, f);
      const [want] = await computeOn("cpu", { x }, f);
      const ok =
        JSON.stringify(got!.shape) === JSON.stringify(want!.shape) && sameBits(got!.data, want!.data);
      if (!ok) failures.push(`x=[${shape}] perm=[${perm}] seed=${TEST_SEED}`);
    }
    expect(failures).toEqual([]);
    await selectBackend({ backend: "wasm", quiet: true });
  });
});
