/**
 * Training of the original (target / shadow) models and the reference update step.
 * SGD with momentum in PyTorch's form (v = mu v + g; w = w - lr v), cross-entropy, dropout active.
 * The loop reads top to bottom; a NaN or infinite loss stops it with the epoch and step named.
 */

import { dpNoise } from "./defence/dpsgd.ts";
import type { DpSgdConfig } from "./defence/spec.ts";
import { crossEntropy, forward, type ParamTensors, toTensors } from "./models/forward.ts";
import { drawMasks } from "./models/masks.ts";
import type { ModelSpec, Params } from "./models/spec.ts";
import type { Rng } from "./random.ts";
import { sizeFromShape } from "./shape.ts";
import { type Tensor, tf } from "./tf.ts";
import {
  type OptimizerState,
  optimizerStep,
  stateTensors,
  toUpdateRule,
  type UpdateRule,
} from "./update-rule.ts";
import type { SgdConfig } from "./update-spec.ts";

/** How an original model is trained: the SGD settings and the number of epochs. */
export interface TrainConfig extends SgdConfig {
  epochs: number;
}

/** Paper epochs: MNIST 25, CIFAR-10 50, Insta-NY 25. */
export const PAPER_EPOCHS = { mnist: 25, cifar10: 50, "insta-ny": 25 } as const;

/** Samples as a flat Float32Array [n, ...inputShape] with integer labels. */
export interface LabelledData {
  x: Float32Array;
  y: Int32Array;
  n: number;
}

/** Where a training loss turned NaN or infinite; `model` of `models` when several train together. */
export interface NonFiniteLoss {
  spec: string;
  loss: number;
  epoch: number;
  step: number;
  /** The batch's first sample. */
  start: number;
  model?: number;
  models?: number;
}

/** A NaN or infinite training loss, its place in `where` and named in the message. */
export class NonFiniteLossError extends Error {
  constructor(readonly where: NonFiniteLoss) {
    const { spec, loss, epoch, step, start, model, models } = where;
    const which = model === undefined ? "" : ` (model ${model} of ${models})`;
    super(
      `training ${spec}${which}: loss is ${loss} at epoch ${epoch}, step ${step} (batch starting at sample ${start})`,
    );
  }
}

/** Copies rows `idx` of `data` into one batch tensor pair. */
export function gatherBatch(spec: ModelSpec, data: LabelledData, idx: ArrayLike<number>): [Tensor, Tensor] {
  const size = sizeFromShape(spec.inputShape);
  const xb = new Float32Array(idx.length * size);
  const yb = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i]!;
    xb.set(data.x.subarray(r * size, (r + 1) * size), i * size);
    yb[i] = data.y[r]!;
  }
  return [tf.tensor(xb, [idx.length, ...spec.inputShape]), tf.tensor1d(yb, "int32")];
}

/**
 * One SGD-with-momentum step on a batch: returns new params, new velocity and the loss.
 * Inputs are not disposed; outputs are new tensors.
 */
export function sgdStep(
  spec: ModelSpec,
  params: ParamTensors,
  velocity: ParamTensors | null,
  x: Tensor,
  y: Tensor,
  masks: Tensor[] | null,
  cfg: SgdConfig,
): { params: ParamTensors; velocity: ParamTensors; loss: tf.Scalar } {
  return tf.tidy(() => {
    const f = (...ps: Tensor[]) => crossEntropy(forward(spec, ps, x, masks), y, spec.numClasses);
    const { value, grads } = tf.valueAndGrads(f)(params);
    const v = grads.map((g, i) => (velocity ? tf.add(tf.mul(velocity[i]!, cfg.momentum), g) : g));
    const p = params.map((w, i) => tf.sub(w, tf.mul(v[i]!, cfg.lr)));
    return { params: p, velocity: v, loss: value as tf.Scalar };
  });
}

function maskTensors(spec: ModelSpec, batch: number, rng: Rng): Tensor[] {
  return drawMasks(spec, batch, rng).map((m) => tf.tensor2d(m, [batch, m.length / batch]));
}

/**
 * Reported after each training epoch: the epoch (1-based), the total, and the epoch's mean loss.
 */
export interface TrainProgress {
  epoch: number;
  epochs: number;
  meanLoss: number;
}

/** Trains a model from `init`; returns the trained parameters as plain arrays. */
export async function trainModel(
  spec: ModelSpec,
  init: Params,
  data: LabelledData,
  cfg: TrainConfig,
  rng: Rng,
  onEpoch?: (p: TrainProgress) => void,
): Promise<Params> {
  let params = toTensors(spec, init);
  let velocity: ParamTensors | null = null;
  try {
    for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
      const order = rng.fork("epoch", epoch).permutation(data.n);
      const maskRng = rng.fork("masks", epoch);
      let lossSum = 0;
      let steps = 0;
      for (let start = 0; start < data.n; start += cfg.batchSize) {
        const idx = order.subarray(start, Math.min(start + cfg.batchSize, data.n));
        const [x, y] = gatherBatch(spec, data, idx);
        const masks = maskTensors(spec, idx.length, maskRng);
        const step = sgdStep(spec, params, velocity, x, y, masks, cfg);
        tf.dispose([x, y, ...masks, ...params, ...(velocity ?? [])]);
        params = step.params;
        velocity = step.velocity;
        const loss = (await step.loss.data())[0]!;
        step.loss.dispose();
        steps++;
        if (!Number.isFinite(loss)) {
          throw new NonFiniteLossError({ spec: spec.name, loss, epoch, step: steps, start });
        }
        lossSum += loss;
      }
      onEpoch?.({ epoch, epochs: cfg.epochs, meanLoss: lossSum / steps });
    }
    return await Promise.all(params.map(async (p) => new Float32Array(await p.data())));
  } finally {
    tf.dispose([...params, ...(velocity ?? [])]);
  }
}

/**
 * The reference update: a copy of the original model, a fresh optimiser of the rule's kind
 * (update-rule.ts; an `SgdConfig` is one epoch of SGD with momentum), `rule.epochs` passes over
 * the updating set in its given order at `rule.batchSize` (one step per epoch for a single sample,
 * 64 + 36 for a hundred at batch 64), dropout active with masks drawn from `maskRng` batch by
 * batch. With `dp`, one DP-SGD step on a single sample. Plain tensor ops, one model at a time.
 * Returns parameter tensors (caller disposes).
 */
export function referenceUpdate(
  spec: ModelSpec,
  original: ParamTensors,
  set: LabelledData,
  cfg: SgdConfig | UpdateRule,
  maskRng: Rng | null,
  dp: { config: DpSgdConfig; rng: Rng } | null = null,
): ParamTensors {
  const rule = toUpdateRule(cfg, "referenceUpdate");
  if (dp) return referenceDpUpdate(spec, original, set, rule, maskRng, dp.config, dp.rng);
  let params = original;
  let state: OptimizerState | null = null;
  for (let epoch = 0; epoch < rule.epochs; epoch++) {
    for (let start = 0; start < set.n; start += rule.batchSize) {
      const idx = Array.from({ length: Math.min(rule.batchSize, set.n - start) }, (_, i) => start + i);
      const [x, y] = gatherBatch(spec, set, idx);
      const masks = maskRng ? maskTensors(spec, idx.length, maskRng) : null;
      const f = (...ps: Tensor[]) => crossEntropy(forward(spec, ps, x, masks), y, spec.numClasses);
      const grads = tf.tidy(() => tf.grads(f)(params));
      const step = optimizerStep(rule, params, grads, state, true);
      tf.dispose([x, y, ...(masks ?? []), ...grads, ...stateTensors(state)]);
      if (params !== original) tf.dispose(params);
      params = step.weights;
      state = step.state;
    }
  }
  tf.dispose(stateTensors(state));
  return params === original ? original.map((p) => tf.clone(p)) : params;
}

/**
 * One DP-SGD step on a single sample, one model at a time: the gradient, its norm over all
 * parameters read back, the clipped gradient plus noise of `rng` (dpNoise's order), then one step
 * of the rule's optimiser (for SGD: w - lr * noisy gradient).
 */
function referenceDpUpdate(
  spec: ModelSpec,
  original: ParamTensors,
  set: LabelledData,
  rule: UpdateRule,
  maskRng: Rng | null,
  dp: DpSgdConfig,
  rng: Rng,
): ParamTensors {
  if (set.n !== 1 || rule.epochs !== 1) {
    throw new Error(
      `referenceUpdate: DP-SGD updates take one step on one sample, not ${set.n} sample(s) over ${rule.epochs} epoch(s)`,
    );
  }
  const [x, y] = gatherBatch(spec, set, [0]);
  const masks = maskRng ? maskTensors(spec, 1, maskRng) : null;
  const f = (...ps: Tensor[]) => crossEntropy(forward(spec, ps, x, masks), y, spec.numClasses);
  const grads = tf.grads(f)(original);
  let norm2 = 0;
  for (const g of grads) for (const v of g.dataSync()) norm2 += v * v;
  const factor = Math.min(1, dp.clip / Math.sqrt(norm2));
  const noise = dpNoise(
    original.map((w) => w.shape),
    dp,
    [rng],
  );
  const noisy = original.map((w, i) =>
    tf.tidy(() => tf.add(tf.mul(grads[i]!, factor), tf.tensor(noise[i]!, w.shape))),
  );
  const step = optimizerStep(rule, original, noisy, null, true);
  tf.dispose([x, y, ...(masks ?? []), ...grads, ...noisy, ...stateTensors(step.state)]);
  return step.weights;
}

/** Accuracy of one model on labelled data (inference mode), in batches of `batch`. */
export function modelAccuracy(spec: ModelSpec, params: Params, data: LabelledData, batch = 500): number {
  const p = toTensors(spec, params);
  let correct = 0;
  try {
    for (let start = 0; start < data.n; start += batch) {
      const idx = Array.from({ length: Math.min(batch, data.n - start) }, (_, i) => start + i);
      const [x, y] = gatherBatch(spec, data, idx);
      const hits = tf.tidy(() =>
        tf.sum(tf.cast(tf.equal(tf.argMax(forward(spec, p, x, null), 1), y), "int32")),
      );
      correct += hits.dataSync()[0]!;
      tf.dispose([x, y, hits]);
    }
  } finally {
    tf.dispose(p);
  }
  return correct / data.n;
}
