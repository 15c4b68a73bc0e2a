/**
 * Splits: sizes per data set, disjointness and coverage (checked with a brute-force marker array),
 * determinism (same seed, same split; golden values so another machine must agree), seed sensitivity.
 */

import { describe, expect, test } from "bun:test";
import { makeSplits } from "./splits.ts";

const all = (s: ReturnType<typeof makeSplits>) => [
  s.probe,
  s.target.train,
  s.target.pool,
  s.shadow.train,
  s.shadow.pool,
];

describe("makeSplits", () => {
  test("sizes follow the paper for each data set", () => {
    const m = makeSplits({ name: "mnist", count: 70_000 }, { seed: 1 });
    expect(all(m).map((a) => a.length)).toEqual([100, 10_000, 24_950, 10_000, 24_950]);
    const c = makeSplits({ name: "cifar10", count: 51_000 }, { seed: 1 });
    expect(all(c).map((a) => a.length)).toEqual([100, 10_000, 15_450, 10_000, 15_450]);
    const i = makeSplits({ name: "insta-ny-synthetic", count: 20_000 }, { seed: 1 });
    expect(all(i).map((a) => a.length)).toEqual([100, 5_000, 4_950, 5_000, 4_950]);
  });

  test("parts are disjoint and cover every sample once (odd leftover unused)", () => {
    for (const count of [70_000, 51_001]) {
      const s = makeSplits({ name: "cifar10", count }, { seed: "x" });
      const seen = new Uint8Array(count);
      let dup = 0;
      let outside = 0;
      for (const part of all(s)) {
        for (const v of part) {
          if (v < 0 || v >= count) outside++;
          else if (seen[v]!++ > 0) dup++;
        }
      }
      expect([dup, outside]).toEqual([0, 0]);
      expect(seen.reduce((a, b) => a + b, 0)).toBe(count - ((count - 100) % 2));
    }
  });

  test("deterministic per seed, different across seeds and data sets; golden values", () => {
    const a = makeSplits({ name: "mnist", count: 70_000 }, { seed: 42 });
    const b = makeSplits({ name: "mnist", count: 70_000 }, { seed: 42 });
    for (let k = 0; k < 5; k++) expect([...all(a)[k]!]).toEqual([...all(b)[k]!]);
    const c = makeSplits({ name: "mnist", count: 70_000 }, { seed: 43 });
    expect([...c.probe]).not.toEqual([...a.probe]);
    const d = makeSplits({ name: "cifar10", count: 70_000 }, { seed: 42 });
    expect([...d.probe]).not.toEqual([...a.probe]);
    // Recorded once; the split must be the same on every machine.
    expect([...a.probe.subarray(0, 5)]).toEqual(GOLDEN_PROBE);
    expect(a.target.train[0]).toBe(GOLDEN_TARGET0);
    expect(a.shadow.pool[a.shadow.pool.length - 1]).toBe(GOLDEN_SHADOW_LAST);
  });

  test("options and errors", () => {
    const s = makeSplits({ name: "mnist", count: 1000 }, { seed: 1, probeSize: 10, trainSize: 300 });
    expect(all(s).map((a) => a.length)).toEqual([10, 300, 195, 300, 195]);
    expect(() => makeSplits({ name: "mnist", count: 20_000 }, { seed: 1 })).toThrow(
      "mnist: 20000 samples are too few for a probe set of 100 and two sides of 10000 training samples plus a non-empty update pool (each side gets 9950)",
    );
    expect(() => makeSplits({ name: "mnist", count: 1000 }, { seed: 1, trainSize: 0 })).toThrow(
      "split option trainSize: expected a positive integer, got 0",
    );
  });
});

const GOLDEN_PROBE = [31719, 15923, 59004, 59534, 18305];
const GOLDEN_TARGET0 = 46378;
const GOLDEN_SHADOW_LAST = 39007;
