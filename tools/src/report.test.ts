import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { formatMeanSd, meanSd, type RunSample, readSample, reportMarkdown, reportRows } from "./report.ts";
import { writeRunFolder } from "./test-runs.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ul-report-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A finished run folder: config.json's config and result.json's value (and extra). */
function runFolder(name: string, config: Record<string, unknown>, value: number, extra = {}): string {
  return writeRunFolder(path.join(tmp, name), config, { value, extra });
}

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

describe("report over defended runs", () => {
  const base = { attack: "label", dataset: "mnist", attackEpochs: 20 };
  const cost = (accuracy: number, distortionL1: number) => ({
    defence: { ownerCost: { accuracy, accuracyUndefended: 0.96, distortionL1 } },
  });

  test("a run from before the defences and an undefended one are one setting", () => {
    const old = readSample(runFolder("old", { ...base, seed: 0 }, 0.87));
    const now = readSample(runFolder("now", { ...base, seed: 1, defence: "none", threat: "adaptive" }, 0.88));
    const rows = reportRows([old, now]);
    expect(rows.map((r) => [r.n, r.seeds])).toEqual([[2, [0, 1]]]);
    expect(rows[0]!.setting.threat).toBeUndefined();
  });

  test("defended rows carry the owner's cost, each number's mean over the seeds", () => {
    const top1 = { ...base, defence: "topk:1", threat: "adaptive" };
    const rows = reportRows([
      readSample(runFolder("u", { ...base, seed: 0, defence: "none", threat: "adaptive" }, 0.9)),
      readSample(runFolder("t0", { ...top1, seed: 0 }, 0.6, cost(0.95, 0.02))),
      readSample(runFolder("t1", { ...top1, seed: 1 }, 0.7, cost(0.93, 0.04))),
    ]);
    expect(rows[0]!.ownerCost).toBeUndefined();
    expect(rows[1]!.ownerCost!.accuracy).toBeCloseTo((0.95 + 0.93) / 2, 12);
    expect(rows[1]!.ownerCost!.distortionL1).toBeCloseTo(0.03, 12);
    const md = reportMarkdown(rows).split("\n");
    expect(md[0]).toEndWith("| owner's accuracy (undefended), L1 distortion |");
    expect(md[2]).toBe('| label | mnist | defence="none" | accuracy | 0.9 | 1 | 0 | random 0.1 | - |');
    expect(md[3]).toBe(
      '| label | mnist | defence="topk:1", threat="adaptive" | accuracy | 0.65 ± 0.07 | 2 | 0, 1 | random 0.1 | 0.940 (0.960), 0.030 |',
    );
  });
});
