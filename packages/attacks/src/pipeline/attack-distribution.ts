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
import { Rng } from "@updates-leak/core";
import { classFrequencies, randomHistograms, repeatHistogram } from "../baselines.ts";
import { trainLabelDistributionAttack } from "../labelDistribution.ts";
import { klPerRow, meanStd, topLabelAgreement } from "../metrics.ts";
import type { ExperimentConfig } from "./config.ts";
import type { BarChart, ExperimentResult, RunContext } from "./context.ts";
import type { ExperimentData } from "./data.ts";
import { readSide } from "./generate.ts";

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

export async function runDistributionAttack(
  cfg: ExperimentConfig,
  ctx: RunContext,
  data: ExperimentData,
): Promise<ExperimentResult> {
  const { dataset: ds, splits } = data;
  const C = ds.numClasses;
  const S = cfg.setSize;
  const shadow = await readSide(ctx.shadowStore, cfg.shadowModels, cfg.shardSize, S);
  const target = await readSide(ctx.targetStore, cfg.targetModels, cfg.shardSize, S);
  const rng = new Rng(cfg.seed).fork("attack", "distribution");
  const n = cfg.targetModels;
  const shadowHist = setHistograms(shadow.labels, cfg.shadowModels, S, C);
  const targetHist = setHistograms(target.labels, n, S, C);
  const t0 = performance.now();
  const attack = trainLabelDistributionAttack(
    shadow.deltas,
    shadowHist,
    cfg.shadowModels,
    shadow.deltaSize,
    C,
    rng.fork("train"),
    {
      epochs: cfg.attackEpochs,
      onEpoch: (r) => {
        ctx.progress("train A_LDE", r.epoch, cfg.attackEpochs);
        ctx.metric({ stage: "attack-distribution", epoch: r.epoch, loss: r.loss });
      },
    },
  );
  const trainSeconds = (performance.now() - t0) / 1000;
  const pred = attack.predict(target.deltas, n);
  const poolLabels = Array.from(splits.shadow.pool, (i) => ds.labels[i] as number);
  const prior = repeatHistogram(classFrequencies(poolLabels, C), n);
  const random = randomHistograms(rng.fork("random"), n, C);
  const kl = meanStd(klPerRow(targetHist, pred, n, C));
  const klRandom = meanStd(klPerRow(targetHist, random, n, C));
  const klPrior = meanStd(klPerRow(targetHist, prior, n, C));
  const top = topLabelAgreement(targetHist, pred, n, C);
  const topRandom = topLabelAgreement(targetHist, random, n, C);
  const topPrior = topLabelAgreement(targetHist, prior, n, C);
  ctx.log(
    `A_LDE KL ${kl.mean.toFixed(4)} (random ${klRandom.mean.toFixed(4)}, prior ${klPrior.mean.toFixed(4)}); top label ${top.toFixed(3)}`,
  );

  const relaxation: RelaxationRow[] = [
    {
      trainSetSize: S,
      testSetSize: S,
      kl: kl.mean,
      klStd: kl.std,
      klRandom: klRandom.mean,
      klPrior: klPrior.mean,
      topLabel: top,
      topLabelPrior: topPrior,
    },
  ];
  const relaxationBars: BarChart[] = [];
  try {
    for (const m of cfg.targetSetSizes) {
      if (!ctx.extraTargetStore) {
        throw new Error(
          `targetSetSizes [${cfg.targetSetSizes.join(", ")}] needs a run context with extraTargetStore(setSize)`,
        );
      }
      const side = await readSide(ctx.extraTargetStore(m), n, cfg.shardSize, m);
      const hist = setHistograms(side.labels, n, m, C);
      const p = attack.predict(side.deltas, n);
      const r = {
        kl: meanStd(klPerRow(hist, p, n, C)),
        klRandom: meanStd(klPerRow(hist, randomHistograms(rng.fork("random", "set-size", m), n, C), n, C)),
        klPrior: meanStd(klPerRow(hist, prior, n, C)),
      };
      relaxation.push({
        trainSetSize: S,
        testSetSize: m,
        kl: r.kl.mean,
        klStd: r.kl.std,
        klRandom: r.klRandom.mean,
        klPrior: r.klPrior.mean,
        topLabel: topLabelAgreement(hist, p, n, C),
        topLabelPrior: topLabelAgreement(hist, prior, n, C),
      });
      relaxationBars.push({
        title: `A_LDE on ${ds.name}, trained on |D_update| = ${S}, tested on ${m}`,
        metric: "KL divergence",
        better: "lower",
        bars: [
          { label: "A_LDE", value: r.kl.mean },
          { label: "Random histogram", value: r.klRandom.mean },
          { label: "Prior", value: r.klPrior.mean },
        ],
      });
    }
  } finally {
    attack.dispose();
  }
  relaxation.sort((a, b) => a.testSetSize - b.testSetSize);
  if (cfg.targetSetSizes.length > 0) {
    for (const r of relaxation) {
      ctx.log(
        `A_LDE relaxation: train ${r.trainSetSize} -> test ${r.testSetSize}: KL ${r.kl.toFixed(4)} (random ${r.klRandom.toFixed(4)}, prior ${r.klPrior.toFixed(4)}); top label ${r.topLabel.toFixed(3)} (prior ${r.topLabelPrior.toFixed(3)})`,
      );
    }
  }
  return {
    attack: "distribution",
    dataset: ds.name,
    metric: "kl",
    value: kl.mean,
    baselines: { random_histogram: klRandom.mean, prior: klPrior.mean },
    extra: {
      klStd: kl.std,
      topLabel: top,
      topLabelRandom: topRandom,
      topLabelPrior: topPrior,
      setSize: S,
      ...(cfg.targetSetSizes.length > 0 ? { relaxation } : {}),
    },
    counts: { attack_train: cfg.shadowModels, attack_test: n },
    timingsSeconds: { attack_train: trainSeconds },
    figures: {
      bars: [
        {
          title: `A_LDE on ${ds.name} (|D_update| = ${S})`,
          metric: "KL divergence",
          better: "lower",
          bars: [
            { label: "A_LDE", value: kl.mean },
            { label: "Random histogram", value: klRandom.mean },
            { label: "Prior", value: klPrior.mean },
          ],
        },
        ...relaxationBars,
      ],
      grids: [],
    },
  };
}
