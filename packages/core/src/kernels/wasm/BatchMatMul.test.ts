import { beforeAll, describe, expect, test } from "bun:test";
import { runKernelOn } from "../../backend/compare.ts";
import { selectBackend } from "../../backend/select.ts";
import { tf } from "../../tf.ts";
import { MIN_LOOP_FLOPS } from "./BatchMatMul.ts";
import { expectClose, randomTensor, rngFor, TEST_SEED } from "./test-cases.ts";

interface MatCase {
  outerA: number[];
  outerB: number[];
  m: number;
  k: number;
  n: number;
}

async function check(c: MatCase, tA: boolean, tB: boolean, seedName: string): Promise<string | null> {
  const rng = rngFor(seedName);
  const a = randomTensor(rng, [...c.outerA, ...(tA ? [c.k, c.m] : [c.m, c.k])]);
  const b = randomTensor(rng, [...c.outerB, ...(tB ? [c.n, c.k] : [c.k, c.n])]);
  const attrs = { transposeA: tA, transposeB: tB };
  const [got] = await runKernelOn("wasm", "BatchMatMul", { a, b }, attrs);
  const [want] = await runKernelOn("cpu", "BatchMatMul", { a, b }, attrs);
  return expectClose(got!, want!, `${JSON.stringify(c)} tA=${tA} tB=${tB} seed=${TEST_SEED}`);
}

describe("wasm BatchMatMul (explicit transposes, batch loop, shared-operand fold)", () => {
  beforeAll(async () => {
    await selectBackend({ backend: "wasm", quiet: true });
  });

  test("the batch loop threshold is what the cases below straddle", () => {
    expect(MIN_LOOP_FLOPS).toBeGreaterThan(5 * 6 * 7);
    expect(MIN_LOOP_FLOPS).toBeLessThanOrEqual(40 * 33 * 31);
  });

  test("matches cpu for every transpose combination and batch layout", async () => {
    const before = tf.memory().numTensors;
    const cases: MatCase[] = [
      { outerA: [], outerB: [], m: 40, k: 33, n: 31 }, // single product
      { outerA: [3], outerB: [3], m: 40, k: 33, n: 31 }, // batch loop
      { outerA: [2, 3], outerB: [2, 3], m: 40, k: 33, n: 31 }, // rank 4, batch loop
      { outerA: [4], outerB: [], m: 40, k: 33, n: 31 }, // shared right operand: one product
      { outerA: [4], outerB: [1], m: 7, k: 5, n: 6 }, // shared right operand, small
      { outerA: [], outerB: [4], m: 40, k: 33, n: 31 }, // shared left operand: loop
      { outerA: [3], outerB: [3], m: 5, k: 6, n: 7 }, // small: package kernel
      { outerA: [2, 1], outerB: [1, 3], m: 40, k: 33, n: 31 }, // cross broadcast: package kernel
      { outerA: [2], outerB: [2], m: 1, k: 300, n: 1 }, // vectors
    ];
    const failures: string[] = [];
    for (const [i, c] of cases.entries()) {
      for (const tA of [false, true]) {
        for (const tB of [false, true]) {
          const f = await check(c, tA, tB, `mm${i}${tA}${tB}`);
          if (f) failures.push(f);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
  });

  test("tf.matMul and its gradients agree with cpu (the product a dense layer trains with)", async () => {
    const rng = rngFor("dense");
    const x = randomTensor(rng, [64, 200]);
    const w = randomTensor(rng, [200, 50]);
    const f = (t: Record<string, tf.Tensor>) => {
      const g = tf.grads((xx: tf.Tensor, ww: tf.Tensor) => tf.sum(tf.square(tf.matMul(xx, ww))));
      return g([t.x!, t.w!]);
    };
    const { computeOn } = await import("../../backend/compare.ts");
    const got = await computeOn("wasm", { x, w }, f);
    const want = await computeOn("cpu", { x, w }, f);
    expect(expectClose(got[0]!, want[0]!, "dx")).toBeNull();
    expect(expectClose(got[1]!, want[1]!, "dw")).toBeNull();
  });
});
