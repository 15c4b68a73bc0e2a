/**
 * A_LDE, multi-sample label distribution estimation [code]: attack encoder (delta -> 128 -> 64) +
 * dense 64 -> classes + softmax; target = the updating set's normalised label histogram; loss = the
 * true per-set KL divergence KL(p || q) = sum_c p_c log(p_c / q_c), averaged over the batch
 * (PyTorch's 'batchmean'); Adam lr 1e-3, weight decay 1e-5 (coupled L2, as torch.optim.Adam),
 * batch 128, 50 epochs.
 */
import { type Rng, tf } from "@updates-leak/core";
import type { DeltaScaler } from "./encoder.ts";
import { type AttackHeadConfig, encoderClassifier, fitDeltaModel, HEAD_DEFAULTS } from "./fit.ts";
import { ADAM_DEFAULTS } from "./nn/adam.ts";
import type { TrainHistory } from "./nn/train.ts";

/**
 * A_LDE settings. Defaults [code]: raw delta ("none"; on MNIST with 2,000 shadow / 200 target sets
 * of 100 and 20 epochs, KL 0.050 with "none", 0.055 with "scale", and 18.7 with "standardize", whose
 * per-feature divisors blow up features that barely vary over the shadow deltas), 50 epochs,
 * batch 128, Adam lr 1e-3 with weight decay 1e-5.
 */
export type DistributionAttackConfig = AttackHeadConfig;

/**
 * A_LDE's defaults (see DistributionAttackConfig): the shared head defaults with raw delta ("none"),
 * 50 epochs, batch 128, Adam lr 1e-3 and weight decay 1e-5.
 */
export const DISTRIBUTION_DEFAULTS: DistributionAttackConfig = {
  ...HEAD_DEFAULTS,
  preprocessing: "none",
  epochs: 50,
  batchSize: 128,
  adam: { ...ADAM_DEFAULTS, lr: 1e-3, weightDecay: 1e-5 },
};

/**
 * A trained A_LDE (`trainDistributionAttack`): estimates each updating set's label distribution
 * from raw deltas [n, deltaSize], preprocessed with `scaler` as in training.
 */
export interface DistributionAttack {
  numClasses: number;
  deltaSize: number;
  scaler: DeltaScaler;
  history: TrainHistory;
  /** Predicted label distributions, [n, numClasses], rows sum to 1. */
  predict(deltas: Float32Array, n: number): Float32Array;
  dispose(): void;
}

/**
 * Batch mean of KL(p || softmax(logits)); terms with p_c = 0 contribute 0 (p log p computed as
 * p * log(max(p, tiny)), which is exactly 0 there).
 */
export function klDivLoss(p: tf.Tensor2D, logits: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const logq = tf.logSoftmax(logits);
    const plogp = tf.mul(p, tf.log(tf.maximum(p, 1e-30)));
    return tf.mean(tf.sum(tf.sub(plogp, tf.mul(p, logq)), 1)) as tf.Scalar;
  });
}

/** Trains A_LDE on shadow deltas [n, deltaSize] and label histograms [n, numClasses] (rows sum to 1). */
export function trainDistributionAttack(
  deltas: Float32Array,
  histograms: Float32Array,
  n: number,
  deltaSize: number,
  numClasses: number,
  rng: Rng,
  cfg: Partial<DistributionAttackConfig> = {},
): DistributionAttack {
  const c: DistributionAttackConfig = { ...DISTRIBUTION_DEFAULTS, ...cfg };
  const fitted = fitDeltaModel({
    name: "trainDistributionAttack",
    label: "A_LDE",
    n,
    input: { what: "deltas", data: deltas, width: deltaSize },
    targets: { what: "histograms", data: histograms, width: numClasses },
    validate: () => checkHistograms(histograms, n, numClasses),
    preprocessing: c.preprocessing,
    settings: c,
    rng,
    ...encoderClassifier(deltaSize, numClasses, c.encoder),
    loss: (logits, batch) => klDivLoss(batch.y as tf.Tensor2D, logits),
  });
  return {
    numClasses,
    deltaSize,
    scaler: fitted.scaler,
    history: fitted.history,
    predict: fitted.predict,
    dispose: () => fitted.model.dispose(),
  };
}

/** Each row non-negative and summing to 1 (within 1e-3). */
function checkHistograms(histograms: Float32Array, n: number, numClasses: number): void {
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let k = 0; k < numClasses; k++) {
      const v = histograms[i * numClasses + k] as number;
      if (!(v >= 0))
        throw new Error(`trainDistributionAttack: histograms row ${i} has a negative or NaN entry`);
      s += v;
    }
    if (Math.abs(s - 1) > 1e-3)
      throw new Error(`trainDistributionAttack: histograms row ${i} sums to ${s}, expected 1`);
  }
}
