/**
 * A_MSR (CBM-GAN) on the generated deltas: the GAN is trained on the shadow side (one step = one
 * shadow updated model: its real set against as many generated samples); for each evaluated
 * target delta it generates `inferenceSamples` samples, clusters them with k-means (k = set size),
 * takes the generated sample nearest each centroid and matches those one-to-one to the real set
 * (Hungarian) for the mean per-sample MSE in the reconstruction space.
 * Baselines: random shadow-pool sets matched the same way, and the same GAN trained without the
 * best-match loss.
 *
 * Deviation from the paper's code, named: one training step takes 8 shadow updated models
 * (8 x 100 generated samples) instead of 1. With a single model per step every generated sample
 * of a batch shares one delta latent, the generator's first batch norm subtracts that batch mean,
 * and the generator ignores delta entirely (packages/attacks/src/msr.test.ts shows it).
 * Second deviation, measured: no batch norm in the generator. On MNIST (400 shadow models, 2
 * epochs, small widths) the generator with batch norm scored a matched MSE of 0.109, worse than
 * random sets (0.071); without it 0.067, and 0.053 with Adam lr 1e-3, which `--smoke` uses to
 * converge in few steps (full runs keep the paper's 2e-4).
 *
 * Checkpoints: with a checkpoint store in the run context each GAN saves its training state after
 * every epoch under `msr-<label>-<digest>` (`ganCheckpointing`) and a rerun resumes from it, so a
 * killed run retrains no finished epoch and ends with the same generator, bit for bit.
 *
 * Target inference spread over processes (`--shard K/N`, `scoreMsrPart`): once both GANs' training
 * is complete (their checkpoints hold the last epoch), a part loads them and scores only the targets
 * i with i % N == K - 1, saving each target's matched MSE in the run's target-result store under a
 * name keyed by the GAN, the inference settings and the target deltas; the final run takes those
 * up and scores the rest itself. Target i draws its inference randomness from
 * `rng.fork("eval" or "eval-plain").fork("target", i)`, whichever process scores it, so the result is
 * that of a run that scored every target, bit for bit on the same backend.
 */

import { createHash } from "node:crypto";
import { tf } from "@updates-leak/core";
import { matchedMse, meanStd } from "../metrics.ts";
import {
  type InferenceOptions,
  MSR_DEFAULTS,
  type MsrAttack,
  type MsrCheckpointing,
  type MsrScores,
  poolKmeansBaseline,
  randomSetBaseline,
  type SetSource,
  trainMsrAttack,
} from "../msr.ts";
import { type ExperimentConfig, shardCount } from "./config.ts";
import type { ExperimentResult, ImageGrid, RunContext } from "./context.ts";
import type { DatasetLike, ExperimentData } from "./data.ts";
import type { ShardSelection } from "./generate.ts";
import { type StageInputs, secondsSince, stageInputs, stageResult } from "./stage.ts";

/** Shadow updated models per CBM-GAN step (see the deviation above). */
export const MODELS_PER_STEP = 8;

/** Real sets in the reconstruction space, gathered lazily from the data set by index. */
function lazySets(ds: DatasetLike, indices: Int32Array, S: number): SetSource {
  const cache = new Map<number, Float32Array>();
  return (i: number) => {
    let s = cache.get(i);
    if (!s) {
      s = ds.gatherUnit(indices.subarray(i * S, (i + 1) * S));
      if (cache.size > 64) cache.clear();
      cache.set(i, s);
    }
    return s;
  };
}

/**
 * Config fields a GAN's training does not read: the shard batching, the inference and the A_LDE
 * relaxation; and the requested backend and threads (the key holds the backend actually in use
 * instead). Every other field, present or added later, is part of a checkpoint's key.
 */
const NOT_IN_GAN_KEY: readonly string[] = [
  "chunkSize",
  "inferenceSamples",
  "evalTargets",
  "targetSetSizes",
  "backend",
  "threads",
];

/** The first 16 hex digits of the sha256 of `parts`' bytes. */
function digest(...parts: ArrayBufferView[]): string {
  const h = createHash("sha256");
  for (const p of parts) h.update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  return h.digest("hex").slice(0, 16);
}

/**
 * The checkpoint key and name of GAN `label`: the key holds the config fields the training reads,
 * the backend in use, and digests of the shadow deltas and of the shadow sets' sample indices; the
 * name is `msr-<label>-<12 hex digits of the key's sha256>`.
 */
function ganIdentity(
  cfg: ExperimentConfig,
  inputs: StageInputs,
  label: string,
): { key: string; name: string } {
  const fields = Object.fromEntries(Object.entries(cfg).filter(([k]) => !NOT_IN_GAN_KEY.includes(k)));
  const key = JSON.stringify({
    label,
    config: Object.fromEntries(Object.entries(fields).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
    backend: tf.getBackend(),
    shadowDeltas: digest(inputs.shadow.deltas),
    shadowSets: digest(inputs.shadow.indices),
  });
  return { key, name: `msr-${label}-${createHash("sha256").update(key).digest("hex").slice(0, 12)}` };
}

/**
 * Checkpointing of GAN `label` in the run's checkpoint store, if it has one, under `ganIdentity`'s
 * name: a run refitted with other settings (another --attack-epochs, another backend) trains and
 * saves under its own name and leaves the other checkpoint as it was, and a resume with the same
 * settings finds its own. (The run folder's own check covers only the data fields; the others may
 * change on a resume, see docs/RUNS.md.) The checkpoints are kept when the run ends, as the
 * shards are (tools/src/run-folder.ts).
 */
function ganCheckpointing(
  cfg: ExperimentConfig,
  ctx: RunContext,
  inputs: StageInputs,
  label: string,
): MsrCheckpointing | undefined {
  const store = ctx.checkpoints;
  if (!store) return undefined;
  const { key, name } = ganIdentity(cfg, inputs, label);
  return {
    key,
    where: store.where(name),
    load: () => store.load(name),
    save: (bytes) => store.save(name, bytes),
    restored: (epoch) => {
      ctx.log(`${label}: resumed after epoch ${epoch} of ${cfg.attackEpochs} from ${store.where(name)}`);
      ctx.metric({ stage: `attack-msr-${label}`, resumedAfterEpoch: epoch });
    },
  };
}

/** Thrown through `trainMsrAttack` by `trainedOnly`'s hook: the GAN's training is not complete. */
class NotTrained extends Error {}

/**
 * `hook` for loading a completely trained GAN and nothing else: no checkpoint, or one of an earlier
 * epoch, throws `NotTrained` (before any epoch is trained); nothing is saved.
 */
function trainedOnly(
  hook: MsrCheckpointing,
  cfg: ExperimentConfig,
  ctx: RunContext,
  label: string,
): MsrCheckpointing {
  return {
    key: hook.key,
    where: hook.where,
    load: () => {
      const bytes = hook.load();
      if (bytes === null) throw new NotTrained(`${label}: no checkpoint yet (${hook.where})`);
      return bytes;
    },
    save: () => {
      throw new Error(`${label}: a part that scores targets trains nothing`);
    },
    restored: (epoch) => {
      if (epoch < cfg.attackEpochs)
        throw new NotTrained(
          `${label}: trained for ${epoch} of ${cfg.attackEpochs} epochs so far (${hook.where})`,
        );
      ctx.log(`${label}: trained GAN loaded from ${hook.where}`);
    },
  };
}

/** CBM-GAN (or, without best match, the plain conditional GAN) on the shadow side. */
function trainGan(
  cfg: ExperimentConfig,
  ctx: RunContext,
  inputs: StageInputs,
  shadowSets: SetSource,
  bestMatch: boolean,
  label: string,
  timings: Record<string, number>,
  loadOnly = false,
): MsrAttack {
  const { ds, shadow, rng } = inputs;
  const t0 = performance.now();
  const hook = ganCheckpointing(cfg, ctx, inputs, label);
  const checkpoint = hook && loadOnly ? trainedOnly(hook, cfg, ctx, label) : hook;
  if (loadOnly && !checkpoint) throw new NotTrained(`${label}: the run keeps no checkpoints`);
  const gan = trainMsrAttack(
    shadow.deltas,
    cfg.shadowModels,
    shadow.deltaSize,
    shadowSets,
    cfg.setSize,
    ds.sampleSize,
    rng.fork("gan", label),
    {
      epochs: cfg.attackEpochs,
      output: ds.reconSpace === "unit" ? "sigmoid" : "linear",
      bestMatch,
      modelsPerStep: MODELS_PER_STEP,
      generatorBatchNorm: "none",
      ...(cfg.smoke
        ? {
            generatorHidden: [256, 256],
            discriminatorHidden: [256, 128],
            adam: { ...MSR_DEFAULTS.adam, lr: 1e-3 },
          }
        : {}),
      onEpoch: (r) => {
        ctx.progress(`train ${label}`, r.epoch, r.epochs);
        ctx.metric({
          stage: `attack-msr-${label}`,
          epoch: r.epoch,
          dLoss: r.dLoss,
          gLoss: r.gLoss,
          bestMatch: r.bestMatch,
        });
      },
      ...(checkpoint ? { checkpoint } : {}),
    },
  );
  timings[`train_${label}`] = secondsSince(t0);
  return gan;
}

/** One target set drawn at random: each real sample beside the reconstruction matched to it. */
function msrGrid(
  inputs: StageInputs,
  gan: MsrAttack,
  targetSets: SetSource,
  n: number,
  S: number,
  inference: Partial<InferenceOptions>,
): ImageGrid {
  const { ds, target, rng } = inputs;
  const D = ds.sampleSize;
  const i = rng.fork("figure").int(n); // drawn at random, not picked
  const real = targetSets(i);
  const recon = gan.reconstructSet(
    target.deltas.subarray(i * target.deltaSize, (i + 1) * target.deltaSize),
    S,
    rng.fork("eval", "figure"),
    inference,
  );
  const show = Math.min(S, 16);
  const rowsOf = (flat: Float32Array) =>
    Array.from({ length: show }, (_, j) => flat.slice(j * D, (j + 1) * D));
  // Each real sample beside the reconstruction the Hungarian matching paired it with.
  const pairing = matchedMse(real, recon, S, D).realToRecon;
  const matched = new Float32Array(S * D);
  for (let r = 0; r < S; r++) matched.set(recon.subarray(pairing[r]! * D, (pairing[r]! + 1) * D), r * D);
  return {
    title: `A_MSR (CBM-GAN) on ${ds.name}: target set ${i}, real samples and their matched reconstructions`,
    rowLabels: ["real", "CBM-GAN"],
    shape: ds.sampleShape as [number, number, number],
    rows: [rowsOf(real), rowsOf(matched)],
  };
}

/** The two GANs A_MSR trains, in order, each with its best-match flag and evaluation stream. */
const GANS = [
  { label: "cbm-gan", bestMatch: true, stream: "eval" },
  { label: "gan-no-best-match", bestMatch: false, stream: "eval-plain" },
] as const;

type GanSpec = (typeof GANS)[number];

/**
 * Where the per-target matched MSE of GAN `label` is saved (`RunContext.targetResults`): the key
 * holds the GAN's checkpoint name (its training), the inference settings and digests of the target
 * deltas and sets; the name is `msr-<label>-<12 hex digits of the key's sha256>`. `evalTargets` is
 * not in it: target i's score does not depend on how many are evaluated.
 */
function scoringIdentity(
  cfg: ExperimentConfig,
  inputs: StageInputs,
  label: string,
): { key: string; name: string } {
  const key = JSON.stringify({
    gan: ganIdentity(cfg, inputs, label).name,
    inferenceSamples: cfg.inferenceSamples,
    targetDeltas: digest(inputs.target.deltas),
    targetSets: digest(inputs.target.indices),
  });
  return { key, name: `msr-${label}-${createHash("sha256").update(key).digest("hex").slice(0, 12)}` };
}

/** What scoring the targets needs: the inputs, the targets' real sets, how many are evaluated. */
interface Scoring {
  cfg: ExperimentConfig;
  ctx: RunContext;
  inputs: StageInputs;
  targetSets: SetSource;
  /** Target models evaluated: the first n. */
  n: number;
}

/**
 * Target i's matched MSE under `gan`, exactly as `evaluateMsrAttack` computes it with the stream
 * `evalRng`: the reconstruction draws from `evalRng.fork("target", i)`. `from` is the target whose
 * delta the GAN is given (i itself but for the other-delta baseline).
 */
function scoreTarget(s: Scoring, gan: MsrAttack, evalRng: StageInputs["rng"], i: number, from = i): number {
  const { inputs, cfg } = s;
  const d = inputs.target.deltaSize;
  const S = cfg.setSize;
  const recon = gan.reconstructSet(
    inputs.target.deltas.subarray(from * d, (from + 1) * d),
    S,
    evalRng.fork("target", i),
    {
      samples: cfg.inferenceSamples,
    },
  );
  return matchedMse(s.targetSets(i), recon, S, inputs.ds.sampleSize).mse;
}

/**
 * `evaluateMsrAttack` of `gan` on the first n targets, taking up the values that `--shard` parts
 * saved (`scoreMsrPart`) and scoring the others here. Returns the scores and how many came from parts.
 */
function evaluateGan(s: Scoring, gan: MsrAttack, spec: GanSpec): { scores: MsrScores; fromParts: number } {
  const { cfg, ctx, inputs, n } = s;
  if (inputs.target.deltas.length < n * gan.deltaSize)
    throw new Error(
      `A_MSR: ${n} target deltas of ${gan.deltaSize} values needed, ${inputs.target.deltas.length} values found`,
    );
  const id = scoringIdentity(cfg, inputs, spec.label);
  const saved = ctx.targetResults?.load(id.name, id.key) ?? new Map<number, number>();
  const evalRng = inputs.rng.fork(spec.stream);
  const perSet = new Float64Array(n);
  let fromParts = 0;
  for (let i = 0; i < n; i++) {
    const v = saved.get(i);
    if (v !== undefined) {
      perSet[i] = v;
      fromParts++;
    } else {
      perSet[i] = scoreTarget(s, gan, evalRng, i);
    }
    ctx.progress(`score ${spec.label}`, i + 1, n);
  }
  if (fromParts > 0) ctx.log(`${spec.label}: ${fromParts} of ${n} targets scored by --shard parts`);
  const ms = meanStd(perSet);
  return { scores: { perSet, mean: ms.mean, std: ms.std }, fromParts };
}

/** Targets the other-delta baseline scores (the first ones): enough for its mean, a tenth of the paper's. */
const OTHER_DELTA_TARGETS = 100;

/**
 * The trained CBM-GAN given another target's delta: target i of the first m = min(n, 100) is
 * reconstructed from target (i + 1) mod m's delta and scored against its own set, with the stream
 * `fork(cbm-gan stream, "other-delta")`. Where it scores as well as with the right delta, the
 * attack does not use the delta.
 */
function otherDeltaScores(s: Scoring, gan: MsrAttack): MsrScores {
  const m = Math.min(s.n, OTHER_DELTA_TARGETS);
  const evalRng = s.inputs.rng.fork(GANS[0].stream, "other-delta");
  const perSet = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    perSet[i] = scoreTarget(s, gan, evalRng, i, (i + 1) % m);
    s.ctx.progress("score cbm-gan with another target's delta", i + 1, m);
  }
  const ms = meanStd(perSet);
  return { perSet, mean: ms.mean, std: ms.std };
}

/** Target models A_MSR evaluates: the first `evalTargets` (all when 0). */
function evaluatedTargets(cfg: ExperimentConfig): number {
  return cfg.evalTargets > 0 ? Math.min(cfg.evalTargets, cfg.targetModels) : cfg.targetModels;
}

/**
 * Trains (or resumes, or loads when complete) both GANs and scores nothing: for a job array whose
 * `--shard K/N` parts then score the targets (`scoreMsrPart`). Every shard must be there.
 */
export async function trainMsrGans(
  cfg: ExperimentConfig,
  ctx: RunContext,
  data: ExperimentData,
): Promise<void> {
  const inputs = await stageInputs(cfg, ctx, data, "msr", cfg.setSize);
  const shadowSets = lazySets(inputs.ds, inputs.shadow.indices, cfg.setSize);
  const timings: Record<string, number> = {};
  for (const g of GANS) trainGan(cfg, ctx, inputs, shadowSets, g.bestMatch, g.label, timings).dispose();
  ctx.metric({ stage: "attack-msr-trained", timings });
}

/** What a `--shard K/N` part of A_MSR scored: per GAN, targets scored now and found already saved. */
export interface MsrPartReport {
  /** By GAN label; absent: its training was not complete, nothing scored. */
  scored: Record<string, { scored: number; resumed: number; mine: number }>;
  /** Why nothing was scored, when nothing was. */
  skipped?: string;
}

/**
 * A `--shard K/N` part's share of A_MSR's inference (`select` 0-based: part K - 1 of N): when every
 * shard is there and a GAN's training is complete (its checkpoint holds the last epoch), the GAN is
 * loaded and the targets i < n with i % N == K - 1 are scored, each saved at once to
 * `ctx.targetResults` (a killed part rerun skips the targets it saved). A GAN not yet trained is
 * skipped with a log line; nothing is ever trained here.
 */
export async function scoreMsrPart(
  cfg: ExperimentConfig,
  ctx: RunContext,
  data: ExperimentData,
  select: ShardSelection,
): Promise<MsrPartReport> {
  const report: MsrPartReport = { scored: {} };
  const skip = (why: string): MsrPartReport => {
    ctx.log(`A_MSR targets not scored: ${why}`);
    return { ...report, skipped: why };
  };
  const store = ctx.targetResults;
  if (!store || !ctx.checkpoints) return skip("the run keeps no checkpoints or target results");
  for (const [side, st, models] of [
    ["shadow", ctx.shadowStore, cfg.shadowModels],
    ["target", ctx.targetStore, cfg.targetModels],
  ] as const) {
    const shards = shardCount(models, cfg.shardSize);
    const done = (await st.completed()).size;
    if (done < shards)
      return skip(`${side} shards ${done}/${shards} (the GANs are trained after all shards)`);
  }
  const inputs = await stageInputs(cfg, ctx, data, "msr", cfg.setSize);
  const s: Scoring = {
    cfg,
    ctx,
    inputs,
    targetSets: lazySets(inputs.ds, inputs.target.indices, cfg.setSize),
    n: evaluatedTargets(cfg),
  };
  const shadowSets = lazySets(inputs.ds, inputs.shadow.indices, cfg.setSize);
  const mine: number[] = [];
  for (let i = select.part; i < s.n; i += select.of) mine.push(i);
  for (const g of GANS) {
    let gan: MsrAttack;
    try {
      gan = trainGan(cfg, ctx, inputs, shadowSets, g.bestMatch, g.label, {}, true);
    } catch (e) {
      if (!(e instanceof NotTrained)) throw e;
      ctx.log(`A_MSR ${g.label}: targets not scored: ${e.message}`);
      continue;
    }
    try {
      const id = scoringIdentity(cfg, inputs, g.label);
      const saved = store.load(id.name, id.key);
      const values = new Map<number, number>();
      for (const i of mine) if (saved.has(i)) values.set(i, saved.get(i)!);
      const resumed = values.size;
      const evalRng = inputs.rng.fork(g.stream);
      for (const i of mine) {
        if (!values.has(i)) {
          values.set(i, scoreTarget(s, gan, evalRng, i));
          store.save(id.name, id.key, s.n, values);
        }
        ctx.progress(`score ${g.label}`, values.size, mine.length);
      }
      if (resumed === mine.length) store.save(id.name, id.key, s.n, values);
      report.scored[g.label] = { scored: mine.length - resumed, resumed, mine: mine.length };
      ctx.log(
        `A_MSR ${g.label}: ${mine.length - resumed} targets scored, ${resumed} already saved (of ${s.n}, this part's ${mine.length})`,
      );
      ctx.metric({ stage: `attack-msr-${g.label}-part`, ...report.scored[g.label] });
    } finally {
      gan.dispose();
    }
  }
  return report;
}

/**
 * A_MSR end to end on the run's shards (see the file comment): both GANs trained (or resumed, or
 * loaded), each scored on the first n targets (taking up what `--shard` parts saved), the random-set
 * baseline, the figure.
 */
export async function runMsrAttack(
  cfg: ExperimentConfig,
  ctx: RunContext,
  data: ExperimentData,
): Promise<ExperimentResult> {
  const S = cfg.setSize;
  const inputs = await stageInputs(cfg, ctx, data, "msr", S);
  const { ds, splits, shadow, target, rng } = inputs;
  const D = ds.sampleSize;
  const n = evaluatedTargets(cfg);
  const timings: Record<string, number> = {};
  const shadowSets = lazySets(ds, shadow.indices, S);
  const targetSets = lazySets(ds, target.indices, S);
  const scoring: Scoring = { cfg, ctx, inputs, targetSets, n };
  const fromParts: Record<string, number> = {};

  const inference = { samples: cfg.inferenceSamples };
  const gan = trainGan(cfg, ctx, inputs, shadowSets, true, "cbm-gan", timings);
  let scores: MsrScores;
  let other: MsrScores;
  let grid: ImageGrid | null = null;
  try {
    const t0 = performance.now();
    const ev = evaluateGan(scoring, gan, GANS[0]);
    scores = ev.scores;
    fromParts[GANS[0].label] = ev.fromParts;
    timings.evaluate = secondsSince(t0);
    const t1 = performance.now();
    other = otherDeltaScores(scoring, gan);
    timings.evaluate_other_delta = secondsSince(t1);
    if (ds.sampleShape.length === 3) grid = msrGrid(inputs, gan, targetSets, n, S, inference);
  } finally {
    gan.dispose();
  }
  const plain = trainGan(cfg, ctx, inputs, shadowSets, false, "gan-no-best-match", timings);
  let plainScores: MsrScores;
  try {
    const ev = evaluateGan(scoring, plain, GANS[1]);
    plainScores = ev.scores;
    fromParts[GANS[1].label] = ev.fromParts;
  } finally {
    plain.dispose();
  }
  const pool = ds.gatherUnit(splits.shadow.pool);
  const random = randomSetBaseline(pool, splits.shadow.pool.length, D, n, targetSets, S, rng.fork("random"));
  const blind = poolKmeansBaseline(
    { rows: pool, count: splits.shadow.pool.length, sampleSize: D },
    targetSets,
    n,
    S,
    {
      samples: cfg.inferenceSamples,
      rng: rng.fork("pool-kmeans"),
    },
  );
  ctx.log(
    `A_MSR matched MSE ${scores.mean.toFixed(4)} (another target's delta ${other.mean.toFixed(4)}, random sets ${random.mean.toFixed(4)}, pool k-means ${blind.mean.toFixed(4)}, no best-match ${plainScores.mean.toFixed(4)})`,
  );
  return stageResult(cfg, {
    attack: "msr",
    dataset: ds.name,
    metric: `matched_mse_${ds.reconSpace}`,
    value: scores.mean,
    baselines: {
      random_set: random.mean,
      pool_kmeans: blind.mean,
      cbm_gan_other_delta: other.mean,
      gan_without_best_match: plainScores.mean,
    },
    extra: {
      std: scores.std,
      modelsPerStep: MODELS_PER_STEP,
      generatorBatchNorm: "none",
      inferenceSamples: cfg.inferenceSamples,
      evaluatedTargets: n,
      otherDeltaTargets: other.perSet.length,
      targetsScoredByParts: fromParts,
      ganEpochs: cfg.attackEpochs,
    },
    tested: n,
    timings,
    predictions: [
      {
        name: "matched_mse",
        doc: "CBM-GAN's matched MSE on target set i (the first --eval-targets)",
        shape: [n],
        data: Float32Array.from(scores.perSet),
      },
    ],
    chart: {
      title: `A_MSR on ${ds.name}`,
      metric: "matched MSE",
      better: "lower",
      bars: [
        { label: "CBM-GAN", value: scores.mean },
        { label: "Random set", value: random.mean },
        { label: "Pool k-means", value: blind.mean },
        { label: "Another target's delta", value: other.mean },
        { label: "GAN w/o best match", value: plainScores.mean },
      ],
    },
    grids: grid ? [grid] : [],
  });
}
