/**
 * A_SSR, single-sample reconstruction [paper]: attack encoder (delta -> 128 -> 64), a dense link
 * layer 64 -> AE latent (linear [choice]), then a copy of the pretrained AE decoder; all trained end
 * to end with MSE and Adam on (shadow delta, updating sample) pairs. The AE itself is not modified.
 * Epochs and batch size are [choice]s. Baselines: see baselines.ts and `autoencode` (AE oracle).
 */
import type { Rng, tf } from "@updates-leak/core";
import type { Autoencoder } from "./autoencoder.ts";
import { mseLoss } from "./autoencoder.ts";
import { createEncoderWithHead, type DeltaScaler } from "./encoder.ts";
import { type AttackHeadConfig, chainedModel, fitDeltaModel, HEAD_DEFAULTS } from "./fit.ts";
import { cloneMlp } from "./nn/mlp.ts";
import type { TrainHistory } from "./nn/train.ts";

/**
 * A_SSR settings. Defaults [choice]: "scale" preprocessing (MNIST at paper scale, seed 0, 20
 * epochs: MSE 0.062 with "scale", 0.082 with "standardize"), 50 epochs, batch 64, Adam lr 1e-3.
 */
export type ReconstructAttackConfig = AttackHeadConfig;

/**
 * A_SSR's defaults (see ReconstructAttackConfig): the shared head defaults with "scale"
 * preprocessing and 50 epochs.
 */
export const RECONSTRUCT_DEFAULTS: ReconstructAttackConfig = {
  ...HEAD_DEFAULTS,
  preprocessing: "scale",
  epochs: 50,
};

/**
 * A trained A_SSR (`trainReconstructAttack`): reconstructs each single-sample update's sample from
 * raw deltas [n, deltaSize], preprocessed with `scaler` as in training.
 */
export interface ReconstructAttack {
  deltaSize: number;
  sampleSize: number;
  scaler: DeltaScaler;
  history: TrainHistory;
  /** Reconstructed samples, [n, sampleSize], on the AE output's scale. */
  reconstruct(deltas: Float32Array, n: number): Float32Array;
  dispose(): void;
}

/**
 * Trains A_SSR on shadow deltas [n, deltaSize] and their updating samples [n, sampleSize] (on the
 * scale the AE was trained on, e.g. [0,1] pixels). `cfg` is merged shallowly over the defaults.
 */
export function trainReconstructAttack(
  deltas: Float32Array,
  samples: Float32Array,
  n: number,
  deltaSize: number,
  ae: Autoencoder,
  rng: Rng,
  cfg: Partial<ReconstructAttackConfig> = {},
): ReconstructAttack {
  const c: ReconstructAttackConfig = { ...RECONSTRUCT_DEFAULTS, ...cfg };
  const sampleSize = ae.sampleSize;
  const fitted = fitDeltaModel({
    name: "trainReconstructAttack",
    label: "A_SSR",
    n,
    input: { what: "deltas", data: deltas, width: deltaSize },
    targets: { what: "samples", data: samples, width: sampleSize },
    preprocessing: c.preprocessing,
    settings: c,
    rng,
    build: (r) =>
      chainedModel(createEncoderWithHead(r, deltaSize, ae.latent, c.encoder, "glorot"), cloneMlp(ae.decoder)),
    loss: (out, batch) => mseLoss(out, batch.y as tf.Tensor2D),
    outWidth: sampleSize,
  });
  return {
    deltaSize,
    sampleSize,
    scaler: fitted.scaler,
    history: fitted.history,
    reconstruct: fitted.predict,
    dispose: () => fitted.model.dispose(),
  };
}
