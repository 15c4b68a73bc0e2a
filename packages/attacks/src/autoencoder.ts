/**
 * The autoencoder A_SSR transfers its decoder from [paper]. Its architecture is our [choice] (the
 * paper's Appendix D is not available to us): a dense AE on flattened samples,
 *   encoder: sampleSize -> 512 -> latent 128 (LeakyReLU 0.01 hidden, linear latent)
 *   decoder: 128 -> 512 -> sampleSize (LeakyReLU 0.01 hidden, sigmoid output for samples on [0,1];
 *            "linear" output for standardised features such as Insta-NY)
 * trained with MSE and Adam (lr 1e-3), batch 64, 30 epochs [choice].
 * `autoencode` is also the AE oracle baseline (encode-decode the true sample).
 */
import { Rng, tf } from "@updates-leak/core";
import { chainedModel, type FitSettings, fitDeltaModel } from "./fit.ts";
import { ADAM_DEFAULTS } from "./nn/adam.ts";
import type { Activation } from "./nn/layers.ts";
import { createMlp, loadMlpState, type Mlp, mlpForward, mlpState, mlpVariables } from "./nn/mlp.ts";
import { predictRows } from "./nn/predict.ts";
import { checkRows } from "./nn/rows.ts";
import type { TrainHistory } from "./nn/train.ts";

/**
 * The decoder's output activation: "sigmoid" for samples on [0,1], "linear" for standardised
 * features (e.g. Insta-NY).
 */
export type OutputActivation = "sigmoid" | "linear";

/**
 * Settings of the autoencoder A_SSR takes its decoder from; `trainAutoencoder` merges a partial
 * config shallowly over AUTOENCODER_DEFAULTS.
 */
export interface AutoencoderConfig extends FitSettings {
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
}

/**
 * The autoencoder's defaults, all [choice]: hidden [512], latent 128, sigmoid output, LeakyReLU
 * 0.01, 30 epochs, batch 64, PyTorch's Adam (lr 1e-3), 1024 rows per prediction pass.
 */
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

/**
 * A trained autoencoder (`trainAutoencoder`) on flattened samples [n, sampleSize]: its encoder and
 * decoder MLPs and training history. `trainReconstructAttack` copies the decoder; `dispose` frees
 * both nets.
 */
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
  const { model, history } = fitDeltaModel({
    name: "trainAutoencoder",
    label: "autoencoder",
    n,
    input: { what: "samples", data: samples, width: sampleSize },
    // Samples, not deltas: used as they are.
    preprocessing: "none",
    settings: c,
    rng,
    build: (r) => {
      const { encoder, decoder } = createAutoencoderNets(r, sampleSize, c);
      return { ...chainedModel(encoder, decoder), encoder, decoder };
    },
    loss: (out, batch) => mseLoss(out, batch.x),
    outWidth: sampleSize,
  });
  const { encoder, decoder, dispose } = model;
  return { sampleSize, latent: c.latent, output: c.output, encoder, decoder, history, dispose };
}

/** The AE's weights as arrays, the encoder's then the decoder's (`mlpState`), e.g. for a model cache. */
export function autoencoderState(ae: Autoencoder): Float32Array[] {
  return [...mlpState(ae.encoder), ...mlpState(ae.decoder)];
}

/**
 * The AE of `cfg` (merged over the defaults, as `trainAutoencoder` does) with the weights of
 * `autoencoderState`; its history is empty. Throws when the arrays do not fit that architecture.
 */
export function restoreAutoencoder(
  state: readonly Float32Array[],
  sampleSize: number,
  cfg: Partial<AutoencoderConfig> = {},
): Autoencoder {
  const c: AutoencoderConfig = { ...AUTOENCODER_DEFAULTS, ...cfg };
  // The init's stream does not matter: every weight is overwritten.
  const { encoder, decoder } = createAutoencoderNets(new Rng(0), sampleSize, c);
  const { dispose } = chainedModel(encoder, decoder);
  try {
    const split = mlpVariables(encoder).length;
    loadMlpState(encoder, state.slice(0, split));
    loadMlpState(decoder, state.slice(split));
  } catch (e) {
    dispose();
    throw e;
  }
  const history = { epochLosses: [], seconds: 0 };
  return { sampleSize, latent: c.latent, output: c.output, encoder, decoder, history, dispose };
}

/** The AE oracle: encode then decode each sample, [n, sampleSize]. */
export function autoencode(ae: Autoencoder, samples: Float32Array, n: number, chunk = 1024): Float32Array {
  checkRows("autoencode samples", samples, n, ae.sampleSize);
  const d = ae.sampleSize;
  return predictRows(samples, n, d, d, chunk, (x) => mlpForward(ae.decoder, mlpForward(ae.encoder, x)));
}
