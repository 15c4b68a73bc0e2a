import { describe, expect, test } from "bun:test";
import { Rng } from "@updates-leak/core";
import {
  accuracy,
  argmaxRows,
  klPerRow,
  matchedMse,
  meanStd,
  mse,
  msePerRow,
  topLabelAgreement,
} from "./metrics.ts";

function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  const out: number[][] = [];
  for (const p of permutations(n - 1))
    for (let i = 0; i <= p.length; i++) out.push([...p.slice(0, i), n - 1, ...p.slice(i)]);
  return out;
}

describe("metrics", () => {
  test("accuracy, mse, msePerRow on hand values", () => {
    expect(accuracy([1, 2, 3, 4], [1, 0, 3, 0])).toBe(0.5);
    expect(mse([0, 1, 2], [1, 1, 0])).toBeCloseTo(5 / 3, 12);
    expect(Array.from(msePerRow([0, 1, 2, 3], [0, 0, 0, 0], 2, 2))).toEqual([0.5, 6.5]);
    expect(() => accuracy([1], [1, 2])).toThrow("accuracy");
  });

  test("KL per row: hand value, zero for equal rows, p = 0 terms vanish, q = 0 is large but finite", () => {
    const kl = klPerRow([0.5, 0.5, 0, 0.25, 0.25, 0.5], [0.25, 0.25, 0.5, 0.25, 0.25, 0.5], 2, 3);
    expect(kl[0]).toBeCloseTo(Math.log(2), 12);
    expect(kl[1]).toBeCloseTo(0, 12);
    const big = klPerRow([1, 0], [0, 1], 1, 2)[0] as number;
    expect(Number.isFinite(big)).toBe(true);
    expect(big).toBeGreaterThan(20);
  });

  test("argmax and top-label agreement with ties", () => {
    expect(Array.from(argmaxRows([1, 3, 3, 0, 0, 0], 2, 3))).toEqual([1, 0]);
    const p = [0.4, 0.4, 0.2, 0.1, 0.2, 0.7];
    const q = [0.1, 0.8, 0.1, 0.6, 0.2, 0.2];
    // Row 0: q's top (1) ties p's maximum -> counts under "any", not under "first" (p's first max is 0).
    expect(topLabelAgreement(p, q, 2, 3, "any")).toBe(0.5);
    expect(topLabelAgreement(p, q, 2, 3, "first")).toBe(0);
  });

  test("meanStd uses the sample standard deviation", () => {
    const r = meanStd([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(r.mean).toBe(5);
    expect(r.std).toBeCloseTo(Math.sqrt(32 / 7), 12);
    expect(meanStd([3]).std).toBe(0);
  });

  test("matchedMse equals the best one-to-one matching by brute force", () => {
    const rng = new Rng(8);
    for (let trial = 0; trial < 30; trial++) {
      const k = 1 + rng.int(5);
      const w = 3;
      const real = rng.normals(k * w);
      const recon = rng.normals(k * w);
      const got = matchedMse(real, recon, k, w);
      let best = Number.POSITIVE_INFINITY;
      for (const p of permutations(k)) {
        let s = 0;
        for (let i = 0; i < k; i++) {
          s += mse(
            real.subarray(i * w, (i + 1) * w),
            recon.subarray((p[i] as number) * w, ((p[i] as number) + 1) * w),
          );
        }
        best = Math.min(best, s / k);
      }
      expect(got.mse).toBeCloseTo(best, 6);
    }
    // A permuted copy matches perfectly.
    const a = new Float32Array([1, 2, 3, 4, 5, 6]);
    const b = new Float32Array([5, 6, 1, 2, 3, 4]);
    const m = matchedMse(a, b, 3, 2);
    expect(m.mse).toBe(0);
    expect(Array.from(m.realToRecon)).toEqual([1, 2, 0]);
  });
});
