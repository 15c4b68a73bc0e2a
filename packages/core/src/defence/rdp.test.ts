/**
 * The RDP accountant against the epsilons TensorFlow Privacy publishes for its MNIST DP-SGD
 * tutorial (tutorials/README.md: 60,000 examples, batches of 256, delta 1e-5), and against the
 * Gaussian mechanism's closed form when nothing is sampled (q = 1).
 */
import { describe, expect, test } from "bun:test";
import { computeRdp, DEFAULT_ORDERS, dpSgdEpsilon, epsilonFromRdp } from "./rdp.ts";

describe("RDP accountant", () => {
  test("TF Privacy's published epsilons: noise 1.12 / 0.6 / 1.2 over 60 / 30 / 10 epochs, and 1 and 2 epochs", () => {
    const q = 256 / 60_000;
    const perEpoch = Math.floor(60_000 / 256);
    const published: [number, number, number][] = [
      [1.12, 60, 2.92],
      [0.6, 30, 9.74],
      [1.2, 10, 1.2],
      [1.12, 1, 1.0],
      [1.12, 2, 1.04],
    ];
    for (const [sigma, epochs, eps] of published) {
      expect(Math.abs(dpSgdEpsilon(q, sigma, epochs * perEpoch, 1e-5) - eps)).toBeLessThan(0.01);
    }
  });

  test("q = 1 is the Gaussian mechanism: rdp = steps * alpha / (2 sigma^2), epsilon minimised over the orders", () => {
    for (const sigma of [0.5, 1, 2, 4]) {
      const rdp = computeRdp(1, sigma, 3);
      DEFAULT_ORDERS.forEach((a, i) => {
        expect(rdp[i]!).toBeCloseTo((3 * a) / (2 * sigma * sigma), 12);
      });
      const byHand = Math.min(
        ...DEFAULT_ORDERS.map((a) => (3 * a) / (2 * sigma * sigma) + Math.log(1e5) / (a - 1)),
      );
      expect(epsilonFromRdp(rdp, 1e-5).epsilon).toBeCloseTo(byHand, 12);
    }
  });

  test("integer and fractional orders agree where they meet, and sampling less costs less", () => {
    const [a, b, c] = computeRdp(0.01, 1, 1, [2, 2.0000001, 3]);
    expect(Math.abs(a! - b!) / a!).toBeLessThan(1e-4);
    expect(c!).toBeGreaterThan(a!);
    expect(dpSgdEpsilon(0.001, 1, 1000, 1e-5)).toBeLessThan(dpSgdEpsilon(0.01, 1, 1000, 1e-5));
    expect(computeRdp(0, 1, 10)[0]).toBe(0);
    expect(() => computeRdp(1.5, 1, 1)).toThrow(/sampling rate 1.5 is not in \[0, 1\]/);
  });
});
