/**
 * The forward pass of M models at once, each with its own weights ([M, ...shape]) and its own
 * inputs ([M*B, ...inputShape], model-major), built from grouped ops that carry gradients, so
 * tf.grads of the summed per-model losses gives every model's own gradient in one backward pass.
 * Activations: [M*B, h, w, c] for images, [M, B, f] after flatten. Returns logits [M, B, classes].
 */
import { groupedConv2dTrainable, groupedMatMulTrainable } from "../ops/grouped.ts";
import { type Tensor, tf } from "../tf.ts";
import { dropoutLayerSizes } from "./masks.ts";
import type { ModelSpec } from "./spec.ts";

export function batchedForward(
  spec: ModelSpec,
  weights: Tensor[],
  x: Tensor,
  M: number,
  masks: Tensor[] | null,
): Tensor {
  const B = x.shape[0]! / M;
  const sizes = dropoutLayerSizes(spec);
  let h = spec.inputShape.length === 1 ? tf.reshape(x, [M, B, -1]) : x;
  let p = 0;
  let d = 0;
  for (const l of spec.layers) {
    switch (l.kind) {
      case "conv": {
        const y = groupedConv2dTrainable(h, weights[p]!);
        const [, oh, ow] = y.shape as [number, number, number, number];
        const yb = tf.add(tf.reshape(y, [M, -1, l.out]), tf.reshape(weights[p + 1]!, [M, 1, l.out]));
        h = tf.reshape(yb, [M * B, oh, ow, l.out]);
        p += 2;
        break;
      }
      case "dense":
        h = tf.add(groupedMatMulTrainable(h, weights[p]!), tf.reshape(weights[p + 1]!, [M, 1, l.out]));
        p += 2;
        break;
      case "maxpool":
        h = tf.maxPool(h as tf.Tensor4D, l.size, l.size, "valid");
        break;
      case "relu":
        h = tf.relu(h);
        break;
      case "flatten":
        h = tf.reshape(h, [M, B, -1]);
        break;
      case "dropout2d":
        if (masks) h = tf.mul(h, tf.reshape(masks[d]!, [M * B, 1, 1, sizes[d]!]));
        d++;
        break;
      case "dropout":
        if (masks) h = tf.mul(h, tf.reshape(masks[d]!, [M, B, sizes[d]!]));
        d++;
        break;
    }
  }
  return h;
}
