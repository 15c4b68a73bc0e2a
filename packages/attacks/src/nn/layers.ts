/**
 * Tiny functional layers with explicit parameter tensors: dense (with a transposing matMul),
 * batch norm, dropout, activations and weight initialisation. Every attack model (encoder,
 * decoders, autoencoder, CBM-GAN) is built from these, through mlp.ts.
 *
 * Reproducibility: all randomness (initial weights, dropout masks, shuffling, GAN noise) is drawn
 * from a seeded `Rng` in TypeScript and uploaded; nothing calls `tf.random*`.
 *
 * Speed: `matMulT` is a dense product whose gradient uses explicit transposes, because tfjs-wasm's
 * BatchMatMul takes a slow path with `transposeA`/`transposeB` (measured 2.4x faster per training
 * step of a 1000 -> 128 -> 64 MLP, batch 64).
 */
import { type Rng, tf } from "@updates-leak/core";

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

/** A dense layer's initial weights, [fanIn, fanOut] row-major, drawn from `rng` as `init` says. */
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

/** A dense layer's trainable weights and biases (`dense` computes x @ w + b). */
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

/**
 * A dense layer inDim -> outDim initialised with `init` (biases zero, except "torch"); throws
 * unless both sizes are positive integers.
 */
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

/** A batch norm layer over `dim` features: gamma 1, beta 0, running mean 0 and variance 1. */
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

/** A layer's activation; `{ leakyRelu: slope }` is LeakyReLU with that negative slope. */
export type Activation = "linear" | "relu" | "sigmoid" | "tanh" | { leakyRelu: number };

/** x with `act` applied elementwise. */
export function activate(x: T2, act: Activation): T2 {
  if (act === "linear") return x;
  if (act === "relu") return tf.relu(x);
  if (act === "sigmoid") return tf.sigmoid(x);
  if (act === "tanh") return tf.tanh(x);
  return tf.leakyRelu(x, act.leakyRelu);
}
