/**
 * The plain one-model forward pass (the reference path): tfjs ops, one model, any batch.
 * `masks` null means inference mode (dropout off).
 */
import { type Tensor, tf } from "../tf.ts";
import type { Layer, ModelSpec } from "./spec.ts";

/** Parameter tensors of one model in `allParamShapes` order. */
export type ParamTensors = Tensor[];

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
  let h = x;
  let p = 0;
  let d = 0;
  let t = 0;
  for (const l of spec.layers) {
    switch (l.kind) {
      case "conv": {
        if (record) record.push(tf.keep(h));
        h = tf.add(tf.conv2d(h as tf.Tensor4D, params[p]! as tf.Tensor4D, 1, "valid"), params[p + 1]!);
        p += 2;
        if (taps) h = tf.add(h, taps[t++]!);
        break;
      }
      case "dense": {
        if (record) record.push(tf.keep(h));
        h = tf.add(tf.matMul(h as tf.Tensor2D, params[p]! as tf.Tensor2D), params[p + 1]!);
        p += 2;
        if (taps) h = tf.add(h, taps[t++]!);
        break;
      }
      default: {
        const dropout = l.kind === "dropout2d" || l.kind === "dropout";
        h = unparametrisedLayer(l, h, dropout && masks ? masks[d]! : null);
        if (dropout) d++;
      }
    }
  }
  return h;
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
