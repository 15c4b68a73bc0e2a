/**
 * The plain one-model forward pass (the reference path): tfjs ops, one model, any batch.
 * `masks` null means inference mode (dropout off).
 */
import { type Tensor, tf } from "../tf.ts";
import { dropoutLayerSizes } from "./masks.ts";
import type { ModelSpec } from "./spec.ts";

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
  const sizes = dropoutLayerSizes(spec);
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
      case "maxpool":
        h = tf.maxPool(h as tf.Tensor4D, l.size, l.size, "valid");
        break;
      case "relu":
        h = tf.relu(h);
        break;
      case "flatten":
        h = tf.reshape(h, [h.shape[0]!, -1]);
        break;
      case "dropout2d": {
        if (masks) h = tf.mul(h, tf.reshape(masks[d]!, [-1, 1, 1, sizes[d]!]));
        d++;
        break;
      }
      case "dropout": {
        if (masks) h = tf.mul(h, masks[d]!);
        d++;
        break;
      }
    }
  }
  return h;
}

/** Mean softmax cross-entropy of logits [B, K] against integer labels. */
export function crossEntropy(logits: Tensor, labels: Tensor, numClasses: number): tf.Scalar {
  const onehot = tf.oneHot(tf.cast(labels, "int32") as tf.Tensor1D, numClasses);
  return tf.losses.softmaxCrossEntropy(onehot, logits) as tf.Scalar;
}
