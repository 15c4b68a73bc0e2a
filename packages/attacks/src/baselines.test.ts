import { describe, expect, test } from "bun:test";
import { Rng } from "@updates-leak/core";
import {
  classFrequencies,
  drawCategorical,
  meanSamples,
  randomHistograms,
  randomLabels,
  randomSamples,
  randomSet,
  repeatHistogram,
} from "./baselines.ts";

describe("baselines", () => {
  test("uniform random labels are close to uniform; class frequencies are exact", () => {
    const l = randomLabels(new Rng(1), 10000, 4);
    const f = classFrequencies(l, 4);
    for (const v of f) expect(Math.abs(v - 0.25)).toBeLessThan(0.02);
    expect(Array.from(classFrequencies([0, 0, 2, 1], 3))).toEqual([0.5, 0.25, 0.25]);
    expect(() => classFrequencies([3], 3)).toThrow("labels[0] = 3");
  });

  test("drawCategorical follows the weights and never picks zero weight", () => {
    const rng = new Rng(2);
    const counts = new Int32Array(3);
    for (let i = 0; i < 6000; i++) {
      const c = drawCategorical(rng, [1, 0, 2]);
      counts[c] = (counts[c] as number) + 1;
    }
    expect(counts[1]).toBe(0);
    expect(Math.abs((counts[2] as number) / 6000 - 2 / 3)).toBeLessThan(0.03);
  });

  test("random samples and random sets are pool rows; sets are distinct rows", () => {
    const pool = new Float32Array(20 * 2);
    for (let i = 0; i < 20; i++) pool.set([i, -i], i * 2);
    const s = randomSamples(new Rng(3), pool, 20, 2, 50);
    for (let i = 0; i < 50; i++) expect(s[i * 2 + 1]).toBe(-(s[i * 2] as number));
    const set = randomSet(new Rng(4), pool, 20, 2, 20);
    const firsts = new Set<number>();
    for (let i = 0; i < 20; i++) firsts.add(set[i * 2] as number);
    expect(firsts.size).toBe(20);
  });

  test("the mean sample is the pool's column means; its MSE is about half Random's", () => {
    const rng = new Rng(8);
    const pool = Float32Array.from({ length: 4000 * 3 }, () => rng.next());
    const m = meanSamples(pool, 4000, 3, 2);
    // Column means of U(0,1) values, by a plain loop here: about 0.5 each.
    for (let j = 0; j < 3; j++) {
      let sum = 0;
      for (let i = 0; i < 4000; i++) sum += pool[i * 3 + j]!;
      expect(m[j]).toBeCloseTo(sum / 4000, 6);
      expect(m[3 + j]).toBe(m[j]!);
    }
    // E|x - x'|^2 = 2 Var(x) for independent x, x': Random's MSE is twice the mean sample's (1/12).
    const truth = Float32Array.from({ length: 1000 * 3 }, () => rng.next());
    const mse = (a: Float32Array) => a.reduce((s, v, i) => s + (v - truth[i]!) ** 2, 0) / a.length;
    const meanMse = mse(meanSamples(pool, 4000, 3, 1000));
    expect(meanMse).toBeCloseTo(1 / 12, 2);
    expect(mse(randomSamples(new Rng(9), pool, 4000, 3, 1000)) / meanMse).toBeCloseTo(2, 0);
  });

  test("histogram baselines: Dirichlet(1) has mean 1/classes per entry; uniformSet rows are multiples of 1/setSize", () => {
    const r = randomHistograms(new Rng(5), 4000, 5, "dirichlet");
    let m = 0;
    for (let i = 0; i < 4000; i++) m += r[i * 5] as number;
    expect(Math.abs(m / 4000 - 0.2)).toBeLessThan(0.01);
    const u = randomHistograms(new Rng(6), 10, 5, "uniformSet", 100);
    for (const v of u) expect(Math.abs(v * 100 - Math.round(v * 100))).toBeLessThan(1e-4);
    expect(Array.from(repeatHistogram([0.5, 0.5], 2))).toEqual([0.5, 0.5, 0.5, 0.5]);
  });
});
