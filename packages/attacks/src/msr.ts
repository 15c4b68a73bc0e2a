/**
 * A_MSR, multi-sample reconstruction with CBM-GAN [code]:
 * - delta branch: attack encoder (delta -> 128 -> 64, LeakyReLU, dropout) then a linear dense
 *   64 -> 50 [choice: "encoder then dense to 50"]; trained with the generator.
 * - generator: input [noise (50) ; delta latent (50)] -> 2048 -> 2048 -> 2048 -> sampleSize, batch
 *   norm + ReLU on hidden layers; output "sigmoid" for samples on [0,1] [choice: the code's tanh on
 *   normalised pixels mixes scales, see PAPER.md], "linear" for standardised features.
 * - discriminator (never sees delta): sampleSize -> 1024 -> 512 -> 256 -> 1, batch norm [choice: on
 *   every hidden layer] + LeakyReLU 0.2, logit output.
 * - loss: non-saturating GAN loss (binary cross-entropy on logits) plus the best-match loss: for
 *   every real sample of the updating set, the squared distance to its nearest generated sample,
 *   averaged over the real samples. [code] Reduction [choice]: "sum" = squared L2 over features (the
 *   paper's ||x - x_hat||_2^2), "mean" = per-feature MSE; weight 1 [choice].
 * - Adam lr 2e-4, beta1 0.5 (beta2 0.999) for both nets. One step = one shadow updated model: its
 *   real set vs as many generated samples (same noise for the D and G updates of a step).
 * Inference: generate N samples for a target delta (20,000 in [code]), k-means with k = set size,
 * take the generated sample nearest each centroid. Score with `matchedMse` (Hungarian matching).
 * Checkpoints (`MsrAttackConfig.checkpoint`): the whole training state after every epoch, as bytes
 * (msr-checkpoint.ts: `MSR_CHECKPOINT_MAGIC`'s format); training given one continues at the next
 * epoch and ends with the nets of an uninterrupted run, bit for bit on the same backend. This file
 * collects the state from the nets and optimisers, restores it, and decides when to save and load.
 */
import { type Rng, tf } from "@updates-leak/core";
import { sameBits } from "@updates-leak/core/internal";
import { randomSet } from "./baselines.ts";
import {
  type DeltaPreprocessing,
  type DeltaScaler,
  ENCODER_DEFAULTS,
  type EncoderConfig,
  encoderSpecs,
  fitDeltaScaler,
} from "./encoder.ts";
import { type KMeansConfig, kmeans, nearestRows } from "./kmeans.ts";
import { matchedMse, meanStd } from "./metrics.ts";
import {
  type CheckpointTensor,
  canonicalJson,
  decodeMsrCheckpoint,
  encodeMsrCheckpoint,
  type GanEpochReport,
  identityDifferences,
  type MsrCheckpoint,
  MsrCheckpointError,
} from "./msr-checkpoint.ts";
import { type AdamConfig, type AdamState, AdamStep } from "./nn/adam.ts";
import { matMulT } from "./nn/layers.ts";
import { createMlp, disposeMlp, EVAL, type ForwardMode, type Mlp, mlpForward, mlpParams } from "./nn/mlp.ts";
import { predictInChunks } from "./nn/predict.ts";
import { checkRows, gatherRows } from "./nn/rows.ts";
import { LossTracker } from "./nn/train.ts";

/** The real updating set of shadow model i: [setSize, sampleSize] row-major. */
export type SetSource = (i: number) => Float32Array;

/** Sets stored as indices into a sample pool: set i = pool rows indices[i*setSize .. (i+1)*setSize). */
export function setsFromPool(
  pool: Float32Array,
  sampleSize: number,
  indices: Int32Array,
  setSize: number,
): SetSource {
  return (i) => {
    const out = new Float32Array(setSize * sampleSize);
    for (let j = 0; j < setSize; j++) {
      const r = indices[i * setSize + j];
      if (r === undefined) throw new Error(`setsFromPool: set ${i} is out of range`);
      out.set(pool.subarray(r * sampleSize, (r + 1) * sampleSize), j * sampleSize);
    }
    return out;
  };
}

/** Sets stored back to back in one array: set i = flat[i*setSize*sampleSize ...]. */
export function setsFromFlat(flat: Float32Array, setSize: number, sampleSize: number): SetSource {
  const w = setSize * sampleSize;
  return (i) => {
    if ((i + 1) * w > flat.length) throw new Error(`setsFromFlat: set ${i} is out of range`);
    return flat.subarray(i * w, (i + 1) * w);
  };
}

/**
 * CBM-GAN settings (see the file comment); `trainMsrAttack` merges a partial config shallowly over
 * MSR_DEFAULTS.
 */
export interface MsrAttackConfig {
  /** [code] 50 */
  noiseDim: number;
  /** [code] 50 */
  latentDim: number;
  encoder: EncoderConfig;
  /** Default "scale" [choice]: "standardize" blew A_LDE up on MNIST (see distribution.ts). */
  preprocessing: DeltaPreprocessing;
  /** [code] [2048, 2048, 2048] */
  generatorHidden: number[];
  /** [code] [1024, 512, 256] */
  discriminatorHidden: number[];
  /** [code] 0.2 */
  discriminatorSlope: number;
  /** [choice] true: batch norm on every discriminator hidden layer. */
  discriminatorBatchNorm: boolean;
  output: "sigmoid" | "linear" | "tanh";
  /** false: plain conditional GAN loss (the no-best-match baseline). */
  bestMatch: boolean;
  bestMatchWeight: number;
  bestMatchReduction: "sum" | "mean";
  /** Generated samples per updated model and step; 0 = the set size [code]. */
  fakesPerStep: number;
  /**
   * Shadow updated models per training step. [code] 1. With 1, every generated sample of a batch
   * shares one delta latent, so a batch norm right after the first dense layer subtracts the
   * latent's contribution (its batch mean) and the generator cannot condition on delta while
   * training; more models per step, or `generatorBatchNorm` "skipFirst", keep the condition.
   */
  modelsPerStep: number;
  /** Batch norm on the generator's hidden layers: "all" [code], "skipFirst" [choice], "none". */
  generatorBatchNorm: "all" | "skipFirst" | "none";
  /** Passes over the shadow models. [choice] 10 */
  epochs: number;
  /** [code] lr 2e-4, beta1 0.5 */
  adam: AdamConfig;
  /**
   * Generator batch norm when generating: "running" statistics [choice] or each chunk's own
   * batch statistics ("batch", as a generator left in training mode).
   */
  inferenceBatchNorm: "running" | "batch";
  onEpoch?: (r: GanEpochReport) => void;
  /** Save the training state after every epoch and resume from a saved one (`MsrCheckpointing`). */
  checkpoint?: MsrCheckpointing;
}

/**
 * Where `trainMsrAttack` saves its state after every epoch and finds a state to resume from. An
 * epoch depends only on the seed, its number and the state at its start (nets, batch norm
 * statistics, both optimisers), so training resumed from the state after epoch e ends with the nets
 * and history of an uninterrupted run, bit for bit on the same backend.
 */
export interface MsrCheckpointing {
  /**
   * What the training depends on beyond `trainMsrAttack`'s arguments and settings (e.g. the
   * experiment's config and a digest of the inputs). Recorded in the checkpoint with the settings,
   * sizes, seed and backend; a checkpoint recorded with anything else is refused
   * (`MsrCheckpointError`), never resumed.
   */
  key: string;
  /** Where the bytes are kept, for messages (the CLI: the file's path). */
  where: string;
  /** The bytes of the latest `save`, or null: training starts at epoch 1. */
  load(): Uint8Array | null;
  /** After every epoch (`epoch` counts from 1): the state after it. A throw ends the training. */
  save(bytes: Uint8Array, epoch: number): void;
  /** Called when a loaded state is taken up, with the number of epochs it had done. */
  restored?(epoch: number): void;
}

/**
 * CBM-GAN's defaults, as the authors' code [code] except where a field or the file comment says
 * [choice]: noise and latent 50, generator [2048, 2048, 2048], discriminator [1024, 512, 256],
 * "scale" preprocessing, sigmoid output, best-match loss ("sum", weight 1), 10 epochs, Adam lr 2e-4
 * beta1 0.5.
 */
export const MSR_DEFAULTS: MsrAttackConfig = {
  noiseDim: 50,
  latentDim: 50,
  encoder: ENCODER_DEFAULTS,
  preprocessing: "scale",
  generatorHidden: [2048, 2048, 2048],
  discriminatorHidden: [1024, 512, 256],
  discriminatorSlope: 0.2,
  discriminatorBatchNorm: true,
  output: "sigmoid",
  bestMatch: true,
  bestMatchWeight: 1,
  bestMatchReduction: "sum",
  fakesPerStep: 0,
  modelsPerStep: 1,
  generatorBatchNorm: "all",
  epochs: 10,
  adam: { lr: 2e-4, beta1: 0.5, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 },
  inferenceBatchNorm: "running",
};

/**
 * How `MsrAttack.reconstructSet` picks a set: `samples` generated for the delta, `chunk` per
 * generator pass, then k-means with these settings.
 */
export interface InferenceOptions {
  /** Generated samples per target delta. [code] 20,000 */
  samples: number;
  /** Samples per generator forward pass. */
  chunk: number;
  kmeans: Partial<KMeansConfig>;
}

/** 20,000 generated samples per target delta [code], 2,000 per generator pass, k-means defaults. */
export const INFERENCE_DEFAULTS: InferenceOptions = { samples: 20000, chunk: 2000, kmeans: {} };

/**
 * A trained CBM-GAN (`trainMsrAttack`): generates samples conditioned on one raw delta and
 * reconstructs an updating set from them (`reconstructSet` throws if `samples` < k). `dispose`
 * frees the three nets.
 */
export interface MsrAttack {
  deltaSize: number;
  sampleSize: number;
  scaler: DeltaScaler;
  history: GanEpochReport[];
  /** `count` samples generated for one raw delta [deltaSize], [count, sampleSize]. */
  generate(delta: Float32Array, count: number, rng: Rng, chunk?: number): Float32Array;
  /** The k representatives for one raw delta (k-means over generated samples), [k, sampleSize]. */
  reconstructSet(delta: Float32Array, k: number, rng: Rng, opts?: Partial<InferenceOptions>): Float32Array;
  dispose(): void;
}

interface Nets {
  delta: Mlp;
  gen: Mlp;
  disc: Mlp;
}

/** Numerically stable binary cross-entropy on logits: mean softplus(-z) (target 1) or softplus(z) (target 0). */
export function bceWithLogits(logits: tf.Tensor2D, target: 0 | 1): tf.Scalar {
  return tf.mean(tf.softplus(target === 1 ? tf.neg(logits) : logits)) as tf.Scalar;
}

/**
 * Best-match loss: for each real row, the squared distance to its nearest fake row of the same
 * group, averaged over the real rows; "mean" divides by the number of features. With `groups` g,
 * real rows and fake rows are each g equal consecutive blocks (one block per updated model).
 */
export function bestMatchLoss(
  real: tf.Tensor2D,
  fake: tf.Tensor2D,
  reduction: "sum" | "mean",
  groups = 1,
): tf.Scalar {
  const nr = real.shape[0];
  const nf = fake.shape[0];
  if (nr % groups !== 0 || nf % groups !== 0) {
    throw new Error(`bestMatchLoss: ${nr} real and ${nf} fake rows do not split into ${groups} groups`);
  }
  const rr = tf.sum(tf.square(real), 1, true);
  const ff = tf.reshape(tf.sum(tf.square(fake), 1), [1, nf]);
  const cross = matMulT(real, tf.transpose(fake));
  let d2 = tf.relu(tf.add(tf.sub(rr, tf.mul(cross, 2)), ff));
  if (groups > 1) {
    const mask = new Float32Array(nr * nf);
    const gr = nr / groups;
    const gf = nf / groups;
    for (let i = 0; i < nr; i++)
      for (let j = 0; j < nf; j++) if (Math.floor(i / gr) !== Math.floor(j / gf)) mask[i * nf + j] = 1e30;
    d2 = tf.add(d2, tf.tensor2d(mask, [nr, nf]));
  }
  const m = tf.mean(tf.min(d2, 1)) as tf.Scalar;
  return reduction === "mean" ? (tf.div(m, real.shape[1]) as tf.Scalar) : m;
}

/** deltas [g, deltaSize], noise [g * f, noiseDim]: f samples per delta, grouped by delta. */
function generateWith(
  nets: Nets,
  deltas: tf.Tensor2D,
  noise: tf.Tensor2D,
  deltaRng: Rng | null,
  mode: ForwardMode,
): tf.Tensor2D {
  const g = deltas.shape[0];
  const f = noise.shape[0] / g;
  const lat = mlpForward(nets.delta, deltas, { rng: deltaRng, batchStats: false, updateStats: false }, true);
  const l = lat.shape[1];
  const tiled: tf.Tensor2D =
    g === 1 ? tf.tile(lat, [f, 1]) : tf.reshape(tf.tile(tf.reshape(lat, [g, 1, l]), [1, f, 1]), [g * f, l]);
  return mlpForward(nets.gen, tf.concat([noise, tiled], 1), mode);
}

/** Generated samples per step and shadow models per step, checked. */
function checkGanConfig(c: MsrAttackConfig, setSize: number): { fakes: number; modelsPerStep: number } {
  if (!Number.isInteger(c.epochs) || c.epochs < 0)
    throw new Error(`MsrAttackConfig.epochs must be a non-negative integer, got ${c.epochs}`);
  const fakes = c.fakesPerStep > 0 ? c.fakesPerStep : setSize;
  if (fakes < 2)
    throw new Error(`trainMsrAttack: batch norm needs at least 2 generated samples per step, got ${fakes}`);
  const g = c.modelsPerStep;
  if (!Number.isInteger(g) || g < 1)
    throw new Error(`MsrAttackConfig.modelsPerStep must be a positive integer, got ${g}`);
  return { fakes, modelsPerStep: g };
}

/** The three untrained nets: delta branch, generator, discriminator. */
function createGanNets(irng: Rng, deltaSize: number, sampleSize: number, c: MsrAttackConfig): Nets {
  return {
    delta: createMlp(irng.fork("delta"), deltaSize, [
      ...encoderSpecs(c.encoder),
      { units: c.latentDim, activation: "linear", init: "glorot" },
    ]),
    gen: createMlp(irng.fork("gen"), c.noiseDim + c.latentDim, [
      ...c.generatorHidden.map((units, li) => ({
        units,
        activation: "relu" as const,
        batchNorm: c.generatorBatchNorm === "all" || (c.generatorBatchNorm === "skipFirst" && li > 0),
      })),
      { units: sampleSize, activation: c.output, init: "glorot" as const },
    ]),
    disc: createMlp(irng.fork("disc"), sampleSize, [
      ...c.discriminatorHidden.map((units) => ({
        units,
        activation: { leakyRelu: c.discriminatorSlope },
        batchNorm: c.discriminatorBatchNorm,
      })),
      { units: 1, activation: "linear" as const, init: "glorot" as const },
    ]),
  };
}

function disposeNets(nets: Nets): void {
  disposeMlp(nets.delta);
  disposeMlp(nets.gen);
  disposeMlp(nets.disc);
}

/** What the training steps share: the nets, the scaled deltas, the optimisers and loss trackers. */
interface GanTraining {
  c: MsrAttackConfig;
  nets: Nets;
  /** Preprocessed shadow deltas [n, deltaSize]. */
  x: Float32Array;
  n: number;
  deltaSize: number;
  sets: SetSource;
  setSize: number;
  sampleSize: number;
  fakes: number;
  modelsPerStep: number;
  dAdam: AdamStep;
  gAdam: AdamStep;
  dT: LossTracker;
  gT: LossTracker;
  bT: LossTracker;
}

const TRAIN_BN: ForwardMode = { rng: null, batchStats: true, updateStats: true };
const BATCH_ONLY: ForwardMode = { rng: null, batchStats: true, updateStats: false };

/** The real sets of shadow models `idx`, stacked: [idx.length * setSize, sampleSize]. */
function realSets(t: GanTraining, idx: Int32Array): Float32Array {
  const { setSize, sampleSize } = t;
  const realData = new Float32Array(idx.length * setSize * sampleSize);
  for (let j = 0; j < idx.length; j++) {
    const i = idx[j] as number;
    const one = t.sets(i);
    checkRows(`trainMsrAttack sets(${i})`, one, setSize, sampleSize);
    realData.set(one, j * setSize * sampleSize);
  }
  return realData;
}

/**
 * One step on the shadow models `idx`: a discriminator update on their real sets against generated
 * ones, then a generator update with the same noise and dropout masks.
 */
function ganStep(t: GanTraining, idx: Int32Array, epoch: number, step: number, srng: Rng): void {
  const { c, nets, fakes } = t;
  const gs = idx.length;
  const real = tf.tensor2d(realSets(t, idx), [gs * t.setSize, t.sampleSize]);
  const delta = tf.tensor2d(gatherRows(t.x, t.deltaSize, idx), [gs, t.deltaSize]);
  const noise = tf.tensor2d(srng.normals(gs * fakes * c.noiseDim), [gs * fakes, c.noiseDim]);
  const dropSeed = srng.nextU32();
  try {
    const fake = tf.tidy(() => generateWith(nets, delta, noise, srng.fork(dropSeed), BATCH_ONLY));
    const dLoss = t.dAdam.step(() =>
      tf.add(
        bceWithLogits(mlpForward(nets.disc, real, TRAIN_BN), 1),
        bceWithLogits(mlpForward(nets.disc, fake, TRAIN_BN), 0),
      ),
    );
    fake.dispose();
    t.dT.add(epoch, step, dLoss);
    const bm: { t: tf.Scalar | null } = { t: null };
    const gLoss = t.gAdam.step(() => {
      const f = generateWith(nets, delta, noise, srng.fork(dropSeed), TRAIN_BN);
      const adv = bceWithLogits(mlpForward(nets.disc, f, BATCH_ONLY), 1);
      const b = bestMatchLoss(real, f, c.bestMatchReduction, gs);
      bm.t = tf.keep(b);
      return c.bestMatch ? tf.add(adv, tf.mul(b, c.bestMatchWeight)) : adv;
    });
    t.gT.add(epoch, step, gLoss);
    if (bm.t) t.bT.add(epoch, step, bm.t);
  } finally {
    tf.dispose([real, delta, noise]);
  }
}

/** One pass over the shadow models, `modelsPerStep` at a time, in a seeded order. */
function ganEpoch(t: GanTraining, rng: Rng, epoch: number): GanEpochReport {
  const t0 = performance.now();
  const erng = rng.fork("epoch", epoch);
  const perm = erng.permutation(t.n);
  let step = 0;
  for (let s0 = 0; s0 < t.n; s0 += t.modelsPerStep) {
    step++;
    const idx = perm.subarray(s0, Math.min(t.n, s0 + t.modelsPerStep));
    ganStep(t, idx, epoch, step, erng.fork("step", step));
  }
  return {
    epoch,
    epochs: t.c.epochs,
    dLoss: t.dT.take(epoch),
    gLoss: t.gT.take(epoch),
    bestMatch: t.bT.take(epoch),
    seconds: (performance.now() - t0) / 1000,
  };
}

/** What a training with checkpoints depends on (`MsrCheckpoint.identity`). */
function trainingIdentity(
  key: string,
  c: MsrAttackConfig,
  sizes: { n: number; deltaSize: number; setSize: number; sampleSize: number },
  rng: Rng,
): string {
  const settings = Object.fromEntries(
    Object.entries(c).filter(([k, v]) => k !== "checkpoint" && typeof v !== "function"),
  );
  return canonicalJson({ key, settings, ...sizes, seed: rng.seed, backend: tf.getBackend() });
}

/** The nets' variables in checkpoint order, with their checkpoint names. */
function netVariables(nets: Nets): { name: string; v: tf.Variable }[] {
  const out: { name: string; v: tf.Variable }[] = [];
  for (const net of ["delta", "gen", "disc"] as const) {
    nets[net].layers.forEach((l, i) => {
      out.push({ name: `${net}.${i}.w`, v: l.dense.w }, { name: `${net}.${i}.b`, v: l.dense.b });
      if (l.bn) {
        out.push(
          { name: `${net}.${i}.bn.gamma`, v: l.bn.gamma },
          { name: `${net}.${i}.bn.beta`, v: l.bn.beta },
          { name: `${net}.${i}.bn.runningMean`, v: l.bn.runningMean },
          { name: `${net}.${i}.bn.runningVar`, v: l.bn.runningVar },
        );
      }
    });
  }
  return out;
}

/** The optimisers in checkpoint order. */
function optimisers(t: GanTraining): [["d", AdamStep], ["g", AdamStep]] {
  return [
    ["d", t.dAdam],
    ["g", t.gAdam],
  ];
}

/**
 * The training state after `epoch` epochs as bytes (`encodeMsrCheckpoint`): the nets' variables,
 * both optimisers' moments, the fitted scaler. Only reads the state: no random draw, no op on the
 * nets.
 */
function checkpointBytes(
  t: GanTraining,
  identity: string,
  epoch: number,
  history: GanEpochReport[],
  scaler: DeltaScaler,
): Uint8Array {
  const tensors: CheckpointTensor[] = netVariables(t.nets).map(({ name, v }) => ({
    name,
    shape: v.shape.slice(),
    data: v.dataSync() as Float32Array,
  }));
  const adam = {} as MsrCheckpoint["adam"];
  for (const [opt, step] of optimisers(t)) {
    const st = step.state();
    adam[opt] = { t: st.t, lr: st.lr };
    st.moments.forEach(({ m, v }, j) => {
      const shape = (step.params[j] as tf.Variable).shape.slice();
      tensors.push(
        { name: `adam.${opt}.${j}.m`, shape, data: m },
        { name: `adam.${opt}.${j}.v`, shape, data: v },
      );
    });
  }
  tensors.push(
    { name: "scaler.mean", shape: [scaler.mean.length], data: scaler.mean },
    { name: "scaler.std", shape: [scaler.std.length], data: scaler.std },
  );
  return encodeMsrCheckpoint({ identity, epoch, epochs: t.c.epochs, history, adam, tensors });
}

/** The checkpoint `hook` holds, decoded and checked against this training; null when there is none. */
function loadCheckpoint(hook: MsrCheckpointing, identity: string, scaler: DeltaScaler): MsrCheckpoint | null {
  const bytes = hook.load();
  if (bytes === null) return null;
  const ck = decodeMsrCheckpoint(bytes, hook.where);
  if (ck.identity !== identity) {
    const diff = identityDifferences(ck.identity, identity);
    throw new MsrCheckpointError(
      hook.where,
      `saved by another training (${diff.slice(0, 4).join("; ") || "different identity"}${diff.length > 4 ? `; ${diff.length - 4} more` : ""}); ` +
        "resume with the settings it was saved with, or delete it to train from epoch 1",
    );
  }
  const same = (name: string, want: Float32Array) => {
    const got = ck.tensors.find((x) => x.name === name)?.data;
    return got !== undefined && sameBits(got, want);
  };
  if (!same("scaler.mean", scaler.mean) || !same("scaler.std", scaler.std)) {
    throw new MsrCheckpointError(
      hook.where,
      "saved on other shadow deltas (the delta preprocessing fitted on them differs); delete it to train from epoch 1",
    );
  }
  return ck;
}

/**
 * Puts a checkpoint's state into a training whose nets and optimisers are fresh: every tensor is
 * checked (name, shape) before anything is assigned.
 */
function restoreTraining(t: GanTraining, ck: MsrCheckpoint, where: string): void {
  const byName = new Map(ck.tensors.map((x) => [x.name, x]));
  const take = (name: string, shape: readonly number[]): Float32Array => {
    const x = byName.get(name);
    if (!x || x.shape.join(",") !== shape.join(",")) {
      throw new MsrCheckpointError(
        where,
        `its ${name} ${x ? `has shape [${x.shape}]` : "is missing"}, this training has [${shape}]; delete it to train from epoch 1`,
      );
    }
    byName.delete(name);
    return x.data;
  };
  const vars = netVariables(t.nets).map(({ name, v }) => ({ v, data: take(name, v.shape) }));
  const states = optimisers(t).map(([opt, step]): [AdamStep, AdamState] => [
    step,
    {
      ...ck.adam[opt],
      moments: step.params.map((p, j) => ({
        m: take(`adam.${opt}.${j}.m`, p.shape),
        v: take(`adam.${opt}.${j}.v`, p.shape),
      })),
    },
  ]);
  byName.delete("scaler.mean");
  byName.delete("scaler.std");
  if (byName.size > 0) {
    throw new MsrCheckpointError(
      where,
      `holds tensors this training does not have (${[...byName.keys()].slice(0, 3).join(", ")}); delete it to train from epoch 1`,
    );
  }
  for (const { v, data } of vars) {
    const value = tf.tensor(data.slice(), v.shape, "float32");
    v.assign(value);
    value.dispose();
  }
  for (const [step, st] of states) step.restore(st);
}

/** Checkpointing of one training: the hook, its identity, the fitted scaler, the state loaded. */
interface Resume {
  hook: MsrCheckpointing;
  identity: string;
  scaler: DeltaScaler;
  saved: MsrCheckpoint | null;
}

/**
 * Trains the nets for `c.epochs` epochs (from the epoch after `resume.saved`'s, whose state it
 * takes up; saving the state after each epoch); frees the optimisers and trackers, not the nets.
 */
function trainGan(
  base: Omit<GanTraining, "dAdam" | "gAdam" | "dT" | "gT" | "bT">,
  rng: Rng,
  resume: Resume | null,
): GanEpochReport[] {
  const { nets, c } = base;
  const t: GanTraining = {
    ...base,
    dAdam: new AdamStep(mlpParams(nets.disc), c.adam),
    gAdam: new AdamStep([...mlpParams(nets.delta), ...mlpParams(nets.gen)], c.adam),
    dT: new LossTracker("CBM-GAN discriminator"),
    gT: new LossTracker("CBM-GAN generator"),
    bT: new LossTracker("CBM-GAN best match"),
  };
  let history: GanEpochReport[] = [];
  try {
    let done = 0;
    if (resume?.saved) {
      restoreTraining(t, resume.saved, resume.hook.where);
      history = resume.saved.history.map((r) => ({ ...r }));
      done = resume.saved.epoch;
      resume.hook.restored?.(done);
    }
    for (let epoch = done + 1; epoch <= c.epochs; epoch++) {
      const report = ganEpoch(t, rng, epoch);
      history.push(report);
      // The report first, then the state: a stop between the two repeats the epoch on resume
      // (its report twice, the same numbers), rather than lose its report.
      c.onEpoch?.(report);
      if (resume) resume.hook.save(checkpointBytes(t, resume.identity, epoch, history, resume.scaler), epoch);
    }
  } finally {
    t.dT.dispose();
    t.gT.dispose();
    t.bT.dispose();
    t.dAdam.dispose();
    t.gAdam.dispose();
  }
  return history;
}

/**
 * Trains CBM-GAN on shadow deltas [n, deltaSize] and their real updating sets (`sets(i)`, each
 * [setSize, sampleSize] on the scale the output activation produces). `cfg` is merged shallowly.
 */
export function trainMsrAttack(
  deltas: Float32Array,
  n: number,
  deltaSize: number,
  sets: SetSource,
  setSize: number,
  sampleSize: number,
  rng: Rng,
  cfg: Partial<MsrAttackConfig> = {},
): MsrAttack {
  const c: MsrAttackConfig = { ...MSR_DEFAULTS, ...cfg };
  checkRows("trainMsrAttack deltas", deltas, n, deltaSize);
  const { fakes, modelsPerStep } = checkGanConfig(c, setSize);
  const scaler = fitDeltaScaler(c.preprocessing, deltas, n, deltaSize);
  const x = scaler.apply(deltas, n);
  let resume: Resume | null = null;
  if (c.checkpoint) {
    const identity = trainingIdentity(c.checkpoint.key, c, { n, deltaSize, setSize, sampleSize }, rng);
    resume = { hook: c.checkpoint, identity, scaler, saved: loadCheckpoint(c.checkpoint, identity, scaler) };
  }
  // Made (their initial weights drawn) even when a checkpoint replaces them: it draws nothing from
  // `rng` itself (a fork is a pure function of the seed), so nothing downstream changes.
  const nets = createGanNets(rng.fork("init"), deltaSize, sampleSize, c);
  let history: GanEpochReport[];
  try {
    const base = { c, nets, x, n, deltaSize, sets, setSize, sampleSize, fakes, modelsPerStep };
    history = trainGan(base, rng, resume);
  } catch (e) {
    disposeNets(nets);
    throw e;
  }
  return trainedMsrAttack(nets, scaler, c, sampleSize, history);
}

/** Generation and set reconstruction with trained nets. */
function trainedMsrAttack(
  nets: Nets,
  scaler: DeltaScaler,
  c: MsrAttackConfig,
  sampleSize: number,
  history: GanEpochReport[],
): MsrAttack {
  const deltaSize = scaler.deltaSize;
  const genMode: ForwardMode =
    c.inferenceBatchNorm === "batch" ? { rng: null, batchStats: true, updateStats: false } : EVAL;
  const generate = (
    delta: Float32Array,
    count: number,
    grng: Rng,
    chunk = INFERENCE_DEFAULTS.chunk,
  ): Float32Array => {
    checkRows("MsrAttack.generate delta", delta, 1, deltaSize);
    const xs = scaler.apply(delta, 1);
    return predictInChunks(count, sampleSize, chunk, (_start, m) =>
      generateWith(
        nets,
        tf.tensor2d(xs, [1, deltaSize]),
        tf.tensor2d(grng.normals(m * c.noiseDim), [m, c.noiseDim]),
        null,
        genMode,
      ),
    );
  };
  return {
    deltaSize,
    sampleSize,
    scaler,
    history,
    generate,
    reconstructSet(delta, k, grng, opts = {}) {
      const o: InferenceOptions = { ...INFERENCE_DEFAULTS, ...opts };
      if (o.samples < k)
        throw new Error(`MsrAttack.reconstructSet: samples (${o.samples}) must be at least k (${k})`);
      const gen = generate(delta, o.samples, grng.fork("noise"), o.chunk);
      return representatives(gen, o.samples, sampleSize, k, grng.fork("kmeans"), o.kmeans);
    },
    dispose: () => disposeNets(nets),
  };
}

/** Matched MSE of set reconstructions (`scoreSets`): per target set, and its mean and sample std. */
export interface MsrScores {
  /** Matched mean per-sample MSE of each target set. */
  perSet: Float64Array;
  mean: number;
  std: number;
}

/**
 * Scores a set reconstructor on n target sets: for each i, `reconstruct(i)` gives k samples
 * [k, sampleSize], matched one-to-one to `sets(i)` (Hungarian), mean per-sample MSE.
 */
export function scoreSets(
  n: number,
  k: number,
  sampleSize: number,
  sets: SetSource,
  reconstruct: (i: number) => Float32Array,
): MsrScores {
  const perSet = new Float64Array(n);
  for (let i = 0; i < n; i++) perSet[i] = matchedMse(sets(i), reconstruct(i), k, sampleSize).mse;
  const ms = meanStd(perSet);
  return { perSet, mean: ms.mean, std: ms.std };
}

/** CBM-GAN on n target deltas [n, deltaSize]. */
export function evaluateMsrAttack(
  gan: MsrAttack,
  deltas: Float32Array,
  n: number,
  sets: SetSource,
  k: number,
  rng: Rng,
  opts: Partial<InferenceOptions> = {},
): MsrScores {
  checkRows("evaluateMsrAttack deltas", deltas, n, gan.deltaSize);
  const d = gan.deltaSize;
  return scoreSets(n, k, gan.sampleSize, sets, (i) =>
    gan.reconstructSet(deltas.subarray(i * d, (i + 1) * d), k, rng.fork("target", i), opts),
  );
}

/**
 * How A_MSR turns many samples into a set of k: k-means over the m rows, then the row nearest each
 * centroid, [k, sampleSize].
 */
export function representatives(
  rows: Float32Array,
  m: number,
  sampleSize: number,
  k: number,
  rng: Rng,
  kmeansCfg: Partial<KMeansConfig> = {},
): Float32Array {
  const km = kmeans(rows, m, sampleSize, k, rng, kmeansCfg);
  return gatherRows(rows, sampleSize, nearestRows(rows, m, sampleSize, km.centroids, k));
}

/**
 * A_MSR's delta-blind baseline: the attack's own inference (`representatives`) run on
 * `inference.samples` random pool rows (without replacement) instead of generated ones. It sees no
 * delta, so it is one set, scored against every target set of `sets` (n sets of k): what the
 * attack gets from the pool's structure alone.
 */
export function poolKmeansBaseline(
  pool: { rows: Float32Array; count: number; sampleSize: number },
  sets: SetSource,
  n: number,
  k: number,
  inference: { samples: number; rng: Rng; kmeans?: Partial<KMeansConfig> },
): MsrScores {
  const { rows, count, sampleSize } = pool;
  checkRows("poolKmeansBaseline pool", rows, count, sampleSize);
  const m = Math.min(inference.samples, count);
  const drawn = gatherRows(rows, sampleSize, inference.rng.fork("rows").sample(count, m));
  const set = representatives(drawn, m, sampleSize, k, inference.rng.fork("kmeans"), inference.kmeans);
  return scoreSets(n, k, sampleSize, sets, () => set);
}

/** The A_MSR baseline: k random pool samples per target set, matched the same way. */
export function randomSetBaseline(
  pool: Float32Array,
  poolCount: number,
  sampleSize: number,
  n: number,
  sets: SetSource,
  k: number,
  rng: Rng,
): MsrScores {
  return scoreSets(n, k, sampleSize, sets, (i) =>
    randomSet(rng.fork("set", i), pool, poolCount, sampleSize, k),
  );
}
