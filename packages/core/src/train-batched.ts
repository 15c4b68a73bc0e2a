/**
 * Several models trained in lockstep, each on its own data with its own seed, as ONE model with a
 * leading model axis (models/batched.ts): every op runs once for all of them. Used for the
 * updated models' multi-sample steps (engine.ts) and for training the original target and shadow
 * models together (two MNIST models in about 1.4x the time of one on 2 wasm threads).
 *
 * Each model follows exactly the protocol of `trainModel` (train.ts), the one-model reference:
 * per epoch its own permutation `rng.fork("epoch", e)`, batches of `batchSize` in that order,
 * dropout masks from `rng.fork("masks", e)` batch by batch, SGD with momentum. The summed loss
 * of the models gives each model its own gradient, since no parameter is shared.
 */

import { batchedForward } from "./models/batched.ts";
import { stackedMasks } from "./models/masks.ts";
import { allParamShapes, type ModelSpec, type Params } from "./models/spec.ts";
import type { Rng } from "./random.ts";
import { sizeFromShape } from "./shape.ts";
import { type Tensor, tf } from "./tf.ts";
import { type LabelledData, NonFiniteLossError, type TrainConfig, type TrainProgress } from "./train.ts";
import {
  type OptimizerState,
  optimizerStep,
  stateTensors,
  toUpdateRule,
  type UpdateRule,
} from "./update-rule.ts";

/** Weights of M models, each tensor [M, ...shape], and their optimiser's state (null before the first step). */
export interface BatchedState {
  weights: Tensor[];
  opt: OptimizerState | null;
}

/**
 * One optimiser step of M models, each on its own batch of b samples: x [M*b, ...input]
 * (model-major), labels [M*b], masks per dropout layer [M*b, size] (null: dropout off). Returns
 * the new state and each model's mean loss [M]; disposes nothing it was given.
 */
export function batchedStep(
  spec: ModelSpec,
  state: BatchedState,
  x: Tensor,
  labels: Tensor,
  masks: Tensor[] | null,
  M: number,
  rule: UpdateRule,
): { state: BatchedState; losses: Tensor } {
  const b = x.shape[0]! / M;
  let perModel: Tensor | null = null;
  const grads = tf.tidy(() => {
    const onehot = tf.reshape(tf.oneHot(tf.cast(labels, "int32") as tf.Tensor1D, spec.numClasses), [
      M,
      b,
      spec.numClasses,
    ]);
    // The sum over models of each model's mean loss over its batch.
    const loss = (...ws: Tensor[]) => {
      const logits = batchedForward(spec, ws, x, M, masks);
      const nll = tf.div(tf.neg(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), [1, 2])), b);
      perModel = tf.keep(nll);
      return tf.sum(nll) as tf.Scalar;
    };
    return tf.grads(loss)(state.weights);
  });
  const next = optimizerStep(rule, state.weights, grads, state.opt);
  tf.dispose(grads);
  return { state: { weights: next.weights, opt: next.state }, losses: perModel! as Tensor };
}

/** Where the samples of a lockstep step come from: model m's data, and the row of its i-th sample. */
export interface LockstepBatch {
  data: (m: number) => { x: Float32Array; y: ArrayLike<number> };
  row: (m: number, i: number) => number;
  /** Samples per model in this step. */
  size: number;
}

/**
 * One `batchedSgdStep` of M models on host data: gathers each model's batch (model-major), draws
 * its dropout masks from maskRngs[m] as the reference does (null: dropout off), steps, and
 * disposes the inputs and the old state. Returns the new state and the losses [M] (caller disposes).
 */
export function lockstepStep(
  spec: ModelSpec,
  state: BatchedState,
  batch: LockstepBatch,
  maskRngs: readonly Rng[] | null,
  rule: UpdateRule,
): { state: BatchedState; losses: Tensor } {
  const M = state.weights[0]!.shape[0]!;
  const b = batch.size;
  const size = sizeFromShape(spec.inputShape);
  const xb = new Float32Array(M * b * size);
  const yb = new Int32Array(M * b);
  for (let m = 0; m < M; m++) {
    const d = batch.data(m);
    for (let i = 0; i < b; i++) {
      const r = batch.row(m, i);
      xb.set(d.x.subarray(r * size, (r + 1) * size), (m * b + i) * size);
      yb[m * b + i] = d.y[r]!;
    }
  }
  const masksJs = maskRngs ? stackedMasks(spec, b, maskRngs) : [];
  const x = tf.tensor(xb, [M * b, ...spec.inputShape]);
  const y = tf.tensor1d(yb, "int32");
  const masks = masksJs.map((mk) => tf.tensor2d(mk, [M * b, mk.length / (M * b)]));
  const step = batchedStep(spec, state, x, y, masks.length > 0 ? masks : null, M, rule);
  tf.dispose([x, y, ...masks, ...state.weights, ...stateTensors(state.opt)]);
  return step;
}

/** M copies of p, [M, ...p.shape]: a broadcast product with ones (exact; tfjs-wasm's Tile is slow). */
export function replicate(p: Tensor, M: number): Tensor {
  return tf.tidy(() => tf.reshape(tf.mul(tf.ones([M, 1]), tf.reshape(p, [1, -1])), [M, ...p.shape]));
}

/** One model to train: its initial parameters, its data, and its generator (as for trainModel). */
export interface TrainJob {
  init: Params;
  data: LabelledData;
  rng: Rng;
}

/**
 * Trains the jobs' models together; returns each one's parameters. All data sets must have the
 * same size (the models step in lockstep). `onEpoch(m, p)` reports model m's mean loss; a NaN or
 * infinite loss stops training with the model, epoch and step named.
 */
export async function trainModels(
  spec: ModelSpec,
  jobs: readonly TrainJob[],
  cfg: TrainConfig,
  onEpoch?: (model: number, p: TrainProgress) => void,
): Promise<Params[]> {
  const M = jobs.length;
  if (M === 0) return [];
  const n = jobs[0]!.data.n;
  for (const [m, j] of jobs.entries()) {
    if (j.data.n !== n) {
      throw new Error(`trainModels: model ${m} has ${j.data.n} samples, model 0 has ${n}; they must match`);
    }
  }
  const shapes = allParamShapes(spec);
  let state: BatchedState = {
    weights: tf.tidy(() => shapes.map((shape, i) => tf.stack(jobs.map((j) => tf.tensor(j.init[i]!, shape))))),
    opt: null,
  };
  const rule = toUpdateRule({ lr: cfg.lr, momentum: cfg.momentum, batchSize: cfg.batchSize }, "trainModels");
  try {
    for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
      const orders = jobs.map((j) => j.rng.fork("epoch", epoch).permutation(n));
      const maskRngs = jobs.map((j) => j.rng.fork("masks", epoch));
      const lossSums = new Float64Array(M);
      let steps = 0;
      for (let start = 0; start < n; start += cfg.batchSize) {
        const step = lockstepStep(
          spec,
          state,
          {
            data: (m) => jobs[m]!.data,
            row: (m, i) => orders[m]![start + i]!,
            size: Math.min(cfg.batchSize, n - start),
          },
          maskRngs,
          rule,
        );
        state = step.state;
        const losses = (await step.losses.data()) as Float32Array;
        step.losses.dispose();
        steps++;
        for (let m = 0; m < M; m++) {
          if (!Number.isFinite(losses[m]!)) {
            const where = {
              spec: spec.name,
              loss: losses[m]!,
              epoch,
              step: steps,
              start,
              model: m,
              models: M,
            };
            throw new NonFiniteLossError(where);
          }
          lossSums[m]! += losses[m]!;
        }
      }
      for (let m = 0; m < M; m++) onEpoch?.(m, { epoch, epochs: cfg.epochs, meanLoss: lossSums[m]! / steps });
    }
    const out: Params[] = jobs.map(() => []);
    for (const w of state.weights) {
      const all = (await w.data()) as Float32Array;
      const per = all.length / M;
      for (let m = 0; m < M; m++) out[m]!.push(all.slice(m * per, (m + 1) * per));
    }
    return out;
  } finally {
    tf.dispose([...state.weights, ...stateTensors(state.opt)]);
  }
}
