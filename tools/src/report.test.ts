import { describe, expect, test } from "bun:test";
import { formatMeanSd, meanSd, type RunSample, reportMarkdown, reportRows } from "./report.ts";

/** The sample sd the long way: sum of squares minus n times the squared mean, over n - 1. */
function sdByMoments(v: number[]): number {
  const n = v.length;
  const mean = v.reduce((a, x) => a + x, 0) / n;
  return Math.sqrt((v.reduce((a, x) => a + x * x, 0) - n * mean * mean) / (n - 1));
}

function sample(seed: number, value: number, setting: Record<string, unknown> = {}): RunSample {
  return {
    dir: `/runs/s${seed}-${JSON.stringify(setting)}`,
    attack: "label",
    dataset: "mnist",
    metric: "accuracy",
    value,
    seed,
    baselines: { random: 0.1 + seed / 100 },
    setting: { attack: "label", dataset: "mnist", attackEpochs: 20, ...setting },
  };
}

describe("report statistics", () => {
  test("the README's rows: A_LI 0.877 ± 0.005 on MNIST and 0.984 ± 0.014 on CIFAR-10 from their seeds", () => {
    const mnist = meanSd([0.871, 0.881, 0.879]);
    expect(formatMeanSd(mnist.mean, mnist.sd)).toBe("0.877 ± 0.005");
    const cifar = meanSd([0.993, 0.968, 0.992]);
    expect(formatMeanSd(cifar.mean, cifar.sd)).toBe("0.984 ± 0.014");
  });

  test("mean and sample sd agree with the moments formula on random values; one value has no sd", () => {
    for (let trial = 0; trial < 20; trial++) {
      const v = Array.from({ length: 2 + trial }, () => Math.random() * 10 - 5);
      const { mean, sd } = meanSd(v);
      expect(mean).toBeCloseTo(v.reduce((a, x) => a + x, 0) / v.length, 12);
      expect(sd).toBeCloseTo(sdByMoments(v), 9);
    }
    expect(meanSd([0.5]).sd).toBeNaN();
    expect(formatMeanSd(0.51234, Number.NaN)).toBe("0.512");
    expect(() => meanSd([])).toThrow("no values");
  });
});

describe("report rows", () => {
  test("runs group by setting, not by seed; the row names what differs from its neighbours", () => {
    const rows = reportRows([
      sample(0, 0.8),
      sample(1, 0.9),
      sample(0, 0.5, { attackEpochs: 50 }),
      sample(2, 0.7),
    ]);
    expect(rows.map((r) => [r.n, r.seeds, r.differs])).toEqual([
      [3, [0, 1, 2], ["attackEpochs=20"]],
      [1, [0], ["attackEpochs=50"]],
    ]);
    expect(rows[0]!.mean).toBeCloseTo(0.8, 12);
    expect(rows[0]!.baselines.random).toBeCloseTo(0.11, 12);
    const md = reportMarkdown(rows).split("\n");
    expect(md[2]).toBe(
      "| label | mnist | attackEpochs=20 | accuracy | 0.80 ± 0.10 | 3 | 0, 1, 2 | random 0.11 |",
    );
  });

  test("two runs of one setting and seed are refused, naming both folders", () => {
    expect(() => reportRows([sample(1, 0.8), sample(1, 0.9)])).toThrow(/same setting and seed 1/);
  });
});
