import { beforeAll, describe, expect, test } from "bun:test";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { computeOn, sameBits, sameBitsOrNaN } from "../../backend/compare.ts";
import { selectBackend } from "../../backend/select.ts";
import { tf } from "../../tf.ts";
import { sumConfig, sumMiddle } from "./Sum.ts";
import { simdKernels } from "./simd/instance.ts";
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

  test("the SIMD path (4+ inner values) is bit for bit the JavaScript one (any NaN equals any NaN), infinities included", async () => {
    await selectBackend({ backend: "wasm", quiet: true });
    expect(simdKernels(tf.backend() as BackendWasm)).not.toBeNull();
    const rng = rngFor("sum-simd");
    const before = tf.memory().numTensors;
    const failures: string[] = [];
    const specials = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, 1e30, -1e30];
    for (const [outer, mid, inner] of [
      [3, 500, 4],
      [2, 300, 10],
      [2, 37, 16],
      [3, 41, 20],
      [1, 7, 37],
      [4, 0, 6],
      [2, 1000, 5],
    ] as [number, number, number][]) {
      const x = rng
        .normals(outer * mid * inner)
        .map((v, i) => (i % 97 === 3 ? specials[rng.int(specials.length)]! : v));
      const want = new Float32Array(outer * inner);
      sumMiddle(x, outer, mid, inner, want);
      const t = tf.tensor3d(x, [outer, mid, inner]);
      const got = tf.sum(t, 1);
      if (!sameBitsOrNaN((await got.data()) as Float32Array, want))
        failures.push(`[${outer}, ${mid}, ${inner}]`);
      tf.dispose([t, got]);
    }
    expect(failures).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
