/**
 * The forward pass of M models at once, each with its own weights ([M, ...shape]) and its own
 * inputs ([M*B, ...inputShape], model-major), built from grouped ops that carry gradients, so
 * tf.grads of the summed per-model losses gives every model's own gradient in one backward pass.
 * Activations: [M*B, h, w, c] for images, [M, B, f] after flatten. Returns logits [M, B, classes].
 *
 * `shared` (inference only): the B inputs are the same for every model (the probes). A first
 * dense layer then multiplies them by every model's weights directly; a first conv layer uses
 * `shared.patches`, the inputs' patches with a column of ones ([B*oh*ow, k*k*C + 1]), made once,
 * in ONE matMul against all models' filters side by side ([k*k*C + 1, M*out], the bias as an
 * extra row). Its output [B, oh, ow, M*out] holds the models in the channel axis, which the
 * per-channel layers after it (maxpool, relu) take as it is; the next other layer first regroups
 * it to model-major [M*B, h, w, out] with one rank-3 transpose. On wasm that is 1.6x faster than
 * a matMul per model (their 10 output columns fill XNNPACK's tiles badly) and the same bits: each
 * output is the same k*k*C + 1 products summed in the same order; max and relu are exact.
 *
 * Where the backend has the kernels (wasm), a conv block (a conv, an optional dropout2d, a 2x2 max
 * pool and a relu, in either order) runs as one op: over the shared inputs `sharedConvPoolRelu`
 * (the same matMul a few rows at a time, each slice pooled and regrouped while in cache), over
 * per-model activations `groupedConvPoolReluInference` (ops/conv-pool-inference.ts). Same bits
 * as the layers one by one; the conv's full output never goes out to memory (150 MB for 65 MNIST
 * models' first layer).
 *
 * Training on wasm: a conv followed by an optional dropout2d, a 2x2 max pool and a relu (in either
 * order) runs as one op, `groupedConvPoolRelu` (ops/conv-pool.ts), whose gradient visits only the
 * window winners that passed the ReLU instead of convolving a mostly zero gradient.
 */
import { convPoolFusable, groupedConvPoolRelu } from "../ops/conv-pool.ts";
import {
  convPoolInferenceFusable,
  groupedConvPoolReluInference,
  sharedConvPoolRelu,
} from "../ops/conv-pool-inference.ts";
import {
  groupedConv2d,
  groupedConv2dFilterTrainable,
  groupedConv2dTrainable,
  groupedMatMul,
  groupedMatMulTrainable,
  groupedMatMulWeightTrainable,
} from "../ops/grouped.ts";
import { type Tensor, tf } from "../tf.ts";
import { dropoutLayerSizes } from "./masks.ts";
import { layerOutputShapes, type ModelSpec } from "./spec.ts";

export function batchedForward(
  spec: ModelSpec,
  weights: Tensor[],
  x: Tensor,
  M: number,
  masks: Tensor[] | null,
  shared?: { patches: Tensor | null },
): Tensor {
  const B = shared ? x.shape[0]! : x.shape[0]! / M;
  const sizes = dropoutLayerSizes(spec);
  let h = spec.inputShape.length === 1 && !shared ? tf.reshape(x, [M, B, -1]) : x;
  // Models in the channel axis ([B, h, w, M*c], after a shared first conv) until regrouped.
  let modelsInChannels = false;
  let p = 0;
  let d = 0;
  const fusable = shared ? convPoolInferenceFusable() : convPoolFusable();
  for (let i = 0; i < spec.layers.length; i++) {
    const l = spec.layers[i]!;
    const first = i === 0 && shared !== undefined;
    const block = fusable && l.kind === "conv" ? convPoolBlock(spec, i) : null;
    if (modelsInChannels && (block || (l.kind !== "maxpool" && l.kind !== "relu"))) {
      h = modelMajor(h, M);
      modelsInChannels = false;
    }
    if (block && shared && l.kind === "conv") {
      // Inference (no masks, so a dropout2d in the block is the identity): one op per block.
      const b = tf.reshape(weights[p + 1]!, [M, l.out]);
      if (first) {
        const [oh, ow] = [x.shape[1]! - l.k + 1, x.shape[2]! - l.k + 1];
        h = sharedConvPoolRelu(sharedPatches(shared), firstSide(weights[p]!, b, l), oh, ow, M);
      } else h = groupedConvPoolReluInference(h, weights[p]!, b);
      p += 2;
      i = block.last;
      continue;
    }
    if (block && l.kind === "conv") {
      // conv [dropout2d] maxpool relu (or relu maxpool) as one op with a sparse gradient.
      const mask = block.dropout ? (masks?.[d] ?? null) : null;
      const b = tf.reshape(weights[p + 1]!, [M, l.out]);
      h = groupedConvPoolRelu(h, weights[p]!, b, mask, i > 0);
      if (block.dropout) d++;
      p += 2;
      i = block.last;
      continue;
    }
    switch (l.kind) {
      case "conv": {
        if (first) {
          const side = firstSide(weights[p]!, weights[p + 1]!, l);
          const [oh, ow] = [x.shape[1]! - l.k + 1, x.shape[2]! - l.k + 1];
          h = tf.reshape(tf.matMul(sharedPatches(shared), side), [B, oh, ow, M * l.out]);
          modelsInChannels = true;
          p += 2;
          break;
        }
        if (shared) {
          // Inference: no gradient needed, so the bias rides along in the same op.
          h = groupedConv2d(h, weights[p]!, { bias: weights[p + 1]! });
          p += 2;
          break;
        }
        // The first layer's input is data: only the filters need a gradient.
        const y =
          i === 0 ? groupedConv2dFilterTrainable(h, weights[p]!) : groupedConv2dTrainable(h, weights[p]!);
        const [, oh, ow] = y.shape as [number, number, number, number];
        const yb = tf.add(tf.reshape(y, [M, -1, l.out]), tf.reshape(weights[p + 1]!, [M, 1, l.out]));
        h = tf.reshape(yb, [M * B, oh, ow, l.out]);
        p += 2;
        break;
      }
      case "dense":
        h = tf.add(
          shared
            ? groupedMatMul(h, weights[p]!)
            : i === 0
              ? groupedMatMulWeightTrainable(h, weights[p]!)
              : groupedMatMulTrainable(h, weights[p]!),
          tf.reshape(weights[p + 1]!, [M, 1, l.out]),
        );
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
  return modelsInChannels ? modelMajor(h, M) : h;
}

/**
 * Layers i.. as a conv block for `groupedConvPoolRelu`: the conv at i, an optional dropout2d,
 * then a 2x2 max pool and a relu in either order, the conv's output sides even. Returns the
 * index of the block's last layer and whether it has the dropout2d, or null.
 */
export function convPoolBlock(spec: ModelSpec, i: number): { last: number; dropout: boolean } | null {
  const conv = spec.layers[i];
  if (conv?.kind !== "conv") return null;
  let j = i + 1;
  const dropout = spec.layers[j]?.kind === "dropout2d";
  if (dropout) j++;
  const a = spec.layers[j];
  const b = spec.layers[j + 1];
  const pool = (l: typeof a) => l?.kind === "maxpool" && l.size === 2;
  if (!((pool(a) && b?.kind === "relu") || (a?.kind === "relu" && pool(b)))) return null;
  const out = layerOutputShapes(spec)[i]!;
  if (out[0]! % 2 !== 0 || out[1]! % 2 !== 0) return null;
  return { last: j + 1, dropout };
}

function sharedPatches(shared: { patches: Tensor | null }): Tensor {
  if (!shared.patches) throw new Error("batchedForward: a shared first conv needs the inputs' patches");
  return shared.patches;
}

/** All M models' filters w [M, k, k, C, O] and biases (any shape of M*O values) side by side: [k*k*C + 1, M*O]. */
function firstSide(w: Tensor, b: Tensor, l: { k: number; in: number; out: number }): Tensor {
  const M = w.shape[0]!;
  const kkc = l.k * l.k * l.in;
  const wb = tf.concat([tf.reshape(w, [M, kkc, l.out]), tf.reshape(b, [M, 1, l.out])], 1);
  return tf.reshape(tf.transpose(wb, [1, 0, 2]), [kkc + 1, M * l.out]);
}

/** [B, h, w, M*c] (models in the channel axis) -> [M*B, h, w, c], as one rank-3 transpose. */
function modelMajor(x: Tensor, M: number): Tensor {
  const [B, h, w, mc] = x.shape as [number, number, number, number];
  const c = mc / M;
  return tf.reshape(tf.transpose(tf.reshape(x, [B * h * w, M, c]), [1, 0, 2]), [M * B, h, w, c]);
}
