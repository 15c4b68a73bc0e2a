/**
 * A_SSR, single-sample reconstruction [paper]: attack encoder (delta -> 128 -> 64), a dense link
 * layer 64 -> AE latent (linear [choice]), then a copy of the pretrained AE decoder; all trained end
 * to end with MSE and Adam on (shadow delta, updating sample) pairs. The AE itself is not modified.
 * Epochs and batch size are [choice]s. Baselines: see baselines.ts and `autoencode` (AE oracle).
 */
import { type Rng, tf } from "@updates-leak/core";
import type { Autoencoder } from "./autoencoder.ts";
import { mseLoss } from "./autoencoder.ts";
import {
  type AttackHeadConfig,
  createEncoderWithHead,
  type DeltaScaler,
  ENCODER_DEFAULTS,
  fitDeltaScaler,
} from "./encoder.ts";
import {
  ADAM_DEFAULTS,
  checkRows,
  cloneMlp,
  DeviceRows,
  disposeMlp,
  type Mlp,
  mlpForward,
  mlpParams,
  predictInChunks,
  type TrainHistory,
  trainMinibatches,
  trainMode,
} from "./nn.ts";

/**
 * A_SSR settings. Defaults [choice]: "scale" preprocessing (MNIST at paper scale, seed 0, 20
 * epochs: MSE 0.062 with "scale", 0.082 with "standardize"), 50 epochs, batch 64, Adam lr 1e-3.
 */
export type ReconstructionAttackConfig = AttackHeadConfig;

export const RECONSTRUCTION_DEFAULTS: ReconstructionAttackConfig = {
  encoder: ENCODER_DEFAULTS,
  preprocessing: "scale",
  epochs: 50,
  batchSize: 64,
  adam: ADAM_DEFAULTS,
  predictChunk: 1024,
};

export interface ReconstructionAttack {
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
export function trainReconstructionAttack(
  deltas: Float32Array,
  samples: Float32Array,
  n: number,
  deltaSize: number,
  ae: Autoencoder,
  rng: Rng,
  cfg: Partial<ReconstructionAttackConfig> = {},
): ReconstructionAttack {
  const c: ReconstructionAttackConfig = { ...RECONSTRUCTION_DEFAULTS, ...cfg };
  const sampleSize = ae.sampleSize;
  checkRows("trainReconstructionAttack deltas", deltas, n, deltaSize);
  checkRows("trainReconstructionAttack samples", samples, n, sampleSize);
  const scaler = fitDeltaScaler(c.preprocessing, deltas, n, deltaSize);
  const x = scaler.apply(deltas, n);
  const front: Mlp = createEncoderWithHead(rng.fork("init"), deltaSize, ae.latent, c.encoder, "glorot");
  const decoder = cloneMlp(ae.decoder);
  const dispose = () => {
    disposeMlp(front);
    disposeMlp(decoder);
  };
  let history: TrainHistory;
  const xRows = new DeviceRows("trainReconstructionAttack deltas", x, n, deltaSize);
  const yRows = new DeviceRows("trainReconstructionAttack samples", samples, n, sampleSize);
  try {
    history = trainMinibatches(
      n,
      [...mlpParams(front), ...mlpParams(decoder)],
      (ctx) => {
        const xb = xRows.take(ctx.indices);
        const yb = yRows.take(ctx.indices);
        const mode = trainMode(ctx.rng);
        return mseLoss(mlpForward(decoder, mlpForward(front, xb, mode, true), mode), yb);
      },
      {
        epochs: c.epochs,
        batchSize: c.batchSize,
        adam: c.adam,
        rng: rng.fork("train"),
        label: "A_SSR",
        onEpoch: c.onEpoch,
        ...(c.lrSchedule ? { lrSchedule: c.lrSchedule } : {}),
      },
    );
  } catch (e) {
    dispose();
    throw e;
  } finally {
    xRows.dispose();
    yRows.dispose();
  }
  return {
    deltaSize,
    sampleSize,
    scaler,
    history,
    reconstruct(d, m) {
      const xs = scaler.apply(d, m);
      return predictInChunks(m, sampleSize, c.predictChunk, (start, count) =>
        mlpForward(
          decoder,
          mlpForward(
            front,
            tf.tensor2d(xs.subarray(start * deltaSize, (start + count) * deltaSize), [count, deltaSize]),
          ),
        ),
      );
    },
    dispose,
  };
}
