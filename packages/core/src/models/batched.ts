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
import { type Layer, layerOutputShapes, type ModelSpec } from "./spec.ts";

/** Where the walk over the layers stands: the activations and the next weight and mask. */
interface Walk {
  h: Tensor;
  /** The next layer's weights at weights[p] (its bias at p + 1). */
  p: number;
  /** The next dropout layer's mask at masks[d]. */
  d: number;
  /** Models in the channel axis ([B, h, w, M*c], after a shared first conv) until regrouped. */
  modelsInChannels: boolean;
}

/** What every layer step reads: the call's arguments, B inputs per model, the dropout sizes. */
interface Pass {
  spec: ModelSpec;
  weights: Tensor[];
  x: Tensor;
  M: number;
  B: number;
  masks: Tensor[] | null;
  shared: { patches: Tensor | null } | undefined;
  sizes: number[];
}

type ConvLayer = Extract<Layer, { kind: "conv" }>;

export function batchedForward(
  spec: ModelSpec,
  weights: Tensor[],
  x: Tensor,
  M: number,
  masks: Tensor[] | null,
  shared?: { patches: Tensor | null },
): Tensor {
  const B = shared ? x.shape[0]! : x.shape[0]! / M;
  const pass: Pass = { spec, weights, x, M, B, masks, shared, sizes: dropoutLayerSizes(spec) };
  const h = spec.inputShape.length === 1 && !shared ? tf.reshape(x, [M, B, -1]) : x;
  const s: Walk = { h, p: 0, d: 0, modelsInChannels: false };
  const fusable = shared ? convPoolInferenceFusable() : convPoolFusable();
  for (let i = 0; i < spec.layers.length; i++) {
    const l = spec.layers[i]!;
    const block = fusable && l.kind === "conv" ? convPoolBlock(spec, i) : null;
    if (s.modelsInChannels && (block || (l.kind !== "maxpool" && l.kind !== "relu"))) {
      s.h = modelMajor(s.h, M);
      s.modelsInChannels = false;
    }
    if (block && l.kind === "conv") {
      fusedBlock(pass, s, l, i, block.dropout);
      i = block.last;
    } else if (l.kind === "conv") convLayer(pass, s, l, i);
    else layer(pass, s, l, i);
  }
  return s.modelsInChannels ? modelMajor(s.h, M) : s.h;
}

/** A conv block (the conv at layer i, [dropout2d], maxpool and relu in either order) as one op. */
function fusedBlock(pass: Pass, s: Walk, l: ConvLayer, i: number, dropout: boolean): void {
  const { weights, M, shared } = pass;
  const b = tf.reshape(weights[s.p + 1]!, [M, l.out]);
  if (shared) {
    // Inference (no masks, so a dropout2d in the block is the identity): one op per block.
    if (i === 0) {
      const [oh, ow] = [pass.x.shape[1]! - l.k + 1, pass.x.shape[2]! - l.k + 1];
      s.h = sharedConvPoolRelu(sharedPatches(shared), firstSide(weights[s.p]!, b, l), oh, ow, M);
    } else s.h = groupedConvPoolReluInference(s.h, weights[s.p]!, b);
  } else {
    // conv [dropout2d] maxpool relu (or relu maxpool) as one op with a sparse gradient.
    const mask = dropout ? (pass.masks?.[s.d] ?? null) : null;
    s.h = groupedConvPoolRelu(s.h, weights[s.p]!, b, mask, i > 0);
    if (dropout) s.d++;
  }
  s.p += 2;
}

/** A conv layer alone: over shared inputs, over per-model activations, or in training. */
function convLayer(pass: Pass, s: Walk, l: ConvLayer, i: number): void {
  const { weights, M, B, shared } = pass;
  const w = weights[s.p]!;
  const bias = weights[s.p + 1]!;
  s.p += 2;
  if (i === 0 && shared !== undefined) {
    const side = firstSide(w, bias, l);
    const [oh, ow] = [pass.x.shape[1]! - l.k + 1, pass.x.shape[2]! - l.k + 1];
    s.h = tf.reshape(tf.matMul(sharedPatches(shared), side), [B, oh, ow, M * l.out]);
    s.modelsInChannels = true;
  } else if (shared) {
    // Inference: no gradient needed, so the bias rides along in the same op.
    s.h = groupedConv2d(s.h, w, { bias });
  } else {
    // The first layer's input is data: only the filters need a gradient.
    const y = i === 0 ? groupedConv2dFilterTrainable(s.h, w) : groupedConv2dTrainable(s.h, w);
    const [, oh, ow] = y.shape as [number, number, number, number];
    const yb = tf.add(tf.reshape(y, [M, -1, l.out]), tf.reshape(bias, [M, 1, l.out]));
    s.h = tf.reshape(yb, [M * B, oh, ow, l.out]);
  }
}

/** Any layer but a conv. */
function layer(pass: Pass, s: Walk, l: Layer, i: number): void {
  const { weights, M, B, masks, sizes } = pass;
  switch (l.kind) {
    case "dense":
      s.h = tf.add(
        pass.shared
          ? groupedMatMul(s.h, weights[s.p]!)
          : i === 0
            ? groupedMatMulWeightTrainable(s.h, weights[s.p]!)
            : groupedMatMulTrainable(s.h, weights[s.p]!),
        tf.reshape(weights[s.p + 1]!, [M, 1, l.out]),
      );
      s.p += 2;
      break;
    case "maxpool":
      s.h = tf.maxPool(s.h as tf.Tensor4D, l.size, l.size, "valid");
      break;
    case "relu":
      s.h = tf.relu(s.h);
      break;
    case "flatten":
      s.h = tf.reshape(s.h, [M, B, -1]);
      break;
    case "dropout2d":
      if (masks) s.h = tf.mul(s.h, tf.reshape(masks[s.d]!, [M * B, 1, 1, sizes[s.d]!]));
      s.d++;
      break;
    case "dropout":
      if (masks) s.h = tf.mul(s.h, tf.reshape(masks[s.d]!, [M, B, sizes[s.d]!]));
      s.d++;
      break;
  }
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
