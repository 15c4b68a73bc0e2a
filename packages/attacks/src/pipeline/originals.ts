/**
 * The original (pre-update) target and shadow models: trained once per (training data, seed,
 * side, architecture, training config), cached through the run context's ModelCache.
 */
import { createHash } from "node:crypto";
import {
  initParams,
  type LabelledData,
  type ModelSpec,
  modelAccuracy,
  PAPER_SGD,
  type Params,
  Rng,
  type SeedKey,
  SPECS,
  tf,
} from "@updates-leak/core";
import { aloneParallelism, type TrainJob, trainAlone, trainModels } from "@updates-leak/core/internal";
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

/** An original model, trained or loaded from the model cache: its parameters and cache key. */
export interface OriginalModel {
  params: Params;
  /** Seconds spent training the pair this model was trained in (0 when loaded from the cache). */
  trainSeconds: number;
  cached: boolean;
  key: string;
}

/**
 * Digest of a training set: sha256 (first 16 hex digits) of its normalised samples then its
 * labels, in training order, as `ds.gather` gives them. The model a training run yields is a
 * function of exactly these bytes (and the seeds and hyperparameters in the rest of the key), so
 * the key changes whenever the split does (another seed, data set size or probe-set size) and
 * whenever the features do (another normalisation, another data file).
 */
export function trainingDigest(ds: DatasetLike, idx: Int32Array): string {
  const h = createHash("sha256");
  const CHUNK = 1024;
  for (let i = 0; i < idx.length; i += CHUNK) {
    const g = ds.gather(idx.subarray(i, Math.min(i + CHUNK, idx.length)));
    h.update(new Uint8Array(g.x.buffer, g.x.byteOffset, g.x.byteLength));
    h.update(Uint8Array.from(g.labels));
  }
  return h.digest("hex").slice(0, 16);
}

/**
 * Cache key of one original model, given its training set's digest (`trainingDigest`). "v4": the
 * key holds the digest of the training data (v3 keys named only the seed and the training-set size,
 * so another --probe-count or data set size reloaded models trained on another split: their
 * training set held the new probes and part of the other side's pool). v3: on wasm trained alone,
 * the image models' conv blocks with the sparse gradient (core's ops/conv-pool.ts); v2 models were
 * trained as a pair with dense gradients, v1 ones one at a time with dense gradients.
 */
export function originalKey(
  cfg: Pick<ExperimentConfig, "dataset" | "seed">,
  side: "target" | "shadow" | `shadow${number}of${number}`,
  train: { length: number; digest: string },
  datasetName: string,
  epochs: number,
): string {
  return [
    "v4",
    datasetName,
    specFor(cfg.dataset).name,
    `seed${cfg.seed}`,
    side,
    `n${train.length}`,
    `d${train.digest}`,
    `e${epochs}`,
    `lr${PAPER_SGD.lr}`,
    `m${PAPER_SGD.momentum}`,
    `b${PAPER_SGD.batchSize}`,
  ].join("-");
}

/** One model of a group of originals: its cache key and its name in logs and metrics. */
interface GroupMember {
  key: string;
  /** E.g. "shadow": log "original shadow model", metric stage "train-shadow". */
  name: string;
}

/**
 * A group of original models: loaded from the cache when every member is there, else all trained
 * and all cached. On wasm each is trained alone (trainAlone: in parallel worker threads on two or
 * more threads, the same bits as one after another), elsewhere together (trainModels: one batched
 * model of the group, which a GPU runs best). Always as a group, so a model's weights never depend
 * on the cache's state. `jobs` (one per member, in order) is called only when the group is
 * trained; `training` is then the log line and `progress` the stage name.
 */
async function originalGroup(
  spec: ModelSpec,
  group: GroupMember[],
  jobs: () => TrainJob[],
  epochs: number,
  ctx: RunContext,
  text: { training: string; progress: string },
): Promise<OriginalModel[]> {
  const cached = ctx.modelCache ? await Promise.all(group.map((g) => ctx.modelCache!.get(g.key))) : [];
  if (cached.length === group.length && cached.every((p) => p !== null)) {
    for (const g of group) ctx.log(`original ${g.name} model: loaded from cache (${g.key})`);
    return cached.map((params, i) => ({
      params: params!,
      trainSeconds: 0,
      cached: true,
      key: group[i]!.key,
    }));
  }
  const wasm = tf.getBackend() === "wasm";
  const parallel = wasm ? aloneParallelism(group.length) : group.length;
  const how = wasm
    ? parallel > 1
      ? `each alone, ${parallel} at a time in worker threads`
      : "each alone"
    : "together";
  ctx.log(`${text.training} (${how}), ${epochs} epochs`);
  const t0 = performance.now();
  const train = wasm ? trainAlone : trainModels;
  const params = await train(spec, jobs(), { ...PAPER_SGD, epochs }, (m, p) => {
    if (m === 0) ctx.progress(text.progress, p.epoch, p.epochs);
    ctx.metric({ stage: `train-${group[m]!.name}`, epoch: p.epoch, loss: p.meanLoss });
  });
  const trainSeconds = (performance.now() - t0) / 1000;
  if (ctx.modelCache) for (const [i, g] of group.entries()) await ctx.modelCache.put(g.key, params[i]!);
  return params.map((p, i) => ({ params: p, trainSeconds, cached: false, key: group[i]!.key }));
}

/** A model's job: initial weights and training stream from `Rng(seed).fork("original", ...stream)`. */
function originalJob(cfg: ExperimentConfig, stream: SeedKey[], data: LabelledData): TrainJob {
  const rng = new Rng(cfg.seed).fork("original", ...stream);
  return { init: initParams(specFor(cfg.dataset), rng.fork("init")), data, rng: rng.fork("train") };
}

/**
 * The original shadow and target models, as one group of two (`originalGroup`; on 2 wasm threads
 * the two train in parallel, each alone in a worker thread).
 */
export async function originalModels(
  cfg: ExperimentConfig,
  splits: { shadow: SideSplit; target: SideSplit },
  ds: DatasetLike,
  epochs: number,
  ctx: RunContext,
): Promise<Record<"shadow" | "target", OriginalModel>> {
  const sides = ["shadow", "target"] as const;
  const [shadow, target] = await originalGroup(
    specFor(cfg.dataset),
    sides.map((side) => {
      const train = { length: splits[side].train.length, digest: trainingDigest(ds, splits[side].train) };
      return { key: originalKey(cfg, side, train, ds.name, epochs), name: side };
    }),
    () => sides.map((side) => originalJob(cfg, [side], labelledData(ds, splits[side].train))),
    epochs,
    ctx,
    {
      training: "original shadow and target models: training both",
      progress: "train original models (shadow and target)",
    },
  );
  return { shadow: shadow!, target: target! };
}

/**
 * Shadow originals 2..K (`cfg.shadowOriginals` = K > 1; the first is the pair's shadow model): the
 * pipeline's training protocol on the same shadow data, each with its own stream
 * `Rng(seed).fork("original", "shadow-extra", j)` (j = 0..K-2), as one group of K-1
 * (`originalGroup`; keys `...-shadow<j+2>of<K>-...`). Returns [] for K = 1.
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
  const extras = Array.from({ length: K - 1 }, (_, j) => j);
  const train = { length: shadow.train.length, digest: trainingDigest(ds, shadow.train) };
  return originalGroup(
    specFor(cfg.dataset),
    extras.map((j) => ({
      key: originalKey(cfg, `shadow${j + 2}of${K}`, train, ds.name, epochs),
      name: `shadow${j + 2}`,
    })),
    () => {
      const data = labelledData(ds, shadow.train);
      return extras.map((j) => originalJob(cfg, ["shadow-extra", j], data));
    },
    epochs,
    ctx,
    {
      training: `shadow originals 2-${K}: training ${K - 1}`,
      progress: `train shadow originals 2-${K}`,
    },
  );
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
