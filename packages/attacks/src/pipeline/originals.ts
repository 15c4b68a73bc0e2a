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
  type TrainJob,
  trainModels,
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
  /** Seconds spent training the pair this model was trained in (0 when loaded from the cache). */
  trainSeconds: number;
  cached: boolean;
  key: string;
}

/**
 * Cache key of one original model. "v2": trained as a pair by trainModels (v1 models were trained
 * one at a time, and differ from v2 ones in the last bits).
 */
function originalKey(
  cfg: ExperimentConfig,
  side: "target" | "shadow",
  split: SideSplit,
  ds: DatasetLike,
  epochs: number,
) {
  return [
    "v2",
    ds.name,
    specFor(cfg.dataset).name,
    `seed${cfg.seed}`,
    side,
    `n${split.train.length}`,
    `e${epochs}`,
    `lr${PAPER_SGD.lr}`,
    `m${PAPER_SGD.momentum}`,
    `b${PAPER_SGD.batchSize}`,
  ].join("-");
}

/**
 * The original shadow and target models: loaded from the cache when both are there, else trained
 * together (trainModels: one batched model of two, about 1.4x the time of one on 2 wasm threads)
 * and both cached. Always as a pair, so a model's weights never depend on the cache's state: on
 * wasm a model trained beside another differs from one trained alone in the last bits.
 */
export async function originalModels(
  cfg: ExperimentConfig,
  splits: { shadow: SideSplit; target: SideSplit },
  ds: DatasetLike,
  epochs: number,
  ctx: RunContext,
): Promise<Record<"shadow" | "target", OriginalModel>> {
  const spec = specFor(cfg.dataset);
  const sides = ["shadow", "target"] as const;
  const keys = sides.map((side) => originalKey(cfg, side, splits[side], ds, epochs));
  const cached = ctx.modelCache ? await Promise.all(keys.map((k) => ctx.modelCache!.get(k))) : [null, null];
  if (cached[0] && cached[1]) {
    for (const [i, side] of sides.entries())
      ctx.log(`original ${side} model: loaded from cache (${keys[i]})`);
    return {
      shadow: { params: cached[0], trainSeconds: 0, cached: true, key: keys[0]! },
      target: { params: cached[1], trainSeconds: 0, cached: true, key: keys[1]! },
    };
  }
  const jobs: TrainJob[] = sides.map((side) => {
    const rng = new Rng(cfg.seed).fork("original", side);
    return {
      init: initParams(spec, rng.fork("init")),
      data: labelledData(ds, splits[side].train),
      rng: rng.fork("train"),
    };
  });
  ctx.log(`original shadow and target models: training both together, ${epochs} epochs`);
  const t0 = performance.now();
  const params = await trainModels(spec, jobs, { ...PAPER_SGD, epochs }, (m, p) => {
    if (m === 0) ctx.progress("train original models (shadow and target together)", p.epoch, p.epochs);
    ctx.metric({ stage: `train-${sides[m]}`, epoch: p.epoch, loss: p.meanLoss });
  });
  const trainSeconds = (performance.now() - t0) / 1000;
  if (ctx.modelCache) for (const [i, k] of keys.entries()) await ctx.modelCache.put(k, params[i]!);
  return {
    shadow: { params: params[0]!, trainSeconds, cached: false, key: keys[0]! },
    target: { params: params[1]!, trainSeconds, cached: false, key: keys[1]! },
  };
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
