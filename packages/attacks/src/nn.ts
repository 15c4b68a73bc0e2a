/**
 * Tiny functional neural-network layers with explicit parameter tensors, and a seeded minibatch
 * training loop. Every attack model (encoder, decoders, autoencoder, CBM-GAN) is built from these.
 *
 * Reproducibility: all randomness (initial weights, dropout masks, shuffling, GAN noise) is drawn
 * from a seeded `Rng` in TypeScript and uploaded; nothing calls `tf.random*`. Adam is deterministic,
 * so a given seed on a given backend gives the same run.
 *
 * Speed: `matMulT` is a dense product whose gradient uses explicit transposes, because tfjs-wasm's
 * BatchMatMul takes a slow path with `transposeA`/`transposeB` (measured 2.4x faster per training
 * step of a 1000 -> 128 -> 64 MLP, batch 64).
 */
import { adamUpdate, type Rng, takeRows, tf } from "@updates-leak/core";

type T2 = tf.Tensor2D;

/** x @ w with a gradient that transposes explicitly (see the file comment). */
export const matMulT: (x: T2, w: T2) => T2 = tf.customGrad(
  // biome-ignore lint/suspicious/noExplicitAny: tfjs customGrad's signature is untyped varargs
  ((x: T2, w: T2, save: tf.GradSaveFunc): any => {
    save([x, w]);
    return {
      value: tf.matMul(x, w),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as [T2, T2];
        return [tf.matMul(dy as T2, tf.transpose(sw)), tf.matMul(tf.transpose(sx), dy as T2)];
      },
    };
    // biome-ignore lint/suspicious/noExplicitAny: see above
  }) as any,
) as unknown as (x: T2, w: T2) => T2;

/**
 * x @ w for a data input x that needs no gradient: the gradient flows to w only. x is captured,
 * not an input of the custom op, because tfjs evaluates a custom gradient for every input (the
 * unused x gradient of A_LI's first layer was a third of its step's matMul work).
 */
export function matMulDataT(x: T2, w: T2): T2 {
  const f = tf.customGrad(((wt: T2, save: tf.GradSaveFunc) => {
    // Saved, not merely captured: the forward pass's tidy would dispose it before backprop.
    save([x]);
    return {
      value: tf.matMul(x, wt),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.matMul(tf.transpose(saved[0] as T2), dy as T2)],
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (w: T2) => T2;
  return f(w);
}

// ---------------------------------------------------------------------------------------------
// Initialisation

/**
 * Weight initialisation of a dense layer (biases start at zero, except "torch").
 * - "he": normal, std sqrt(2 / fanIn) (for ReLU-like activations).
 * - "glorot": uniform on +-sqrt(6 / (fanIn + fanOut)).
 * - "torch": PyTorch's nn.Linear default, weights and biases uniform on +-1/sqrt(fanIn).
 */
export type InitName = "he" | "glorot" | "torch";

export function initWeights(rng: Rng, fanIn: number, fanOut: number, init: InitName): Float32Array {
  const w = new Float32Array(fanIn * fanOut);
  if (init === "he") {
    const std = Math.sqrt(2 / fanIn);
    for (let i = 0; i < w.length; i++) w[i] = rng.normal() * std;
  } else {
    const limit = init === "glorot" ? Math.sqrt(6 / (fanIn + fanOut)) : 1 / Math.sqrt(fanIn);
    for (let i = 0; i < w.length; i++) w[i] = (rng.next() * 2 - 1) * limit;
  }
  return w;
}

// ---------------------------------------------------------------------------------------------
// Layers

export interface DenseLayer {
  inDim: number;
  outDim: number;
  /** [inDim, outDim] */
  w: tf.Variable<tf.Rank.R2>;
  /** [outDim] */
  b: tf.Variable<tf.Rank.R1>;
}

/** A variable holding `init`'s values; disposes `init` (tf.variable alone would keep both alive). */
export function newVariable<R extends tf.Rank>(init: tf.Tensor<R>, trainable = true): tf.Variable<R> {
  const v = tf.variable(init, trainable);
  init.dispose();
  return v;
}

export function createDense(rng: Rng, inDim: number, outDim: number, init: InitName = "he"): DenseLayer {
  if (!Number.isInteger(inDim) || inDim < 1 || !Number.isInteger(outDim) || outDim < 1) {
    throw new Error(`createDense: inDim and outDim must be positive integers, got ${inDim} -> ${outDim}`);
  }
  const w = initWeights(rng, inDim, outDim, init);
  const b = new Float32Array(outDim);
  if (init === "torch") {
    const limit = 1 / Math.sqrt(inDim);
    for (let i = 0; i < outDim; i++) b[i] = (rng.next() * 2 - 1) * limit;
  }
  return {
    inDim,
    outDim,
    w: newVariable(tf.tensor2d(w, [inDim, outDim])) as tf.Variable<tf.Rank.R2>,
    b: newVariable(tf.tensor1d(b)) as tf.Variable<tf.Rank.R1>,
  };
}

/** x @ w + b; `dataInput`: x is data that needs no gradient (see matMulDataT). */
export function dense(layer: DenseLayer, x: T2, dataInput = false): T2 {
  return tf.add(dataInput ? matMulDataT(x, layer.w) : matMulT(x, layer.w), layer.b);
}

/** Batch normalisation over the batch axis, PyTorch semantics (momentum 0.1, unbiased running var). */
export interface BatchNormLayer {
  dim: number;
  gamma: tf.Variable<tf.Rank.R1>;
  beta: tf.Variable<tf.Rank.R1>;
  /** Not trainable; updated in training mode. */
  runningMean: tf.Variable<tf.Rank.R1>;
  runningVar: tf.Variable<tf.Rank.R1>;
  momentum: number;
  epsilon: number;
}

export function createBatchNorm(dim: number, momentum = 0.1, epsilon = 1e-5): BatchNormLayer {
  return {
    dim,
    gamma: newVariable(tf.ones([dim]) as tf.Tensor1D),
    beta: newVariable(tf.zeros([dim]) as tf.Tensor1D),
    runningMean: newVariable(tf.zeros([dim]) as tf.Tensor1D, false),
    runningVar: newVariable(tf.ones([dim]) as tf.Tensor1D, false),
    momentum,
    epsilon,
  };
}

/**
 * `batchStats`: normalise with this batch's statistics (training), else with the running ones.
 * `updateStats`: fold this batch's statistics into the running ones (only with batchStats).
 */
export function batchNorm(layer: BatchNormLayer, x: T2, batchStats: boolean, updateStats: boolean): T2 {
  if (!batchStats) {
    const inv = tf.rsqrt(tf.add(layer.runningVar, layer.epsilon));
    return tf.add(tf.mul(tf.mul(tf.sub(x, layer.runningMean), inv), layer.gamma), layer.beta);
  }
  const { mean, variance } = tf.moments(x, 0);
  if (updateStats) {
    const n = x.shape[0];
    const m = layer.momentum;
    const unbiased = n > 1 ? tf.mul(variance, n / (n - 1)) : variance;
    layer.runningMean.assign(tf.add(tf.mul(layer.runningMean, 1 - m), tf.mul(mean, m)) as tf.Tensor1D);
    layer.runningVar.assign(tf.add(tf.mul(layer.runningVar, 1 - m), tf.mul(unbiased, m)) as tf.Tensor1D);
  }
  const inv = tf.rsqrt(tf.add(variance, layer.epsilon));
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), inv), layer.gamma), layer.beta);
}

/** A dropout keep-mask scaled by 1/(1-rate), drawn from the Rng and uploaded. */
export function dropoutMask(rng: Rng, shape: [number, number], rate: number): T2 {
  if (!(rate >= 0 && rate < 1)) throw new Error(`dropout: rate must be in [0, 1), got ${rate}`);
  const size = shape[0] * shape[1];
  const mask = new Float32Array(size);
  const keep = 1 / (1 - rate);
  for (let i = 0; i < size; i++) mask[i] = rng.next() >= rate ? keep : 0;
  return tf.tensor2d(mask, shape);
}

/** Inverted dropout; identity when rng is null (inference) or rate is 0. */
export function dropout(x: T2, rate: number, rng: Rng | null): T2 {
  if (rng === null || rate === 0) return x;
  return tf.mul(x, dropoutMask(rng, [x.shape[0], x.shape[1]], rate));
}

export type Activation = "linear" | "relu" | "sigmoid" | "tanh" | { leakyRelu: number };

export function activate(x: T2, act: Activation): T2 {
  if (act === "linear") return x;
  if (act === "relu") return tf.relu(x);
  if (act === "sigmoid") return tf.sigmoid(x);
  if (act === "tanh") return tf.tanh(x);
  return tf.leakyRelu(x, act.leakyRelu);
}

// ---------------------------------------------------------------------------------------------
// MLP: a stack of dense -> [batch norm] -> activation -> [dropout] layers

export interface LayerSpec {
  units: number;
  activation: Activation;
  /** Dropout rate after the activation (training mode only). */
  dropout?: number;
  batchNorm?: boolean;
  init?: InitName;
}

export interface MlpLayer {
  dense: DenseLayer;
  bn: BatchNormLayer | null;
  activation: Activation;
  dropout: number;
}

export interface Mlp {
  inDim: number;
  outDim: number;
  layers: MlpLayer[];
}

/**
 * How a forward pass runs. `rng` non-null turns dropout on (training). `batchStats` normalises with
 * batch statistics; `updateStats` also updates the running ones. Defaults: eval mode.
 */
export interface ForwardMode {
  rng: Rng | null;
  batchStats: boolean;
  updateStats: boolean;
}

export const EVAL: ForwardMode = { rng: null, batchStats: false, updateStats: false };

export function trainMode(rng: Rng): ForwardMode {
  return { rng, batchStats: true, updateStats: true };
}

export function createMlp(
  rng: Rng,
  inDim: number,
  specs: readonly LayerSpec[],
  defaultInit: InitName = "he",
): Mlp {
  if (specs.length === 0) throw new Error("createMlp: specs must list at least one layer");
  const layers: MlpLayer[] = [];
  let d = inDim;
  for (const s of specs) {
    layers.push({
      dense: createDense(rng, d, s.units, s.init ?? defaultInit),
      bn: s.batchNorm ? createBatchNorm(s.units) : null,
      activation: s.activation,
      dropout: s.dropout ?? 0,
    });
    d = s.units;
  }
  return { inDim, outDim: d, layers };
}

/**
 * The MLP's output. `dataInput`: x is data (deltas, images), not a function of trainable values,
 * so the first layer skips the input gradient; leave it false when x comes from another network.
 */
export function mlpForward(mlp: Mlp, x: T2, mode: ForwardMode = EVAL, dataInput = false): T2 {
  if (x.shape[1] !== mlp.inDim) {
    throw new Error(`mlpForward: input has ${x.shape[1]} features, the network expects ${mlp.inDim}`);
  }
  let h = x;
  mlp.layers.forEach((l, i) => {
    h = dense(l.dense, h, dataInput && i === 0);
    if (l.bn) h = batchNorm(l.bn, h, mode.batchStats, mode.updateStats);
    h = activate(h, l.activation);
    h = dropout(h, l.dropout, mode.rng);
  });
  return h;
}

/** Trainable parameters, in layer order. */
export function mlpParams(mlp: Mlp): tf.Variable[] {
  const out: tf.Variable[] = [];
  for (const l of mlp.layers) {
    out.push(l.dense.w, l.dense.b);
    if (l.bn) out.push(l.bn.gamma, l.bn.beta);
  }
  return out;
}

/** All variables (trainable and running statistics). */
function mlpVariables(mlp: Mlp): tf.Variable[] {
  const out = mlpParams(mlp);
  for (const l of mlp.layers) if (l.bn) out.push(l.bn.runningMean, l.bn.runningVar);
  return out;
}

export function disposeMlp(mlp: Mlp): void {
  for (const v of mlpVariables(mlp)) v.dispose();
}

/** A deep copy with fresh variables (e.g. to transfer a pretrained decoder into an attack). */
export function cloneMlp(mlp: Mlp): Mlp {
  const cv = <R extends tf.Rank>(v: tf.Variable<R>, trainable: boolean) =>
    newVariable(tf.clone(v), trainable);
  return {
    inDim: mlp.inDim,
    outDim: mlp.outDim,
    layers: mlp.layers.map((l) => ({
      dense: { inDim: l.dense.inDim, outDim: l.dense.outDim, w: cv(l.dense.w, true), b: cv(l.dense.b, true) },
      bn: l.bn
        ? {
            ...l.bn,
            gamma: cv(l.bn.gamma, true),
            beta: cv(l.bn.beta, true),
            runningMean: cv(l.bn.runningMean, false),
            runningVar: cv(l.bn.runningVar, false),
          }
        : null,
      activation: l.activation,
      dropout: l.dropout,
    })),
  };
}

// ---------------------------------------------------------------------------------------------
// Data helpers

/**
 * Runs `fn` in tf.tidy and reads its tensor back. Never return a typed array from tf.tidy itself:
 * tidy walks its result looking for tensors, element by element (15 ms for 20,000 values).
 */
export function readTidy<D extends "float32" | "int32" = "float32">(
  fn: () => tf.Tensor,
): D extends "int32" ? Int32Array : Float32Array {
  const t = tf.tidy(fn);
  try {
    return t.dataSync() as D extends "int32" ? Int32Array : Float32Array;
  } finally {
    t.dispose();
  }
}

/** Rows `idx[start..start+count)` of a row-major [*, width] array, as a new array. */
export function gatherRows(
  src: Float32Array,
  width: number,
  idx: ArrayLike<number>,
  start = 0,
  count?: number,
): Float32Array {
  const c = count ?? idx.length - start;
  const out = new Float32Array(c * width);
  for (let i = 0; i < c; i++) {
    const r = idx[start + i] as number;
    out.set(src.subarray(r * width, (r + 1) * width), i * width);
  }
  return out;
}

/**
 * A row-major [n, width] array uploaded once; `take` copies a minibatch out of it on the backend
 * (core's takeRows). Building each minibatch in JavaScript and uploading it cost about 1 ms of an
 * A_LI step on wasm (64 x 1000 values; large typed-array allocations are slow next to the wasm
 * threads), tf.gather 3-5 ms.
 */
export class DeviceRows {
  private readonly t: T2;
  constructor(what: string, data: Float32Array, n: number, width: number) {
    checkRows(what, data, n, width);
    this.t = tf.tensor2d(data, [n, width]);
  }

  /** Rows `indices`, as a new [indices.length, width] tensor. */
  take(indices: Int32Array): T2 {
    return takeRows(this.t, indices) as T2;
  }

  dispose(): void {
    this.t.dispose();
  }
}

/** Checks that a flat array holds n rows of `width` values; names the field on failure. */
export function checkRows(what: string, arr: ArrayLike<number>, n: number, width: number): void {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what}: n must be a positive integer, got ${n}`);
  if (arr.length !== n * width) {
    throw new Error(`${what}: expected ${n} x ${width} = ${n * width} values, got ${arr.length}`);
  }
}

/**
 * Runs `fn` on consecutive row chunks [start, start+count) and concatenates the outputs (each
 * [count, outWidth]) into one array. Each chunk runs inside tf.tidy.
 */
export function predictInChunks(
  n: number,
  outWidth: number,
  chunk: number,
  fn: (start: number, count: number) => tf.Tensor,
): Float32Array {
  const out = new Float32Array(n * outWidth);
  for (let start = 0; start < n; start += chunk) {
    const count = Math.min(chunk, n - start);
    const vals = readTidy(() => fn(start, count));
    if (vals.length !== count * outWidth) {
      throw new Error(`predictInChunks: chunk gave ${vals.length} values, expected ${count} x ${outWidth}`);
    }
    out.set(vals, start * outWidth);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Optimiser

/** Adam. weightDecay is PyTorch's coupled L2 (grad += weightDecay * param), as torch.optim.Adam. */
export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
}

/** PyTorch's Adam defaults. */
export const ADAM_DEFAULTS: AdamConfig = {
  lr: 1e-3,
  beta1: 0.9,
  beta2: 0.999,
  epsilon: 1e-8,
  weightDecay: 0,
};

/**
 * One Adam instance over a fixed list of variables: core's `adamUpdate` per variable, one kernel
 * call each on wasm and cpu (tfjs's optimiser spends about 14 ops per variable, half the ops of an
 * A_LI training step), the same formulation in tensor ops elsewhere.
 */
export class AdamStep {
  private moments: { m: tf.Tensor; v: tf.Tensor }[];
  private lr: number;
  private t = 0;
  constructor(
    readonly params: tf.Variable[],
    readonly cfg: AdamConfig,
  ) {
    if (!(cfg.lr > 0)) throw new Error(`AdamConfig.lr must be > 0, got ${cfg.lr}`);
    if (!(cfg.weightDecay >= 0))
      throw new Error(`AdamConfig.weightDecay must be >= 0, got ${cfg.weightDecay}`);
    this.lr = cfg.lr;
    // Kept: an AdamStep may be made or stepped inside a caller's tf.tidy, and its moments outlive it.
    this.moments = params.map((p) => ({ m: tf.keep(tf.zerosLike(p)), v: tf.keep(tf.zerosLike(p)) }));
  }

  /** Sets the learning rate of the next steps (a schedule). */
  setLearningRate(lr: number): void {
    if (!(lr >= 0)) throw new Error(`AdamStep: learning rate must be >= 0, got ${lr}`);
    this.lr = lr;
  }

  /** Computes loss and gradients, applies one update, returns the loss (caller disposes). */
  step(lossFn: () => tf.Scalar): tf.Scalar {
    const { value, grads } = tf.variableGrads(lossFn, this.params);
    try {
      this.t++;
      const attrs = { ...this.cfg, lr: this.lr, step: this.t };
      this.params.forEach((p, i) => {
        const g = grads[p.name];
        if (!g) throw new Error(`AdamStep: no gradient for variable ${p.name}`);
        const mv = this.moments[i] as { m: tf.Tensor; v: tf.Tensor };
        const [p2, m2, v2] = adamUpdate(p, g, mv.m, mv.v, attrs);
        p.assign(p2);
        p2.dispose();
        mv.m.dispose();
        mv.v.dispose();
        mv.m = tf.keep(m2);
        mv.v = tf.keep(v2);
      });
    } finally {
      for (const k of Object.keys(grads)) grads[k]?.dispose();
    }
    return value;
  }

  dispose(): void {
    for (const { m, v } of this.moments) {
      m.dispose();
      v.dispose();
    }
    this.moments = [];
  }
}

// ---------------------------------------------------------------------------------------------
// Loss checking and the training loop

/** Thrown when a loss turns NaN or infinite; names where. */
export class NonFiniteLossError extends Error {
  constructor(
    readonly label: string,
    readonly epoch: number,
    readonly step: number,
    readonly value: number,
  ) {
    super(`${label}: loss became ${value} at epoch ${epoch}, step ${step} (epochs and steps count from 1)`);
    this.name = "NonFiniteLossError";
  }
}

/**
 * Collects per-step loss scalars and reads them back in groups (one sync per group, not per step).
 * Throws NonFiniteLossError naming the first bad step.
 */
export class LossTracker {
  private pending: { step: number; loss: tf.Scalar; weight: number }[] = [];
  private sum = 0;
  private weight = 0;
  constructor(
    readonly label: string,
    readonly syncEvery = 32,
  ) {}

  add(epoch: number, step: number, loss: tf.Scalar, weight = 1): void {
    this.pending.push({ step, loss, weight });
    if (this.pending.length >= this.syncEvery) this.flush(epoch);
  }

  flush(epoch: number): void {
    if (this.pending.length === 0) return;
    const items = this.pending;
    this.pending = [];
    const vals = readTidy(() => tf.stack(items.map((p) => p.loss)));
    for (const p of items) p.loss.dispose();
    for (let i = 0; i < items.length; i++) {
      const v = vals[i] as number;
      const it = items[i] as (typeof items)[number];
      if (!Number.isFinite(v)) throw new NonFiniteLossError(this.label, epoch, it.step, v);
      this.sum += v * it.weight;
      this.weight += it.weight;
    }
  }

  /** Weighted mean of the losses since the last call; resets. */
  take(epoch: number): number {
    this.flush(epoch);
    const m = this.weight > 0 ? this.sum / this.weight : Number.NaN;
    this.sum = 0;
    this.weight = 0;
    return m;
  }

  dispose(): void {
    for (const p of this.pending) p.loss.dispose();
    this.pending = [];
  }
}

export interface EpochReport {
  /** Counts from 1. */
  epoch: number;
  epochs: number;
  /** Mean training loss over the epoch (weighted by batch size). */
  loss: number;
  seconds: number;
}

export interface TrainLoopConfig {
  epochs: number;
  batchSize: number;
  adam: AdamConfig;
  /** Drives shuffling and the per-step Rng handed to the loss (dropout). */
  rng: Rng;
  /** Name used in errors, e.g. "A_LI". */
  label: string;
  onEpoch?: (r: EpochReport) => void;
  /** Loss read-back interval in steps (one sync per group). */
  syncEvery?: number;
  /** Learning rate over the run (default "constant"). */
  lrSchedule?: LrSchedule;
}

/**
 * "constant": adam.lr throughout. "cosine": adam.lr * (1 + cos(pi * t / T)) / 2 at step t of T,
 * annealed to 0 at the end, so the last epochs settle instead of jumping between minima.
 */
export type LrSchedule = "constant" | "cosine";

export function scheduledLr(schedule: LrSchedule, base: number, step: number, totalSteps: number): number {
  if (schedule === "constant" || totalSteps <= 1) return base;
  return (base * (1 + Math.cos((Math.PI * step) / totalSteps))) / 2;
}

export interface StepContext {
  /** Counts from 1. */
  epoch: number;
  /** Counts from 1 within the epoch. */
  step: number;
  /** Row indices of this minibatch. */
  indices: Int32Array;
  /** A fresh stream for this step (dropout masks, noise). */
  rng: Rng;
}

export interface TrainHistory {
  epochLosses: number[];
  seconds: number;
}

/**
 * Minibatch training over n examples: each epoch shuffles with the Rng, then for each batch calls
 * `lossFn` (which builds the batch from `ctx.indices` and returns a scalar loss) and takes one Adam
 * step over `params`. The last batch may be smaller. Throws NonFiniteLossError on NaN/Inf loss.
 */
export function trainMinibatches(
  n: number,
  params: tf.Variable[],
  lossFn: (ctx: StepContext) => tf.Scalar,
  cfg: TrainLoopConfig,
): TrainHistory {
  if (!Number.isInteger(cfg.epochs) || cfg.epochs < 0) {
    throw new Error(`${cfg.label}: epochs must be a non-negative integer, got ${cfg.epochs}`);
  }
  if (!Number.isInteger(cfg.batchSize) || cfg.batchSize < 1) {
    throw new Error(`${cfg.label}: batchSize must be a positive integer, got ${cfg.batchSize}`);
  }
  const t0 = performance.now();
  const adam = new AdamStep(params, cfg.adam);
  const tracker = new LossTracker(cfg.label, cfg.syncEvery ?? 32);
  const epochLosses: number[] = [];
  const schedule = cfg.lrSchedule ?? "constant";
  const totalSteps = cfg.epochs * Math.ceil(n / cfg.batchSize);
  let t = 0;
  try {
    for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
      const te = performance.now();
      const erng = cfg.rng.fork("epoch", epoch);
      const perm = erng.permutation(n);
      let step = 0;
      for (let start = 0; start < n; start += cfg.batchSize) {
        step++;
        if (schedule !== "constant") adam.setLearningRate(scheduledLr(schedule, cfg.adam.lr, t, totalSteps));
        t++;
        const indices = perm.subarray(start, Math.min(n, start + cfg.batchSize));
        const ctx: StepContext = { epoch, step, indices, rng: erng.fork("step", step) };
        const loss = adam.step(() => lossFn(ctx));
        tracker.add(epoch, step, loss, indices.length);
      }
      const loss = tracker.take(epoch);
      epochLosses.push(loss);
      cfg.onEpoch?.({ epoch, epochs: cfg.epochs, loss, seconds: (performance.now() - te) / 1000 });
    }
  } finally {
    tracker.dispose();
    adam.dispose();
  }
  return { epochLosses, seconds: (performance.now() - t0) / 1000 };
}
