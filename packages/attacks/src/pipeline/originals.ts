/**
 * The original (pre-update) target and shadow models: trained once per (data set, split seed,
 * side, architecture, training config), cached through the run context's ModelCache.
 */
import {
  initParams,
  type LabelledData,
  type ModelSpec,
  modelAccuracy,
  PAPER_SGD,
  type Params,
  Rng,
  SPECS,
  trainModel,
} from "@updates-leak/core";
import type { ExperimentConfig } from "./config.ts";
import type { RunContext } from "./context.ts";
import type { DatasetLike, SideSplit } from "./data.ts";

export function specFor(dataset: ExperimentConfig["dataset"]): ModelSpec {
  return SPECS[dataset];
}

export function labelledData(ds: DatasetLike, idx: Int32Array): LabelledData {
  const g = ds.gather(idx);
  return { x: g.x, y: Int32Array.from(g.labels), n: g.count };
}

export interface OriginalModel {
  params: Params;
  trainSeconds: number;
  cached: boolean;
  key: string;
}

export async function originalModel(
  cfg: ExperimentConfig,
  side: "target" | "shadow",
  split: SideSplit,
  ds: DatasetLike,
  epochs: number,
  ctx: RunContext,
): Promise<OriginalModel> {
  const spec = specFor(cfg.dataset);
  const key = [
    "v1",
    ds.name,
    spec.name,
    `seed${cfg.seed}`,
    side,
    `n${split.train.length}`,
    `e${epochs}`,
    `lr${PAPER_SGD.lr}`,
    `m${PAPER_SGD.momentum}`,
    `b${PAPER_SGD.batchSize}`,
  ].join("-");
  const cached = ctx.modelCache ? await ctx.modelCache.get(key) : null;
  if (cached) {
    ctx.log(`original ${side} model: loaded from cache (${key})`);
    return { params: cached, trainSeconds: 0, cached: true, key };
  }
  const rng = new Rng(cfg.seed).fork("original", side);
  const t0 = performance.now();
  const data = labelledData(ds, split.train);
  const params = await trainModel(
    spec,
    initParams(spec, rng.fork("init")),
    data,
    { ...PAPER_SGD, epochs },
    rng.fork("train"),
    (p) => {
      ctx.progress(`train ${side} model`, p.epoch, p.epochs);
      ctx.metric({ stage: `train-${side}`, epoch: p.epoch, loss: p.meanLoss });
    },
  );
  const trainSeconds = (performance.now() - t0) / 1000;
  if (ctx.modelCache) await ctx.modelCache.put(key, params);
  return { params, trainSeconds, cached: false, key };
}

/** Accuracy of an original model on up to `n` samples it never saw (the other side's pool). */
export function heldOutAccuracy(
  cfg: ExperimentConfig,
  params: Params,
  heldOut: Int32Array,
  ds: DatasetLike,
  n = 2000,
): number {
  return modelAccuracy(
    specFor(cfg.dataset),
    params,
    labelledData(ds, heldOut.subarray(0, Math.min(n, heldOut.length))),
  );
}
