import { expect, test } from "bun:test";
import { median, quantile, round4, spreadOf } from "./stats.ts";

test("quantiles interpolate between order statistics (numpy's default)", () => {
  const v = [7, 1, 3, 5];
  expect(median(v)).toBe(4);
  expect(quantile(v, 0.25)).toBe(2.5);
  expect(quantile(v, 0.75)).toBe(5.5);
  expect(quantile([2], 0.9)).toBe(2);
  expect(Number.isNaN(quantile([], 0.5))).toBe(true);
});

test("spread keeps the first run apart and rounds to 4 significant digits", () => {
  const s = spreadOf(100, [3, 1, 2], [6, 2, 4]);
  expect(s).toEqual({
    runs: 3,
    firstMs: 100,
    medianMs: 2,
    minMs: 1,
    maxMs: 3,
    q1Ms: 1.5,
    q3Ms: 2.5,
    cpuMs: 4,
  });
  expect(round4(123.456)).toBe(123.5);
  expect(round4(0.00123456)).toBe(0.001235);
  expect(() => spreadOf(1, [], [])).toThrow("no timed runs");
});
