import { beforeAll, describe, expect, test } from "bun:test";
import { Rng, selectBackend, tf } from "@updates-leak/core";
import { batchNorm, createBatchNorm, dropout, initWeights, matMulT } from "./layers.ts";

beforeAll(async () => {
  await selectBackend({ backend: "wasm", quiet: true });
});

function stats(a: Float32Array): { mean: number; std: number; min: number; max: number } {
  let s = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of a) {
    s += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = s / a.length;
  let q = 0;
  for (const v of a) q += (v - mean) ** 2;
  return { mean, std: Math.sqrt(q / a.length), min, max };
}

describe("init", () => {
  test("he is normal with std sqrt(2/fanIn); glorot and torch are bounded uniforms", () => {
    const he = stats(initWeights(new Rng(1), 200, 300, "he"));
    expect(Math.abs(he.mean)).toBeLessThan(0.002);
    expect(he.std).toBeCloseTo(Math.sqrt(2 / 200), 3);
    const lim = Math.sqrt(6 / 500);
    const gl = stats(initWeights(new Rng(2), 200, 300, "glorot"));
    expect(gl.max).toBeLessThanOrEqual(lim);
    expect(gl.min).toBeGreaterThanOrEqual(-lim);
    expect(gl.std).toBeCloseTo(lim / Math.sqrt(3), 3);
    const to = stats(initWeights(new Rng(3), 200, 300, "torch"));
    expect(to.max).toBeLessThanOrEqual(1 / Math.sqrt(200));
    expect(initWeights(new Rng(4), 5, 5, "he")).toEqual(initWeights(new Rng(4), 5, 5, "he"));
  });
});

describe("layers", () => {
  test("matMulT value and gradients equal tf.matMul's", () => {
    const before = tf.memory().numTensors;
    const rng = new Rng(5);
    const x = tf.tensor2d(rng.normals(7 * 5), [7, 5]);
    const w = tf.tensor2d(rng.normals(5 * 3), [5, 3]);
    const dy = tf.tensor2d(rng.normals(7 * 3), [7, 3]);
    const f1 = (a: tf.Tensor, b: tf.Tensor) => matMulT(a as tf.Tensor2D, b as tf.Tensor2D);
    const f2 = (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D);
    const g1 = tf.grads(f1)([x, w], dy);
    const g2 = tf.grads(f2)([x, w], dy);
    const v1 = f1(x, w);
    const v2 = f2(x, w);
    for (const [a, b] of [
      [v1, v2],
      [g1[0], g2[0]],
      [g1[1], g2[1]],
    ] as [tf.Tensor, tf.Tensor][]) {
      const da = a.dataSync();
      const db = b.dataSync();
      for (let i = 0; i < da.length; i++) expect(da[i]).toBeCloseTo(db[i] as number, 4);
    }
    tf.dispose([x, w, dy, v1, v2, ...g1, ...g2]);
    expect(tf.memory().numTensors).toBe(before);
  });

  test("batch norm: batch statistics, PyTorch running-stat update, running stats in eval", () => {
    const before = tf.memory().numTensors;
    const bn = createBatchNorm(3, 0.1, 1e-5);
    const data = [1, 2, 3, 3, 6, 9, 5, 10, 21, 7, 2, -3];
    const x = tf.tensor2d(data, [4, 3]);
    const y = tf.tidy(() => batchNorm(bn, x, true, true));
    const yv = y.dataSync();
    for (let c = 0; c < 3; c++) {
      const col = [0, 1, 2, 3].map((r) => data[r * 3 + c] as number);
      const m = col.reduce((a, b) => a + b) / 4;
      const v = col.reduce((a, b) => a + (b - m) ** 2, 0) / 4;
      for (let r = 0; r < 4; r++)
        expect(yv[r * 3 + c]).toBeCloseTo(((col[r] as number) - m) / Math.sqrt(v + 1e-5), 4);
      expect(bn.runningMean.dataSync()[c]).toBeCloseTo(0.1 * m, 5);
      expect(bn.runningVar.dataSync()[c]).toBeCloseTo(0.9 + 0.1 * ((v * 4) / 3), 4);
    }
    const e = tf.tidy(() => batchNorm(bn, x, false, false));
    const rm = bn.runningMean.dataSync();
    const rv = bn.runningVar.dataSync();
    expect(e.dataSync()[4]).toBeCloseTo(
      ((data[4] as number) - (rm[1] as number)) / Math.sqrt((rv[1] as number) + 1e-5),
      4,
    );
    tf.dispose([x, y, e, bn.gamma, bn.beta, bn.runningMean, bn.runningVar]);
    expect(tf.memory().numTensors).toBe(before);
  });

  test("dropout keeps about 1-rate of units scaled by 1/(1-rate), is seeded, and is identity without rng", () => {
    const before = tf.memory().numTensors;
    const x = tf.ones([100, 100]) as tf.Tensor2D;
    const y = tf.tidy(() => dropout(x, 0.4, new Rng(9)));
    const v = y.dataSync();
    let kept = 0;
    for (const a of v) {
      if (a !== 0) {
        kept++;
        expect(a).toBeCloseTo(1 / 0.6, 5);
      }
    }
    expect(kept / v.length).toBeGreaterThan(0.57);
    expect(kept / v.length).toBeLessThan(0.63);
    const y2 = tf.tidy(() => dropout(x, 0.4, new Rng(9)));
    expect(Array.from(y2.dataSync())).toEqual(Array.from(v));
    expect(dropout(x, 0.4, null)).toBe(x);
    tf.dispose([x, y, y2]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
