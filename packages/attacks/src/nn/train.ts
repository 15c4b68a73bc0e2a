/**
 * The seeded minibatch training loop: shuffling, learning-rate schedule, one Adam step per batch,
 * per-epoch progress, and loss read-back that stops on a NaN or infinite loss. Every gradient
 * trainer but CBM-GAN's runs through `trainMinibatches` (the attack heads through fit.ts).
 */
import { type Rng, tf } from "@updates-leak/core";
import { type AdamConfig, AdamStep } from "./adam.ts";
import { readTidy } from "./predict.ts";

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

/** One epoch of `trainMinibatches`, as handed to `onEpoch`; `seconds` is the epoch's wall time. */
export interface EpochReport {
  /** Counts from 1. */
  epoch: number;
  epochs: number;
  /** Mean training loss over the epoch (weighted by batch size). */
  loss: number;
  seconds: number;
}

/**
 * Settings of `trainMinibatches`; it throws unless `epochs` is a non-negative integer and
 * `batchSize` a positive one.
 */
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

/**
 * The learning rate at step `step` (from 0) of `totalSteps`: `base` for "constant" or a run of one
 * step, else the cosine schedule above.
 */
export function scheduledLr(schedule: LrSchedule, base: number, step: number, totalSteps: number): number {
  if (schedule === "constant" || totalSteps <= 1) return base;
  return (base * (1 + Math.cos((Math.PI * step) / totalSteps))) / 2;
}

/** What the loss function of `trainMinibatches` gets for one minibatch. */
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

/** Mean training loss per epoch, and the run's wall time in seconds. */
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
