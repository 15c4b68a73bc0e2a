import { describe, expect, test } from "bun:test";
import { Rng } from "./random.ts";

describe("Rng", () => {
  test("known answers: xoshiro128** through splitmix32 gives the same stream in every version", () => {
    const r = new Rng(12345);
    expect(Array.from({ length: 6 }, () => r.nextU32())).toEqual([
      518667457, 440444462, 4232892992, 3757857622, 3939018813, 1334683535,
    ]);
    const s = new Rng("abc").fork("x", 7);
    expect(Array.from({ length: 4 }, () => s.nextU32())).toEqual([
      3987969368, 4009047125, 3964886255, 3721548550,
    ]);
    let h = 0;
    const q = new Rng(9);
    for (let i = 0; i < 1_000_000; i++) h = (h ^ q.nextU32()) >>> 0;
    expect(h).toBe(2866259101);
  });

  test("same seed, same stream; different seed, different stream", () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xa = Array.from({ length: 8 }, () => a.nextU32());
    const xb = Array.from({ length: 8 }, () => b.nextU32());
    const xc = Array.from({ length: 8 }, () => c.nextU32());
    expect(xa).toEqual(xb);
    expect(xa).not.toEqual(xc);
  });

  test("fork is a pure function of seed and keys, independent of draws", () => {
    const a = new Rng(7);
    const f1 = a.fork("shard", 3).nextU32();
    a.nextU32();
    const f2 = a.fork("shard", 3).nextU32();
    expect(f1).toBe(f2);
    expect(a.fork("shard", 4).nextU32()).not.toBe(f1);
  });

  test("uniform moments and integer range", () => {
    const r = new Rng(1);
    const n = 200_000;
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      const x = r.next();
      s += x;
      s2 += x * x;
    }
    expect(Math.abs(s / n - 0.5)).toBeLessThan(0.005);
    expect(Math.abs(s2 / n - (s / n) ** 2 - 1 / 12)).toBeLessThan(0.003);
    const counts = new Array(7).fill(0);
    for (let i = 0; i < 70_000; i++) counts[r.int(7)]++;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
  });

  test("normal has mean 0 and variance 1", () => {
    const r = new Rng(2);
    const x = r.normals(100_000);
    let s = 0;
    let s2 = 0;
    for (const v of x) {
      s += v;
      s2 += v * v;
    }
    expect(Math.abs(s / x.length)).toBeLessThan(0.02);
    expect(Math.abs(s2 / x.length - 1)).toBeLessThan(0.02);
  });

  test("sample draws distinct items within range", () => {
    const r = new Rng(3);
    for (const [n, k] of [
      [10, 10],
      [1000, 100],
      [50, 1],
    ] as const) {
      const s = r.sample(n, k);
      expect(new Set(s).size).toBe(k);
      for (const v of s) expect(v >= 0 && v < n).toBe(true);
    }
    expect(() => r.sample(3, 4)).toThrow(/cannot draw 4/);
  });
});
