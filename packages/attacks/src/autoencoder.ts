/**
 * The autoencoder A_SSR transfers its decoder from [paper]. Its architecture is our [choice] (the
 * paper's Appendix D is not available to us): a dense AE on flattened samples,
 *   encoder: sampleSize -> 512 -> latent 128 (LeakyReLU 0.01 hidden, linear latent)
 *   decoder: 128 -> 512 -> sampleSize (LeakyReLU 0.01 hidden, sigmoid output for samples on [0,1];
 *            "linear" output for standardised features such as Insta-NY)
 * trained with MSE and Adam (lr 1e-3), batch 64, 30 epochs [choice].
 * `autoencode` is also the AE oracle baseline (encode-decode the true sample).
 */
import { type Rng, tf } from "@updates-leak/core";
import {
  type Activation,
  ADAM_DEFAULTS,
  type AdamConfig,
  checkRows,
  createMlp,
  DeviceRows,
  disposeMlp,
  type EpochReport,
  type Mlp,
  mlpForward,
  mlpParams,
  predictInChunks,
  type TrainHistory,
  trainMinibatches,
  trainMode,
} from "./nn.ts";

export type OutputActivation = "sigmoid" | "linear";

export interface AutoencoderConfig {
  /** Encoder hidden widths (decoder mirrors them). [choice] [512] */
  hidden: number[];
  /** [choice] 128 */
  latent: number;
  /** "sigmoid" for samples on [0,1], "linear" otherwise. */
  output: OutputActivation;
  leakySlope: number;
  /** [choice] 30 */
  epochs: number;
  /** [choice] 64 */
  batchSize: number;
  adam: AdamConfig;
  predictChunk: number;
  onEpoch?: (r: EpochReport) => void;
}

export const AUTOENCODER_DEFAULTS: AutoencoderConfig = {
  hidden: [512],
  latent: 128,
  output: "sigmoid",
  leakySlope: 0.01,
  epochs: 30,
  batchSize: 64,
  adam: ADAM_DEFAULTS,
  predictChunk: 1024,
};

export interface Autoencoder {
  sampleSize: number;
  latent: number;
  output: OutputActivation;
  encoder: Mlp;
  decoder: Mlp;
  history: TrainHistory;
  dispose(): void;
}

/** Builds an untrained AE (encoder and decoder MLPs). */
export function createAutoencoderNets(
  rng: Rng,
  sampleSize: number,
  cfg: AutoencoderConfig,
): { encoder: Mlp; decoder: Mlp } {
  const act: Activation = { leakyRelu: cfg.leakySlope };
  const encoder = createMlp(rng.fork("enc"), sampleSize, [
    ...cfg.hidden.map((units) => ({ units, activation: act })),
    { units: cfg.latent, activation: "linear" as const, init: "glorot" as const },
  ]);
  const decoder = createMlp(rng.fork("dec"), cfg.latent, [
    ...[...cfg.hidden].reverse().map((units) => ({ units, activation: act })),
    { units: sampleSize, activation: cfg.output, init: "glorot" as const },
  ]);
  return { encoder, decoder };
}

/** Mean squared error over all values of a batch. */
export function mseLoss(pred: tf.Tensor2D, target: tf.Tensor2D): tf.Scalar {
  return tf.mean(tf.squaredDifference(pred, target)) as tf.Scalar;
}

/** Trains the AE on shadow samples [n, sampleSize]. `cfg` is merged shallowly over the defaults. */
export function trainAutoencoder(
  samples: Float32Array,
  n: number,
  sampleSize: number,
  rng: Rng,
  cfg: Partial<AutoencoderConfig> = {},
): Autoencoder {
  const c: AutoencoderConfig = { ...AUTOENCODER_DEFAULTS, ...cfg };
  checkRows("trainAutoencoder samples", samples, n, sampleSize);
  const { encoder, decoder } = createAutoencoderNets(rng.fork("init"), sampleSize, c);
  const dispose = () => {
    disposeMlp(encoder);
    disposeMlp(decoder);
  };
  let history: TrainHistory;
  const rows = new DeviceRows("trainAutoencoder samples", samples, n, sampleSize);
  try {
    history = trainMinibatches(
      n,
      [...mlpParams(encoder), ...mlpParams(decoder)],
      (ctx) => {
        const xb = rows.take(ctx.indices);
        const mode = trainMode(ctx.rng);
        return mseLoss(mlpForward(decoder, mlpForward(encoder, xb, mode, true), mode), xb);
      },
      {
        epochs: c.epochs,
        batchSize: c.batchSize,
        adam: c.adam,
        rng: rng.fork("train"),
        label: "autoencoder",
        onEpoch: c.onEpoch,
      },
    );
  } catch (e) {
    dispose();
    throw e;
  } finally {
    rows.dispose();
  }
  return { sampleSize, latent: c.latent, output: c.output, encoder, decoder, history, dispose };
}

/** The AE oracle: encode then decode each sample, [n, sampleSize]. */
export function autoencode(ae: Autoencoder, samples: Float32Array, n: number, chunk = 1024): Float32Array {
  checkRows("autoencode samples", samples, n, ae.sampleSize);
  const d = ae.sampleSize;
  return predictInChunks(n, d, chunk, (start, count) =>
    mlpForward(
      ae.decoder,
      mlpForward(ae.encoder, tf.tensor2d(samples.subarray(start * d, (start + count) * d), [count, d])),
    ),
  );
}
