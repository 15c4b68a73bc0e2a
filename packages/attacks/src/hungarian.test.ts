import { describe, expect, test } from "bun:test";
import { Rng } from "@updates-leak/core";
import { hungarian } from "./hungarian.ts";

/** Minimum over all injective maps rows -> cols, by enumeration. */
function bruteForce(cost: Float64Array, rows: number, cols: number): number {
  let best = Number.POSITIVE_INFINITY;
  const used = new Array<boolean>(cols).fill(false);
  const rec = (i: number, acc: number) => {
    if (i === rows) {
      best = Math.min(best, acc);
      return;
    }
    for (let j = 0; j < cols; j++) {
      if (used[j]) continue;
      used[j] = true;
      rec(i + 1, acc + (cost[i * cols + j] as number));
      used[j] = false;
    }
  };
  rec(0, 0);
  return best;
}

describe("hungarian", () => {
  test("matches brute force on random square and rectangular matrices up to 7", () => {
    const rng = new Rng(123);
    for (let trial = 0; trial < 300; trial++) {
      const rows = 1 + rng.int(7);
      const cols = rows + (trial % 3 === 0 ? rng.int(3) : 0);
      const cost = new Float64Array(rows * cols);
      // Mix of continuous costs and small integers (many ties).
      for (let i = 0; i < cost.length; i++) cost[i] = trial % 2 ? rng.int(4) : rng.normal() * 10;
      const a = hungarian(cost, rows, cols);
      expect(a.cost).toBeCloseTo(bruteForce(cost, rows, cols), 9);
      expect(new Set(a.rowToCol).size).toBe(rows);
      let s = 0;
      for (let i = 0; i < rows; i++) {
        const j = a.rowToCol[i] as number;
        expect(j).toBeGreaterThanOrEqual(0);
        expect(j).toBeLessThan(cols);
        s += cost[i * cols + j] as number;
      }
      expect(s).toBeCloseTo(a.cost, 9);
    }
  });

  test("a permuted diagonal is recovered exactly; 100 x 100 is fast", () => {
    const rng = new Rng(7);
    const perm = rng.permutation(100);
    const cost = new Float64Array(100 * 100);
    for (let i = 0; i < 100; i++)
      for (let j = 0; j < 100; j++) cost[i * 100 + j] = j === perm[i] ? 0 : 1 + rng.next();
    const t = performance.now();
    const a = hungarian(cost, 100);
    expect(performance.now() - t).toBeLessThan(200);
    expect(Array.from(a.rowToCol)).toEqual(Array.from(perm));
    expect(a.cost).toBe(0);
  });

  test("rejects bad shapes and non-finite costs", () => {
    expect(() => hungarian([1, 2, 3], 2, 2)).toThrow("rows x cols");
    expect(() => hungarian([1, 2], 2, 1)).toThrow("rows <= cols");
    expect(() => hungarian([1, Number.NaN, 0, 0], 2)).toThrow("cost[1]");
  });
});
