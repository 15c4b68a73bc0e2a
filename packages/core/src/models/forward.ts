/**
 * The plain one-model forward pass (the reference path): tfjs ops, one model, any batch.
 * `masks` null means inference mode (dropout off).
 */
import { type Tensor, tf } from "../tf.ts";
import type { Layer, ModelSpec } from "./spec.ts";

/** Parameter tensors of one model in `allParamShapes` order. */
export type ParamTensors = Tensor[];

/**
 * Plain parameter arrays (in `allParamShapes` order) as tensors of their shapes; throws if the count does not match the spec.
 */
export function toTensors(spec: ModelSpec, params: Float32Array[]): ParamTensors {
  const shapes: number[][] = [];
  for (const l of spec.layers) {
    if (l.kind === "conv") shapes.push([l.k, l.k, l.in, l.out], [l.out]);
    if (l.kind === "dense") shapes.push([l.in, l.out], [l.out]);
  }
  if (shapes.length !== params.length) {
    throw new Error(`toTensors: ${spec.name} needs ${shapes.length} parameter arrays, got ${params.length}`);
  }
  return params.map((p, i) => tf.tensor(p, shapes[i]!));
}

/**
 * Logits of one model. `taps`, when given, are added to each conv/dense pre-activation in order
 * (zero tensors whose gradients are the per-example output gradients). `record`, when given,
 * receives the input of each conv/dense layer (kept past any enclosing tidy; caller disposes).
 */
export function forward(
  spec: ModelSpec,
  params: ParamTensors,
  x: Tensor,
  masks: Tensor[] | null,
  taps?: Tensor[],
  record?: Tensor[],
): Tensor {
  const at: LayerCursor = { p: 0, d: 0, t: 0 };
  let h = x;
  for (const l of spec.layers) h = forwardLayer(l, h, params, masks, at, taps, record);
  return h;
}

/** Where a forward pass stands: the next layer's parameters at p, its mask at d, its tap at t. */
export interface LayerCursor {
  p: number;
  d: number;
  t: number;
}

/**
 * Layer l of `forward` on h (its taps and record as there), with the parameters, mask and tap
 * at `at`, which it moves past those it uses.
 */
export function forwardLayer(
  l: Layer,
  h: Tensor,
  params: ParamTensors,
  masks: Tensor[] | null,
  at: LayerCursor,
  taps?: Tensor[],
  record?: Tensor[],
): Tensor {
  if (l.kind === "conv" || l.kind === "dense") {
    if (record) record.push(tf.keep(h));
    let z = linearLayer(l, h, params[at.p]!, params[at.p + 1]!);
    at.p += 2;
    if (taps) z = tf.add(z, taps[at.t++]!);
    return z;
  }
  const dropout = l.kind === "dropout2d" || l.kind === "dropout";
  const out = unparametrisedLayer(l, h, dropout && masks ? masks[at.d]! : null);
  if (dropout) at.d++;
  return out;
}

/** A conv layer's (valid, stride 1) or dense layer's output on one model's activations h: h * w + b. */
function linearLayer(l: Extract<Layer, { kind: "conv" | "dense" }>, h: Tensor, w: Tensor, b: Tensor): Tensor {
  const z =
    l.kind === "conv"
      ? tf.conv2d(h as tf.Tensor4D, w as tf.Tensor4D, 1, "valid")
      : tf.matMul(h as tf.Tensor2D, w as tf.Tensor2D);
  return tf.add(z, b);
}

/**
 * A layer without parameters on one model's activations [B, ...]: `mask` is the dropout layer's
 * [B, size] mask (null: dropout off; ignored by other layers).
 */
export function unparametrisedLayer(l: Layer, h: Tensor, mask: Tensor | null): Tensor {
  switch (l.kind) {
    case "maxpool":
      return tf.maxPool(h as tf.Tensor4D, l.size, l.size, "valid");
    case "relu":
      return tf.relu(h);
    case "flatten":
      return tf.reshape(h, [h.shape[0]!, -1]);
    case "dropout2d":
      return mask ? tf.mul(h, tf.reshape(mask, [-1, 1, 1, mask.shape[1]!])) : h;
    case "dropout":
      return mask ? tf.mul(h, mask) : h;
    default:
      throw new Error(`unparametrisedLayer: a ${l.kind} layer has parameters`);
  }
}

/** Mean softmax cross-entropy of logits [B, K] against integer labels. */
export function crossEntropy(logits: Tensor, labels: Tensor, numClasses: number): tf.Scalar {
  const onehot = tf.oneHot(tf.cast(labels, "int32") as tf.Tensor1D, numClasses);
  return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
}
