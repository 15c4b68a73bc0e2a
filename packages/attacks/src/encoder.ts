/**
 * The attack encoder shared by all four attacks: dense delta -> 128 -> 64, each layer followed by
 * LeakyReLU and dropout (0.2, then 0.4). [paper, code]
 *
 * Also the delta preprocessing, a named option fitted on the shadow deltas and applied unchanged
 * to the target deltas:
 * - "none": raw deltas, as the paper. [paper]
 * - "standardize": per-feature (mean, std) of the shadow deltas. [choice] Posterior differences
 *   are small (often 1e-3 scale), which can leave an unscaled encoder near its initial function.
 * - "scale": per-feature centring, then one global divisor (the root mean per-feature variance),
 *   which fixes the overall scale but keeps features that barely move small. [choice]
 */
import type { Rng } from "@updates-leak/core";
import type { Activation, InitName } from "./nn/layers.ts";
import { createMlp, type LayerSpec, type Mlp } from "./nn/mlp.ts";
import { checkRows } from "./nn/rows.ts";

/**
 * The attack encoder's shape: one dense layer per `hidden` width, each followed by LeakyReLU and
 * its `dropout` rate.
 */
export interface EncoderConfig {
  /** Layer widths. Paper: [128, 64]. */
  hidden: number[];
  /** Dropout after each layer. Paper code: [0.2, 0.4]. */
  dropout: number[];
  /** LeakyReLU negative slope. [choice] PyTorch's default 0.01 (the code uses nn.LeakyReLU()). */
  leakySlope: number;
  /** [choice] "he". */
  init: InitName;
}

/**
 * The paper's encoder: delta -> 128 -> 64, dropout 0.2 then 0.4 [paper, code]; LeakyReLU 0.01 and
 * He initialisation [choice].
 */
export const ENCODER_DEFAULTS: EncoderConfig = {
  hidden: [128, 64],
  dropout: [0.2, 0.4],
  leakySlope: 0.01,
  init: "he",
};

/** The encoder's layer list (for building it alone or as the front of a longer MLP). */
export function encoderSpecs(cfg: EncoderConfig = ENCODER_DEFAULTS): LayerSpec[] {
  if (cfg.hidden.length === 0) throw new Error("EncoderConfig.hidden: needs at least one layer");
  if (cfg.dropout.length !== cfg.hidden.length) {
    throw new Error(
      `EncoderConfig.dropout: needs one rate per hidden layer (${cfg.hidden.length}), got ${cfg.dropout.length}`,
    );
  }
  const act: Activation = { leakyRelu: cfg.leakySlope };
  return cfg.hidden.map((units, i) => ({
    units,
    activation: act,
    dropout: cfg.dropout[i] ?? 0,
    init: cfg.init,
  }));
}

/**
 * A fresh attack encoder on deltas of `deltaSize` features; its output width is the last hidden
 * width. Throws on an empty `hidden` or a `dropout` list of another length.
 */
export function createEncoder(rng: Rng, deltaSize: number, cfg: EncoderConfig = ENCODER_DEFAULTS): Mlp {
  return createMlp(rng, deltaSize, encoderSpecs(cfg));
}

/**
 * The encoder followed by a linear layer of `units` outputs, one MLP: A_LI's and A_LDE's model
 * (units = classes, logits) and A_SSR's front (units = the autoencoder's latent, init "glorot").
 */
export function createEncoderWithHead(
  rng: Rng,
  deltaSize: number,
  units: number,
  cfg: EncoderConfig = ENCODER_DEFAULTS,
  headInit: InitName = cfg.init,
): Mlp {
  return createMlp(rng, deltaSize, [...encoderSpecs(cfg), { units, activation: "linear", init: headInit }]);
}

// ---------------------------------------------------------------------------------------------
// Delta preprocessing

/**
 * - "none": raw delta (the paper).
 * - "standardize": per feature, centred and divided by its std over the shadow deltas.
 * - "scale": per feature centred, all divided by one global std.
 * - "unit-scale": each delta divided by its own L2 norm first, then "scale". A single update's
 *   delta spans two orders of magnitude in norm (CIFAR-10: 0.1 to 6 from the 10th to the 90th
 *   percentile), set by how surprising the sample was, not by its label; on the unit sphere the
 *   small deltas are not squeezed to the centre.
 */
export type DeltaPreprocessing = "none" | "standardize" | "scale" | "unit-scale";

/** Every DeltaPreprocessing option, in the order listed above. */
export const DELTA_PREPROCESSING: readonly DeltaPreprocessing[] = [
  "none",
  "standardize",
  "scale",
  "unit-scale",
];

/** Each row divided by its L2 norm (an all-zero row stays zero); a new array. */
export function unitRows(deltas: Float32Array, n: number, deltaSize: number): Float32Array {
  const out = new Float32Array(n * deltaSize);
  for (let i = 0; i < n; i++) {
    const row = i * deltaSize;
    let q = 0;
    for (let j = 0; j < deltaSize; j++) q += (deltas[row + j] as number) ** 2;
    const inv = q > 0 ? 1 / Math.sqrt(q) : 0;
    for (let j = 0; j < deltaSize; j++) out[row + j] = (deltas[row + j] as number) * inv;
  }
  return out;
}

/**
 * A delta preprocessing fitted on shadow deltas (`fitDeltaScaler`), applied unchanged to other
 * deltas [n, deltaSize]; `apply` throws when the array does not hold n rows of deltaSize.
 */
export interface DeltaScaler {
  kind: DeltaPreprocessing;
  deltaSize: number;
  /** Per-feature shift and divisor (empty for "none"; one shared divisor value for "scale"). */
  mean: Float32Array;
  std: Float32Array;
  /** Returns a new array: (x - mean) / std per feature, or the input itself for "none". */
  apply(deltas: Float32Array, n: number): Float32Array;
}

/**
 * Per-feature means of deltas [n, deltaSize], and the divisors: each feature's std
 * ("standardize") or one shared root mean per-feature variance ("scale"); a divisor below
 * `minStd` becomes 1.
 */
function meanAndDivisor(
  kind: "standardize" | "scale",
  deltas: Float32Array,
  n: number,
  deltaSize: number,
  minStd: number,
): { mean: Float32Array; std: Float32Array } {
  const sum = new Float64Array(deltaSize);
  const sq = new Float64Array(deltaSize);
  for (let i = 0; i < n; i++) {
    const row = i * deltaSize;
    for (let j = 0; j < deltaSize; j++) {
      const v = deltas[row + j] as number;
      sum[j] = (sum[j] as number) + v;
    }
  }
  const mean = new Float32Array(deltaSize);
  for (let j = 0; j < deltaSize; j++) mean[j] = (sum[j] as number) / n;
  for (let i = 0; i < n; i++) {
    const row = i * deltaSize;
    for (let j = 0; j < deltaSize; j++) {
      const v = (deltas[row + j] as number) - (mean[j] as number);
      sq[j] = (sq[j] as number) + v * v;
    }
  }
  const std = new Float32Array(deltaSize);
  if (kind === "standardize") {
    for (let j = 0; j < deltaSize; j++) {
      const s = Math.sqrt((sq[j] as number) / n);
      std[j] = s >= minStd ? s : 1;
    }
  } else {
    let v = 0;
    for (let j = 0; j < deltaSize; j++) v += (sq[j] as number) / n;
    const s = Math.sqrt(v / deltaSize);
    std.fill(s >= minStd ? s : 1);
  }
  return { mean, std };
}

/**
 * Fits the preprocessing on shadow deltas ([n, deltaSize] row-major). A feature whose std is below
 * `minStd` (constant over the shadow set) is only centred.
 */
export function fitDeltaScaler(
  kind: DeltaPreprocessing,
  deltas: Float32Array,
  n: number,
  deltaSize: number,
  minStd = 1e-12,
): DeltaScaler {
  checkRows("fitDeltaScaler deltas", deltas, n, deltaSize);
  if (kind === "none") {
    return {
      kind,
      deltaSize,
      mean: new Float32Array(0),
      std: new Float32Array(0),
      apply: (d, m) => {
        checkRows("DeltaScaler.apply deltas", d, m, deltaSize);
        return d;
      },
    };
  }
  if (kind === "unit-scale") {
    const inner = fitDeltaScaler("scale", unitRows(deltas, n, deltaSize), n, deltaSize, minStd);
    return {
      ...inner,
      kind,
      apply: (d, m) => {
        checkRows("DeltaScaler.apply deltas", d, m, deltaSize);
        return inner.apply(unitRows(d, m, deltaSize), m);
      },
    };
  }
  if (kind !== "standardize" && kind !== "scale") {
    throw new Error(
      `delta preprocessing must be "none", "standardize", "scale" or "unit-scale", got ${kind}`,
    );
  }
  const { mean, std } = meanAndDivisor(kind, deltas, n, deltaSize, minStd);
  return {
    kind,
    deltaSize,
    mean,
    std,
    apply: (d, m) => {
      checkRows("DeltaScaler.apply deltas", d, m, deltaSize);
      const out = new Float32Array(d.length);
      for (let i = 0; i < m; i++) {
        const row = i * deltaSize;
        for (let j = 0; j < deltaSize; j++) {
          out[row + j] = ((d[row + j] as number) - (mean[j] as number)) / (std[j] as number);
        }
      }
      return out;
    },
  };
}
