/**
 * Generates updated models for one side (shadow or target) into its shard store: for model i,
 * an updating set drawn from the side's pool (without replacement inside a set; sets may overlap)
 * with `Rng(seed).fork(side, "model", i)`, the update's dropout masks from a fork of that, and the
 * delta from the batched engine; under a defence (`cfg.defence`, `sideDefence`) the delta of the
 * defended updates and queries, their noise from a fork "defence" of the model's stream, their
 * replayed or other updates' samples from forks "replay" and "updates" (`drawModels`). Shard k
 * (models [k*shardSize, (k+1)*shardSize)) is a pure function of (config, seed, k); complete shards
 * are skipped, so a rerun resumes.
 *
 * Ground truth per model: the set's dataset indices then its labels (2 * setSize floats; indices
 * are exact in float32 below 2^24), from which every attack derives what it needs.
 *
 * An extra side (A_LDE's update-set-size relaxation: target models updated with sets of another
 * size) passes `opts.stream` (e.g. `["target", "set-size", 10]`, so the stream is
 * `Rng(seed).fork("target", "set-size", 10)`) and `opts.label`; the main sides keep `fork(side)`.
 */
import {
  type Defence,
  defendedDeltas,
  dpSgdOf,
  formatDefence,
  isRandomDefence,
  outputSteps,
  parseDefence,
  parseUpdateRule,
  Rng,
  replayOf,
  type SeedKey,
  type UpdateEngine,
  type UpdateRule,
  type UpdateSets,
  updatesOf,
} from "@updates-leak/core";
import type { ShardData, ShardStore } from "../store.ts";
import { type ExperimentConfig, shardCount } from "./config.ts";
import type { RunContext } from "./context.ts";
import type { DatasetLike, SideSplit } from "./data.ts";

/**
 * Thrown by `generateSide` when an updated model's delta holds a NaN or infinite value; the message
 * names the model and the shard.
 */
export class NonFiniteDeltaError extends Error {}

/**
 * Which of K shadow originals updates shard k of `shards` (`cfg.shadowOriginals`): K contiguous
 * blocks of shards, every block non-empty when K <= shards. Model i's updating set and masks do not
 * depend on K; only the model they update does.
 */
export function originalOfShard(k: number, shards: number, K: number): number {
  return Math.floor((k * K) / shards);
}

/** Which shards this process generates: all, or those with k % n === part for `--shard part/n`. */
export interface ShardSelection {
  part: number;
  of: number;
}

/** Options of `generateSide` for an extra side (`stream`, `label`) or one shadow original's block. */
export interface GenerateSideOptions {
  /** Keys of the side's root stream under `Rng(seed)`; default `[side]`. */
  stream?: readonly SeedKey[];
  /** Name in progress, metrics and errors; default `side`. */
  label?: string;
  /** Only the shards of block `index` of `of` (originalOfShard): the engine holds that original. */
  block?: { index: number; of: number };
}

/** What `generateSide` did: shards generated, shards skipped as already complete, seconds taken. */
export interface GenerateStats {
  generated: number;
  skipped: number;
  seconds: number;
}

/**
 * The defence on a side's updates and queries: the target's owner always applies `cfg.defence`;
 * the shadow side applies it only when the adversary knows it (`threat: adaptive`).
 */
export function sideDefence(cfg: ExperimentConfig, side: "shadow" | "target"): Defence {
  return side === "target" || cfg.threat === "adaptive" ? parseDefence(cfg.defence) : [];
}

/** The streams of DP-SGD's update noise: a fork of each model's defence stream. */
export function updateNoiseRngs(defenceRngs: readonly Rng[]): Rng[] {
  return defenceRngs.map((r) => r.fork("update"));
}

/** What `updateModels` needs of its side. */
interface UpdateJob {
  /** The side's root stream. */
  root: Rng;
  split: SideSplit;
  ds: DatasetLike;
  engine: UpdateEngine;
  S: number;
  name: string;
  shard: number;
  defence: Defence;
}

/** Updated models c..c+m-1 of a side: their updating sets and random streams. */
export interface DrawnModels {
  /** Dataset indices of the new sets, model by model [m * S]: the attacks' ground truth. */
  idx: Int32Array;
  /**
   * What the engine updates each model with: the new set, or under an update-side mix the new set
   * with the replayed samples [m * (S + R)], or the U updates' sets in order [m * U * S].
   */
  sets: UpdateSets;
  /** The new sets' labels [m * S]. */
  labels: ArrayLike<number>;
  maskRngs: Rng[];
  /** The streams of the defence's noise on each model's queries. */
  defenceRngs: Rng[];
}

/**
 * How the owner's update mixes other samples in with the new set: `replay` samples of `train`, the
 * updated original's training data (`replay:R`), or `updates` updates in all (`updates:U`).
 */
export interface UpdateMix {
  train: Int32Array;
  replay: number;
  updates: number;
}

/** The mix of a side's defence (`replay:R`, `updates:U`), replaying its training data; null without one. */
export function sideMix(defence: Defence, split: SideSplit): UpdateMix | null {
  const replay = replayOf(defence);
  const updates = updatesOf(defence);
  return replay > 0 || updates > 1 ? { train: split.train, replay, updates } : null;
}

/** Samples in one updated model's batch (the engine's set size): S, S + R, or U * S. */
export function mixedSetSize(S: number, mix: UpdateMix | null): number {
  return mix ? S * mix.updates + mix.replay : S;
}

/**
 * The owner's update rule on a side: `cfg.update`, except that under `updates:U` each update is one
 * step on its set, the optimiser's state carried over, which is one epoch over the U sets in order
 * with batches of S (resolveConfig checks S <= the rule's batch and one epoch).
 */
export function sideUpdateRule(cfg: ExperimentConfig, defence: Defence): UpdateRule {
  const rule = parseUpdateRule(cfg.update);
  return updatesOf(defence) > 1 ? { ...rule, batchSize: cfg.setSize } : rule;
}

/**
 * Model i's set is drawn from `root.fork("model", i).fork("set")`, its dropout masks from
 * `.fork("masks")`; an update-side mix changes the batch only, never the new set or those streams:
 * - `replay:R`: R samples of the training data are drawn from `.fork("replay")` (without
 *   replacement) and the batch is the new set and them in the order of
 *   `.fork("replay").fork("order").permutation(S + R)` (position b holds new sample o when o < S,
 *   else replayed sample o - S);
 * - `updates:U`: the new set's update comes at place `.fork("updates").int(U)`; the k-th other
 *   update's set (k = 0..U-2, in order) is drawn from the pool by `.fork("updates").fork("set", k)`;
 *   the batch is the U sets in the order of the updates.
 */
export function drawModels(
  root: Rng,
  pool: Int32Array,
  ds: DatasetLike,
  S: number,
  c: number,
  m: number,
  mix: UpdateMix | null = null,
): DrawnModels {
  const R = mix?.replay ?? 0;
  const U = mix?.updates ?? 1;
  if (R > 0 && U > 1) throw new Error("replay and several updates do not combine");
  if (mix && R > mix.train.length) {
    throw new Error(`replay ${R}: more than the ${mix.train.length} training samples to replay from`);
  }
  const B = mixedSetSize(S, mix);
  const idx = new Int32Array(m * S);
  const batch = B > S ? new Int32Array(m * B) : idx;
  const maskRngs: Rng[] = [];
  const defenceRngs: Rng[] = [];
  for (let j = 0; j < m; j++) {
    const rng = root.fork("model", c + j);
    const pick = rng.fork("set").sample(pool.length, S);
    for (let s = 0; s < S; s++) idx[j * S + s] = pool[pick[s]!]!;
    const out = batch.subarray(j * B, (j + 1) * B);
    if (mix && R > 0) {
      const r = rng.fork("replay");
      const old = r.sample(mix.train.length, R);
      const order = r.fork("order").permutation(B);
      for (let b = 0; b < B; b++) {
        const o = order[b]!;
        out[b] = o < S ? idx[j * S + o]! : mix.train[old[o - S]!]!;
      }
    } else if (U > 1) {
      const u = rng.fork("updates");
      const place = u.int(U);
      for (let k = 0, other = 0; k < U; k++) {
        const set =
          k === place
            ? idx.subarray(j * S, (j + 1) * S)
            : Array.from(u.fork("set", other++).sample(pool.length, S), (p) => pool[p]!);
        out.set(set, k * S);
      }
    }
    maskRngs.push(rng.fork("masks"));
    defenceRngs.push(rng.fork("defence"));
  }
  const g = ds.gather(batch);
  const sets = { count: m, setSize: B, x: g.x, y: Int32Array.from(g.labels) };
  const labels = B > S ? Int32Array.from(idx, (i) => ds.labels[i]!) : g.labels;
  return { idx, sets, labels, maskRngs, defenceRngs };
}

/**
 * Updated models c..c+m-1: each one's updating set (`drawModels`), the deltas from the engine,
 * checked finite, written at `out.row` of the shard's deltas and truth rows.
 */
async function updateModels(
  job: UpdateJob,
  c: number,
  m: number,
  out: { deltas: Float32Array; truth: Float32Array; row: number },
): Promise<void> {
  const { root, split, ds, engine, S, defence } = job;
  const mix = sideMix(defence, split);
  const { idx, sets, labels, maskRngs, defenceRngs } = drawModels(root, split.pool, ds, S, c, m, mix);
  const answers = outputSteps(defence);
  const noise = dpSgdOf(defence) ? updateNoiseRngs(defenceRngs) : null;
  const d =
    answers.length === 0
      ? await engine.deltas(sets, maskRngs, m, noise)
      : defendedDeltas(
          answers,
          engine.originalPosteriors(),
          await engine.posteriors(sets, maskRngs, m, noise),
          engine.spec.numClasses,
          isRandomDefence(answers) ? defenceRngs : null,
        );
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i]!)) {
      const model = c + Math.floor(i / engine.deltaSize);
      throw new NonFiniteDeltaError(
        `generate ${job.name}: delta of updated model ${model} (shard ${job.shard}) is ${d[i]}`,
      );
    }
  }
  out.deltas.set(d, out.row * engine.deltaSize);
  for (let j = 0; j < m; j++) {
    const row = (out.row + j) * 2 * S;
    for (let s = 0; s < S; s++) {
      out.truth[row + s] = idx[j * S + s]!;
      out.truth[row + S + s] = labels[j * S + s]!;
    }
  }
}

/**
 * Generates one side's missing shards (see the file comment), those in `select` and `opts.block`,
 * into `store`. Throws if the set size exceeds the side's pool or the engine's DP-SGD setting does
 * not match the side's defence; NonFiniteDeltaError on a NaN or infinite delta.
 */
export async function generateSide(
  cfg: ExperimentConfig,
  side: "shadow" | "target",
  models: number,
  split: SideSplit,
  ds: DatasetLike,
  engine: UpdateEngine,
  store: ShardStore,
  ctx: RunContext,
  select: ShardSelection = { part: 0, of: 1 },
  opts: GenerateSideOptions = {},
): Promise<GenerateStats> {
  const S = cfg.setSize;
  const name = opts.label ?? side;
  if (S > split.pool.length) {
    throw new Error(`set size ${S} is larger than the ${side} update pool (${split.pool.length} samples)`);
  }
  const shards = shardCount(models, cfg.shardSize);
  const done = await store.completed();
  const root = new Rng(cfg.seed).fork(...(opts.stream ?? [side]));
  const defence = sideDefence(cfg, side);
  const chunk =
    cfg.chunkSize > 0 ? cfg.chunkSize : engine.chunkSize(mixedSetSize(S, sideMix(defence, split)));
  const rule = sideUpdateRule(cfg, defence);
  if (engine.rule.batchSize !== rule.batchSize) {
    throw new Error(
      `generate ${name}: the engine updates in batches of ${engine.rule.batchSize}, the side's defence (${formatDefence(defence)}) in batches of ${rule.batchSize}: build it with update: sideUpdateRule(cfg, sideDefence(cfg, side))`,
    );
  }
  const dp = dpSgdOf(defence);
  if (JSON.stringify(dp) !== JSON.stringify(engine.dp)) {
    throw new Error(
      `generate ${name}: the engine updates with ${engine.dp ? "DP-SGD" : "plain SGD"}, the side's defence (${formatDefence(defence)}) with ${dp ? "DP-SGD" : "plain SGD"}: build it with dp: dpSgdOf(sideDefence(cfg, side))`,
    );
  }
  const t0 = performance.now();
  let generated = 0;
  let skipped = 0;
  let modelsDone = 0;
  const block = opts.block ?? { index: 0, of: 1 };
  const inBlock = (k: number) => originalOfShard(k, shards, block.of) === block.index;
  let total = 0;
  for (let k = 0; k < shards; k++) {
    if (inBlock(k)) total += Math.min(models, (k + 1) * cfg.shardSize) - k * cfg.shardSize;
  }
  for (let k = 0; k < shards; k++) {
    const from = k * cfg.shardSize;
    const to = Math.min(models, from + cfg.shardSize);
    if (k % select.of !== select.part || !inBlock(k)) continue;
    if (done.has(k)) {
      skipped++;
      modelsDone += to - from;
      ctx.progress(`${name} updated models`, modelsDone, total);
      continue;
    }
    const count = to - from;
    const deltas = new Float32Array(count * engine.deltaSize);
    const truth = new Float32Array(count * 2 * S);
    for (let c = from; c < to; c += chunk) {
      const m = Math.min(chunk, to - c);
      await updateModels({ root, split, ds, engine, S, name, shard: k, defence }, c, m, {
        deltas,
        truth,
        row: c - from,
      });
      modelsDone += m;
      ctx.progress(`${name} updated models`, modelsDone, total);
    }
    const shard: ShardData = { count, deltaSize: engine.deltaSize, truthSize: 2 * S, deltas, truth };
    await store.write(k, shard);
    generated++;
    ctx.metric({ stage: `generate-${name}`, shard: k, models: count });
  }
  return { generated, skipped, seconds: (performance.now() - t0) / 1000 };
}

/** All shards of a side, concatenated: deltas [models, D], set indices and labels [models, S]. */
export async function readSide(
  store: ShardStore,
  models: number,
  shardSize: number,
  setSize: number,
): Promise<{ deltas: Float32Array; indices: Int32Array; labels: Int32Array; deltaSize: number }> {
  const shards = shardCount(models, shardSize);
  const done = await store.completed();
  const missing = [...Array(shards).keys()].filter((k) => !done.has(k));
  if (missing.length > 0) {
    throw new Error(`shards ${missing.join(", ")} of ${shards} are missing: generate them before the attack`);
  }
  let deltas: Float32Array | null = null;
  let deltaSize = 0;
  const indices = new Int32Array(models * setSize);
  const labels = new Int32Array(models * setSize);
  for (let k = 0; k < shards; k++) {
    const s = await store.read(k);
    if (s.truthSize !== 2 * setSize)
      throw new Error(`shard ${k}: truth size ${s.truthSize}, expected ${2 * setSize}`);
    if (!deltas) {
      deltaSize = s.deltaSize;
      deltas = new Float32Array(models * deltaSize);
    }
    const from = k * shardSize;
    deltas.set(s.deltas, from * deltaSize);
    for (let j = 0; j < s.count; j++) {
      for (let t = 0; t < setSize; t++) {
        indices[(from + j) * setSize + t] = s.truth[j * 2 * setSize + t]!;
        labels[(from + j) * setSize + t] = s.truth[j * 2 * setSize + setSize + t]!;
      }
    }
  }
  return { deltas: deltas!, indices, labels, deltaSize };
}
