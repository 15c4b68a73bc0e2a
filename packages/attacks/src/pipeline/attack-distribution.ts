/**
 * A_LDE on the generated deltas (sets of `setSize` samples): fit on the shadow side, scored on the
 * target side by mean per-set KL divergence KL(true || predicted) and by how often the most
 * frequent label is recovered. Baselines: a random label histogram (Dirichlet(1), uniform on the
 * simplex) and the shadow pool's overall label frequencies (the prior).
 *
 * Update-set-size relaxation (`targetSetSizes`): the same trained attack is also scored, with the
 * same metrics and baselines, on the extra target sides whose sets have other sizes; the table
 * (train size -> each test size, the main row included) is `extra.relaxation`.
 */
import type { Rng } from "@updates-leak/core";
import { classFrequencies, randomHistograms, repeatHistogram } from "../baselines.ts";
import { type DistributionAttack, trainDistributionAttack } from "../distribution.ts";
import { klPerRow, meanStd, topLabelAgreement } from "../metrics.ts";
import type { ExperimentConfig } from "./config.ts";
import type { BarChart, ExperimentResult, RunContext } from "./context.ts";
import type { ExperimentData } from "./data.ts";
import { readSide } from "./generate.ts";
import { epochReporter, secondsSince, shadowPoolLabels, stageInputs, stageResult } from "./stage.ts";

/** Normalised label histograms [n, classes] of n sets of `setSize` labels. */
export function setHistograms(labels: Int32Array, n: number, setSize: number, classes: number): Float32Array {
  const out = new Float32Array(n * classes);
  for (let i = 0; i < n; i++) {
    for (let s = 0; s < setSize; s++) out[i * classes + labels[i * setSize + s]!]! += 1 / setSize;
  }
  return out;
}

/** One row of the update-set-size relaxation table (`extra.relaxation`). */
export interface RelaxationRow {
  trainSetSize: number;
  testSetSize: number;
  kl: number;
  klStd: number;
  klRandom: number;
  klPrior: number;
  topLabel: number;
  topLabelPrior: number;
}

/** KL divergences and top-label agreement of `pred` against true histograms, with the baselines'. */
function scoreHistograms(
  truth: Float32Array,
  pred: Float32Array,
  random: Float32Array,
  prior: Float32Array,
  n: number,
  C: number,
) {
  return {
    kl: meanStd(klPerRow(truth, pred, n, C)),
    klRandom: meanStd(klPerRow(truth, random, n, C)),
    klPrior: meanStd(klPerRow(truth, prior, n, C)),
    top: topLabelAgreement(truth, pred, n, C),
    topRandom: topLabelAgreement(truth, random, n, C),
    topPrior: topLabelAgreement(truth, prior, n, C),
  };
}

type Scores = ReturnType<typeof scoreHistograms>;

function relaxationRow(trainSetSize: number, testSetSize: number, s: Scores): RelaxationRow {
  return {
    trainSetSize,
    testSetSize,
    kl: s.kl.mean,
    klStd: s.kl.std,
    klRandom: s.klRandom.mean,
    klPrior: s.klPrior.mean,
    topLabel: s.top,
    topLabelPrior: s.topPrior,
  };
}

function klChart(title: string, s: Scores): BarChart {
  return {
    title,
    metric: "KL divergence",
    better: "lower",
    bars: [
      { label: "A_LDE", value: s.kl.mean },
      { label: "Random histogram", value: s.klRandom.mean },
      { label: "Prior", value: s.klPrior.mean },
    ],
  };
}

/** The update-set-size relaxation: the trained attack scored on each extra target side. */
async function scoreOtherSetSizes(
  cfg: ExperimentConfig,
  ctx: RunContext,
  attack: DistributionAttack,
  prior: Float32Array,
  rng: Rng,
  C: number,
  dsName: string,
): Promise<{ rows: RelaxationRow[]; charts: BarChart[] }> {
  const n = cfg.targetModels;
  const rows: RelaxationRow[] = [];
  const charts: BarChart[] = [];
  for (const m of cfg.targetSetSizes) {
    if (!ctx.extraTargetStore) {
      throw new Error(
        `targetSetSizes [${cfg.targetSetSizes.join(", ")}] needs a run context with extraTargetStore(setSize)`,
      );
    }
    const side = await readSide(ctx.extraTargetStore(m), n, cfg.shardSize, m);
    const hist = setHistograms(side.labels, n, m, C);
    const random = randomHistograms(rng.fork("random", "set-size", m), n, C);
    const s = scoreHistograms(hist, attack.predict(side.deltas, n), random, prior, n, C);
    rows.push(relaxationRow(cfg.setSize, m, s));
    charts.push(klChart(`A_LDE on ${dsName}, trained on |D_update| = ${cfg.setSize}, tested on ${m}`, s));
  }
  return { rows, charts };
}

export async function runDistributionAttack(
  cfg: ExperimentConfig,
  ctx: RunContext,
  data: ExperimentData,
): Promise<ExperimentResult> {
  const S = cfg.setSize;
  const { ds, splits, shadow, target, rng } = await stageInputs(cfg, ctx, data, "distribution", S);
  const C = ds.numClasses;
  const n = cfg.targetModels;
  const shadowHist = setHistograms(shadow.labels, cfg.shadowModels, S, C);
  const targetHist = setHistograms(target.labels, n, S, C);
  const t0 = performance.now();
  const attack = trainDistributionAttack(
    shadow.deltas,
    shadowHist,
    cfg.shadowModels,
    shadow.deltaSize,
    C,
    rng.fork("train"),
    {
      epochs: cfg.attackEpochs,
      onEpoch: epochReporter(ctx, "train A_LDE", "attack-distribution", cfg.attackEpochs),
    },
  );
  const trainSeconds = secondsSince(t0);
  const pred = attack.predict(target.deltas, n);
  const prior = repeatHistogram(classFrequencies(shadowPoolLabels(ds, splits), C), n);
  const random = randomHistograms(rng.fork("random"), n, C);
  const s = scoreHistograms(targetHist, pred, random, prior, n, C);
  ctx.log(
    `A_LDE KL ${s.kl.mean.toFixed(4)} (random ${s.klRandom.mean.toFixed(4)}, prior ${s.klPrior.mean.toFixed(4)}); top label ${s.top.toFixed(3)}`,
  );
  let other: Awaited<ReturnType<typeof scoreOtherSetSizes>>;
  try {
    other = await scoreOtherSetSizes(cfg, ctx, attack, prior, rng, C, ds.name);
  } finally {
    attack.dispose();
  }
  const relaxation = [relaxationRow(S, S, s), ...other.rows];
  relaxation.sort((a, b) => a.testSetSize - b.testSetSize);
  if (cfg.targetSetSizes.length > 0) {
    for (const r of relaxation) {
      ctx.log(
        `A_LDE relaxation: train ${r.trainSetSize} -> test ${r.testSetSize}: KL ${r.kl.toFixed(4)} (random ${r.klRandom.toFixed(4)}, prior ${r.klPrior.toFixed(4)}); top label ${r.topLabel.toFixed(3)} (prior ${r.topLabelPrior.toFixed(3)})`,
      );
    }
  }
  return stageResult(cfg, {
    attack: "distribution",
    dataset: ds.name,
    metric: "kl",
    value: s.kl.mean,
    baselines: { random_histogram: s.klRandom.mean, prior: s.klPrior.mean },
    extra: {
      klStd: s.kl.std,
      topLabel: s.top,
      topLabelRandom: s.topRandom,
      topLabelPrior: s.topPrior,
      setSize: S,
      ...(cfg.targetSetSizes.length > 0 ? { relaxation } : {}),
    },
    tested: n,
    timings: { attack_train: trainSeconds },
    predictions: [
      {
        name: "predicted_distribution",
        doc: "A_LDE's label distribution of target i's update set",
        shape: [n, C],
        data: pred,
      },
      {
        name: "true_distribution",
        doc: "the label histogram of target i's update set, normalised",
        shape: [n, C],
        data: targetHist,
      },
    ],
    chart: klChart(`A_LDE on ${ds.name} (|D_update| = ${S})`, s),
    moreCharts: other.charts,
  });
}
