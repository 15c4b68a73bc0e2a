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
  side: "target" | "shadow" | `shadow${number}of${number}`,
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

/**
 * Shadow originals 2..K (`cfg.shadowOriginals` = K > 1; the first is the pair's shadow model): the
 * pipeline's training protocol on the same shadow data, each with its own stream
 * `Rng(seed).fork("original", "shadow-extra", j)` (j = 0..K-2), trained together as one group of
 * K-1 and cached as a group (keys `...-shadow<j+2>of<K>-...`): loaded when all are cached, else all
 * trained, so a model's bits never depend on the cache's state. Returns [] for K = 1.
 */
export async function extraShadowModels(
  cfg: ExperimentConfig,
  shadow: SideSplit,
  ds: DatasetLike,
  epochs: number,
  ctx: RunContext,
): Promise<OriginalModel[]> {
  const K = cfg.shadowOriginals;
  if (K <= 1) return [];
  const spec = specFor(cfg.dataset);
  const keys = Array.from({ length: K - 1 }, (_, j) =>
    originalKey(cfg, `shadow${j + 2}of${K}`, shadow, ds, epochs),
  );
  const cached = ctx.modelCache ? await Promise.all(keys.map((k) => ctx.modelCache!.get(k))) : [];
  if (cached.length === keys.length && cached.every((p) => p !== null)) {
    ctx.log(`shadow originals 2-${K}: loaded from cache (${keys[0]}, ...)`);
    return cached.map((params, j) => ({ params: params!, trainSeconds: 0, cached: true, key: keys[j]! }));
  }
  const data = labelledData(ds, shadow.train);
  const jobs: TrainJob[] = keys.map((_, j) => {
    const rng = new Rng(cfg.seed).fork("original", "shadow-extra", j);
    return { init: initParams(spec, rng.fork("init")), data, rng: rng.fork("train") };
  });
  ctx.log(`shadow originals 2-${K}: training ${K - 1} together, ${epochs} epochs`);
  const t0 = performance.now();
  const params = await trainModels(spec, jobs, { ...PAPER_SGD, epochs }, (m, p) => {
    if (m === 0) ctx.progress(`train shadow originals 2-${K}`, p.epoch, p.epochs);
    ctx.metric({ stage: `train-shadow${m + 2}`, epoch: p.epoch, loss: p.meanLoss });
  });
  const trainSeconds = (performance.now() - t0) / 1000;
  if (ctx.modelCache) for (const [j, k] of keys.entries()) await ctx.modelCache.put(k, params[j]!);
  return params.map((p, j) => ({ params: p, trainSeconds, cached: false, key: keys[j]! }));
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
