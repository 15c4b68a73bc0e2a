/**
 * The batched updated-model engine: deltas for a chunk of M updated models at once.
 *
 * Parameters carry a leading model axis ([M, ...shape]); every layer of the probe forward runs as
 * one op for the whole chunk, with model-major activations ([M*B, h, w, c], then [M, B, f]), so no
 * transposes are needed between layers:
 * - the first conv over the fixed probes: probe patches (with a ones column for the bias) made
 *   once, then one grouped matMul against every model's filters;
 * - a conv over per-model activations: one grouped convolution (ops/grouped.ts);
 * - a dense layer: one grouped matMul;
 * - on wasm a conv block (conv, 2x2 max pool, relu) is one op, pooled while the conv's output is in
 *   cache (ops/conv-pool-inference.ts).
 *
 * Updates: for single-sample sets every updated model is one SGD step from the shared original
 * weights, so all M per-example gradients come from ONE batched forward/backward: gradients with
 * respect to zero "taps" added to each pre-activation give the per-example output gradients;
 * dense weight gradients are then outer products, conv filter gradients one depthwiseConv2d
 * (input channels as batch, samples as channels, output gradients as the filter). Where the
 * backend fuses conv blocks (wasm; ops/conv-pool.ts), a conv block instead takes zero taps on
 * each sample's filters and bias, whose gradients its sparse kernel returns directly.
 * Updates of several steps (several samples, several epochs; SGD with or without momentum, or
 * Adam: update-rule.ts) run all models' steps together through `batchedForward` (grouped ops
 * with gradients): one forward/backward per step for the chunk.
 *
 * `referenceDeltas` is the plain one-model-at-a-time path the engine is tested against.
 */

import { clipAndNoise, dpNoise } from "./defence/dpsgd.ts";
import type { DpSgdConfig } from "./defence/spec.ts";
import { batchedForward, convPoolBlock } from "./models/batched.ts";
import { forward, forwardLayer, type LayerCursor, type ParamTensors, toTensors } from "./models/forward.ts";
import { hasDropout, stackedMasks } from "./models/masks.ts";
import { layerOutputShapes, type ModelSpec, type Params, paramCount } from "./models/spec.ts";
import { convPoolFusable, convPoolReluPerSample } from "./ops/conv-pool.ts";
import { convPoolInferenceFusable } from "./ops/conv-pool-inference.ts";
import { posteriorDelta, posteriors } from "./probe.ts";
import type { Rng } from "./random.ts";
import { sizeFromShape } from "./shape.ts";
import { type Tensor, tf } from "./tf.ts";
import { type LabelledData, referenceUpdate } from "./train.ts";
import { type BatchedState, lockstepStep, replicate } from "./train-batched.ts";
import { optimizerStep, stateTensors, toUpdateRule, type UpdateRule } from "./update-rule.ts";
import type { SgdConfig } from "./update-spec.ts";

/** M updating sets of `setSize` samples each, concatenated: x [M*setSize, ...input], y [M*setSize]. */
export interface UpdateSets {
  count: number;
  setSize: number;
  x: Float32Array;
  y: Int32Array;
}

/**
 * `count` random updating sets of `setSize` samples for tests and benchmarks: standard normal
 * samples, then uniform labels, both drawn from `rng` in that order.
 */
export function randomUpdateSets(spec: ModelSpec, count: number, setSize: number, rng: Rng): UpdateSets {
  const n = count * setSize;
  return {
    count,
    setSize,
    x: rng.normals(n * sizeFromShape(spec.inputShape)),
    y: Int32Array.from({ length: n }, () => rng.int(spec.numClasses)),
  };
}

/** What `UpdateEngine` needs: the model, its trained parameters, the probes and the owner's update. */
export interface EngineOptions {
  spec: ModelSpec;
  original: Params;
  /** Normalised probe samples [probes, ...inputShape]. */
  probes: Float32Array;
  /**
   * The owner's update rule (update-rule.ts): SGD with or without momentum, or Adam, with its
   * batch size and epochs. An `SgdConfig` (such as PAPER_SGD) is one epoch of SGD with momentum.
   */
  update: SgdConfig | UpdateRule;
  /** Dropout during the update (the paper: on). Off gives deterministic updates for tests. */
  dropout: boolean;
  /** The owner updates with DP-SGD (single-sample updates only); `deltas` then needs noise streams. */
  dp?: DpSgdConfig | null;
  /**
   * Bytes of tensor memory one engine call may hold at its peak (default DEFAULT_MEMORY_BUDGET):
   * `deltas` splits its models into chunks of `chunkSize(setSize)` to stay under it.
   */
  memoryBudget?: number;
}

/** The default peak tensor memory of one engine call: 512 MiB. */
export const DEFAULT_MEMORY_BUDGET = 512 * 2 ** 20;
/** The most models one chunk batches, however small they are. */
export const MAX_CHUNK = 256;

/**
 * An upper bound on the peak tensor bytes one updated model adds to an engine call, from the spec:
 * probe activations (every op output is kept until the chunk's tidy ends; twice their size covers
 * the grouped conv's split and concat copies on cpu), the update's activations and gradients for
 * one batch, and copies of the parameters (weights, velocity, gradients). With `fusedBlocks` (the
 * backend runs the probe forward's conv blocks as single ops, ops/conv-pool-inference.ts) a
 * block's inner layers leave no probe activations. Measured with tf.profile's peakBytes, 4-24
 * models, MB per model (bound): MNIST single-sample 9.71 (10.7) on cpu, 8.56 on webgpu, 1.00
 * (2.6) on wasm; 100-sample 27.2 (31.1) on cpu, 25.6 on webgpu, 3.0 (23.0) on wasm; CIFAR-10
 * 10.8 (19.4) and 32.9 (45.5) on cpu, 10.5 and 30.9 on webgpu, 3.5 (11.9) and 14.0 (38.0) on wasm.
 * DP-SGD (`dp`) adds four parameter-sized tensors a model: the noise, the squared and the scaled
 * gradients, their sum.
 */
export function bytesPerModel(
  spec: ModelSpec,
  setSize: number,
  nProbes: number,
  batchSize: number,
  fusedBlocks = false,
  dp = false,
  adam = false,
): number {
  const sizes = layerOutputShapes(spec).map((s) => sizeFromShape(s));
  const act = sizes.reduce((a, b) => a + b, 0);
  let probeAct = 0;
  for (let i = 0; i < spec.layers.length; i++) {
    const block = fusedBlocks ? convPoolBlock(spec, i) : null;
    if (block) i = block.last;
    probeAct += sizes[i]!;
  }
  const update = setSize === 1 ? 3 * act : 6.5 * Math.min(setSize, batchSize) * act;
  const perParam = (dp ? 12 : 8) + (adam ? 8 : 0); // Adam: two moments and their temporaries
  return 4 * Math.ceil(2 * nProbes * probeAct + update + perParam * paramCount(spec));
}

function setOf(spec: ModelSpec, sets: UpdateSets, m: number): LabelledData {
  const size = sizeFromShape(spec.inputShape);
  const s = sets.setSize;
  return {
    x: sets.x.subarray(m * s * size, (m + 1) * s * size),
    y: sets.y.subarray(m * s, (m + 1) * s),
    n: s,
  };
}

/**
 * The plain path: copy, update, probe, one model at a time. Returns [count, probes*classes]. Reads
 * asynchronously, so it also runs where webgpu has no synchronous read (except with DP-SGD).
 */
export async function referenceDeltas(
  opts: EngineOptions,
  sets: UpdateSets,
  maskRngs: Rng[] | null,
  noiseRngs: Rng[] | null = null,
): Promise<Float32Array> {
  const { spec } = opts;
  const nProbes = opts.probes.length / sizeFromShape(spec.inputShape);
  const d = nProbes * spec.numClasses;
  const out = new Float32Array(sets.count * d);
  const original = toTensors(spec, opts.original);
  const probes = tf.tensor(opts.probes, [nProbes, ...spec.inputShape]);
  const p0 = posteriors(spec, original, probes);
  for (let m = 0; m < sets.count; m++) {
    const rng = opts.dropout && maskRngs ? maskRngs[m]! : null;
    const dp = opts.dp && noiseRngs ? { config: opts.dp, rng: noiseRngs[m]! } : null;
    const updated = referenceUpdate(spec, original, setOf(spec, sets, m), opts.update, rng, dp);
    const delta = tf.tidy(() => posteriorDelta(p0, posteriors(spec, updated, probes)));
    out.set((await delta.data()) as Float32Array, m * d);
    tf.dispose([delta, ...updated]);
  }
  tf.dispose([...original, probes, p0]);
  return out;
}

/** Identity filter [k, k, C, k*k*C] that turns a conv2d into im2col (exact: products by 1). */
function im2colFilter(k: number, c: number): Tensor {
  const n = k * k * c;
  const e = new Float32Array(k * k * c * n);
  for (let i = 0; i < k; i++)
    for (let j = 0; j < k; j++)
      for (let ch = 0; ch < c; ch++) {
        const row = (i * k + j) * c + ch;
        e[row * n + row] = 1;
      }
  return tf.tensor4d(e, [k, k, c, n]);
}

/**
 * Computes posterior deltas for many updated models at once: for each update set, one update of the
 * original model by the owner's rule, then the posteriors on the probes before minus after. Batched
 * into single ops per chunk of models (see ARCHITECTURE.md); call `dispose()` when done.
 */
export class UpdateEngine {
  readonly spec: ModelSpec;
  readonly deltaSize: number;
  /** The owner's DP-SGD update, or null for plain SGD. */
  readonly dp: DpSgdConfig | null;
  /** The owner's update rule, checked. */
  readonly rule: UpdateRule;
  private readonly opts: EngineOptions;
  private readonly original: ParamTensors;
  private readonly probes: Tensor;
  private readonly p0: Tensor;
  /** `p0` read back once (read-only for callers): output defences apply to it on the host. */
  private p0Host: Float32Array | null = null;
  private readonly nProbes: number;
  /** Patches of the probes for a first conv layer, with a column of ones: [B*oh*ow, k*k*C + 1]. */
  private readonly probePatches: Tensor | null;

  constructor(opts: EngineOptions) {
    this.opts = opts;
    this.spec = opts.spec;
    this.dp = opts.dp ?? null;
    this.rule = toUpdateRule(opts.update, "UpdateEngine: update");
    const inSize = sizeFromShape(opts.spec.inputShape);
    this.nProbes = opts.probes.length / inSize;
    if (!Number.isInteger(this.nProbes) || this.nProbes < 1) {
      throw new Error(`UpdateEngine: probes hold ${opts.probes.length} values, not a multiple of ${inSize}`);
    }
    this.deltaSize = this.nProbes * opts.spec.numClasses;
    this.original = toTensors(opts.spec, opts.original);
    this.probes = tf.tensor(opts.probes, [this.nProbes, ...opts.spec.inputShape]);
    this.p0 = posteriors(opts.spec, this.original, this.probes);
    const first = opts.spec.layers[0]!;
    this.probePatches =
      first.kind === "conv"
        ? tf.tidy(() => {
            const e = im2colFilter(first.k, first.in);
            const p = tf.conv2d(this.probes as tf.Tensor4D, e as tf.Tensor4D, 1, "valid");
            const flat = tf.reshape(p, [-1, first.k * first.k * first.in]);
            return tf.concat([flat, tf.ones([flat.shape[0]!, 1])], 1);
          })
        : null;
  }

  dispose(): void {
    tf.dispose([...this.original, this.probes, this.p0]);
    if (this.probePatches) this.probePatches.dispose();
  }

  /** Models per chunk for sets of `setSize`: as many as the memory budget holds (1..MAX_CHUNK). */
  chunkSize(setSize: number): number {
    const budget = this.opts.memoryBudget ?? DEFAULT_MEMORY_BUDGET;
    const per = bytesPerModel(
      this.spec,
      setSize,
      this.nProbes,
      this.rule.batchSize,
      convPoolInferenceFusable(),
      this.dp !== null,
      this.rule.optimizer === "adam",
    );
    return Math.max(1, Math.min(MAX_CHUNK, Math.floor(budget / per)));
  }

  /**
   * Deltas [count, probes*classes] for `sets`; maskRngs[m] draws model m's dropout masks. Runs
   * in chunks of `chunk` models (default `chunkSize`), so peak memory depends on the chunk, not
   * on `sets.count`; each chunk's deltas are read back before the next starts.
   */
  async deltas(
    sets: UpdateSets,
    maskRngs: Rng[] | null,
    chunk?: number,
    noiseRngs: Rng[] | null = null,
  ): Promise<Float32Array> {
    return this.probeAll(sets, { masks: maskRngs, noise: noiseRngs }, chunk, "deltas");
  }

  /**
   * The updated models' posteriors on the probes [count, probes*classes], as `deltas` computes
   * them before the difference (an output defence is applied to these on the host).
   */
  async posteriors(
    sets: UpdateSets,
    maskRngs: Rng[] | null,
    chunk?: number,
    noiseRngs: Rng[] | null = null,
  ): Promise<Float32Array> {
    return this.probeAll(sets, { masks: maskRngs, noise: noiseRngs }, chunk, "posteriors");
  }

  /** The original model's posteriors on the probes [probes*classes]; read once, do not change it. */
  originalPosteriors(): Float32Array {
    this.p0Host ??= Float32Array.from(this.p0.dataSync() as Float32Array);
    return this.p0Host;
  }

  private async probeAll(
    sets: UpdateSets,
    streams: { masks: Rng[] | null; noise: Rng[] | null },
    chunk: number | undefined,
    what: "deltas" | "posteriors",
  ): Promise<Float32Array> {
    const maskRngs = streams.masks;
    const useDropout = this.opts.dropout && hasDropout(this.spec);
    if (useDropout && (!maskRngs || maskRngs.length !== sets.count)) {
      throw new Error(`UpdateEngine.${what}: dropout is on, so ${sets.count} mask generators are needed`);
    }
    const dp = this.opts.dp ?? null;
    const oneStep = sets.setSize === 1 && this.rule.epochs === 1; // one step on one sample
    if (dp && !oneStep) {
      throw new Error(
        `UpdateEngine.${what}: DP-SGD updates are implemented for one step on one sample (set size 1, 1 epoch), not set size ${sets.setSize} over ${this.rule.epochs} epoch(s)`,
      );
    }
    if (dp && (!streams.noise || streams.noise.length !== sets.count)) {
      throw new Error(`UpdateEngine.${what}: DP-SGD is on, so ${sets.count} noise generators are needed`);
    }
    const c = chunk ?? this.chunkSize(sets.setSize);
    if (!Number.isInteger(c) || c < 1)
      throw new Error(`UpdateEngine.${what}: chunk must be an integer >= 1, got ${c}`);
    const S = sets.setSize;
    const size = sizeFromShape(this.spec.inputShape);
    const out = new Float32Array(sets.count * this.deltaSize);
    for (let from = 0; from < sets.count; from += c) {
      const m = Math.min(c, sets.count - from);
      const part: UpdateSets = {
        count: m,
        setSize: S,
        x: sets.x.subarray(from * S * size, (from + m) * S * size),
        y: sets.y.subarray(from * S, (from + m) * S),
      };
      const rngs = useDropout ? maskRngs!.slice(from, from + m) : null;
      const noise = dp ? streams.noise!.slice(from, from + m) : null;
      const weights = oneStep ? this.singleStepWeights(part, rngs, noise) : this.multiStepWeights(part, rngs);
      const delta = tf.tidy(() => this.probe(weights, m, what));
      tf.dispose(weights);
      out.set((await delta.data()) as Float32Array, from * this.deltaSize);
      delta.dispose();
    }
    return out;
  }

  /**
   * Updated weights [M, ...] of M models, each one optimiser step on its single sample (the
   * rule's first step: SGD's w - lr g, whatever its momentum, or Adam's); with `opts.dp` a DP-SGD
   * step (clipped gradient plus noise drawn from noiseRngs[m]).
   */
  private singleStepWeights(sets: UpdateSets, maskRngs: Rng[] | null, noiseRngs: Rng[] | null): Tensor[] {
    const { spec } = this;
    const M = sets.count;
    const shapes = layerOutputShapes(spec);
    // Per-model masks, one sample each: stack into [M, size] per dropout layer.
    const masksJs = maskRngs ? stackedMasks(spec, 1, maskRngs) : [];
    const dp = this.opts.dp ?? null;
    const noise =
      dp && noiseRngs
        ? dpNoise(
            this.original.map((w) => w.shape),
            dp,
            noiseRngs,
          )
        : null;
    const fused = convPoolFusable();
    return tf.tidy(() => {
      const x = tf.tensor(sets.x, [M, ...spec.inputShape]);
      const onehot = tf.oneHot(tf.tensor1d(sets.y, "int32"), spec.numClasses);
      const masks = maskRngs ? masksJs.map((m) => tf.tensor2d(m, [M, m.length / M])) : null;
      // Zero taps, per parametrised layer: a fused conv block's on each sample's filters and bias
      // ([M, k, k, C, O], [M, O]); any other layer's on its pre-activation.
      const taps: Tensor[] = [];
      const blocks = spec.layers.map((l, i) => (fused && l.kind === "conv" ? convPoolBlock(spec, i) : null));
      spec.layers.forEach((l, i) => {
        if (l.kind === "conv" && blocks[i])
          taps.push(tf.zeros([M, l.k, l.k, l.in, l.out]), tf.zeros([M, l.out]));
        else if (l.kind === "conv" || l.kind === "dense") taps.push(tf.zeros([M, ...shapes[i]!]));
      });
      // Inputs of each parametrised layer that is not a fused block, recorded during the forward pass.
      const inputs: Tensor[] = [];
      const lossFn = (...t: Tensor[]) => {
        inputs.length = 0;
        const logits = fused
          ? tappedForward(spec, this.original, x, masks, t, inputs, blocks)
          : forward(spec, this.original, x, masks, t, inputs);
        return tf.losses.softmaxCrossEntropy(
          onehot,
          logits,
          undefined,
          undefined,
          tf.Reduction.SUM,
        ) as tf.Scalar;
      };
      const dz = tf.grads(lossFn)(taps);
      const grads: Tensor[] = [];
      let t = 0;
      let r = 0;
      for (const [i, l] of spec.layers.entries()) {
        if (l.kind !== "conv" && l.kind !== "dense") continue;
        let gw: Tensor;
        let gb: Tensor;
        if (blocks[i]) {
          gw = dz[t++]!;
          gb = dz[t++]!;
        } else {
          const a = inputs[r++]!;
          const g = dz[t++]!;
          if (l.kind === "dense") {
            gw = tf.mul(tf.reshape(a, [M, l.in, 1]), tf.reshape(g, [M, 1, l.out]));
            gb = g;
          } else {
            gw = perExampleConvFilterGrad(a, g, l.k);
            gb = tf.sum(g, [1, 2]);
          }
        }
        grads.push(gw, gb);
      }
      tf.dispose(inputs);
      const g = dp && noise ? clipAndNoise(grads, dp, noise) : grads;
      const rule = this.rule;
      if (rule.optimizer === "sgd") {
        return g.map((gi, i) => tf.sub(tf.expandDims(this.original[i]!, 0), tf.mul(gi, rule.lr)));
      }
      const ws = this.original.map((w) => replicate(w, M));
      return optimizerStep(rule, ws, g, null).weights; // the moments are disposed with the tidy
    });
  }

  /**
   * Updated weights [M, ...] for updates of several steps (several samples, or several epochs):
   * every model's optimiser steps (epoch by epoch, batch by batch, as the reference takes them)
   * run together through `batchedForward`, whose grouped ops give each model its own gradient
   * from one backward pass.
   */
  private multiStepWeights(sets: UpdateSets, maskRngs: Rng[] | null): Tensor[] {
    const { spec } = this;
    const M = sets.count;
    const S = sets.setSize;
    const { batchSize, epochs } = this.rule;
    let state: BatchedState = { weights: this.original.map((p) => replicate(p, M)), opt: null };
    for (let epoch = 0; epoch < epochs; epoch++) {
      for (let start = 0; start < S; start += batchSize) {
        // Model m's set is rows m*S .. m*S+S-1 of `sets`, taken batch by batch in order.
        const step = lockstepStep(
          spec,
          state,
          { data: () => sets, row: (m, i) => m * S + start + i, size: Math.min(batchSize, S - start) },
          maskRngs,
          this.rule,
        );
        step.losses.dispose();
        state = step.state;
      }
    }
    tf.dispose(stateTensors(state.opt));
    return state.weights;
  }

  /** The batched probe forward with per-model weights: deltas or posteriors [M, probes*classes]. */
  private probe(weights: Tensor[], M: number, what: "deltas" | "posteriors"): Tensor {
    const logits = batchedForward(this.spec, weights, this.probes, M, null, { patches: this.probePatches });
    const prob = tf.softmax(logits); // [M, B, N]
    const out = what === "deltas" ? tf.sub(tf.expandDims(this.p0, 0), prob) : prob;
    return tf.reshape(out, [M, this.nProbes * this.spec.numClasses]);
  }
}

/**
 * `forward` (models/forward.ts) for the single-sample updates where conv blocks fuse: the block
 * starting at layer i (`blocks[i]`) is `convPoolReluPerSample` with the next two taps on each
 * sample's filters and bias; any other conv or dense layer gets the next tap on its pre-activation
 * and its input recorded. Same values as `forward`, up to float32 rounding.
 */
function tappedForward(
  spec: ModelSpec,
  params: ParamTensors,
  x: Tensor,
  masks: Tensor[] | null,
  taps: Tensor[],
  record: Tensor[],
  blocks: ({ last: number; dropout: boolean } | null)[],
): Tensor {
  const at: LayerCursor = { p: 0, d: 0, t: 0 };
  let h = x;
  for (let i = 0; i < spec.layers.length; i++) {
    const l = spec.layers[i]!;
    const block = blocks[i];
    if (block && l.kind === "conv") {
      const mask = block.dropout && masks ? masks[at.d]! : null;
      const { p, t } = at;
      h = convPoolReluPerSample(h, params[p]!, params[p + 1]!, mask, taps[t]!, taps[t + 1]!, i > 0);
      if (block.dropout) at.d++;
      at.p += 2;
      at.t += 2;
      i = block.last;
    } else h = forwardLayer(l, h, params, masks, at, taps, record);
  }
  return h;
}

/**
 * Per-example conv filter gradients: a [M, H, W, C] layer inputs, g [M, oh, ow, O] output
 * gradients -> [M, k, k, C, O]. One depthwiseConv2d: input channels as batch, samples as
 * channels, output gradients as the (per-channel) filter.
 */
function perExampleConvFilterGrad(a: Tensor, g: Tensor, k: number): Tensor {
  const [M, , , C] = a.shape as [number, number, number, number];
  const O = g.shape[3]!;
  const aT = tf.transpose(a, [3, 1, 2, 0]); // [C, H, W, M]
  const f = tf.transpose(g, [1, 2, 0, 3]); // [oh, ow, M, O]
  const y = tf.depthwiseConv2d(aT as tf.Tensor4D, f as tf.Tensor4D, 1, "valid"); // [C, k, k, M*O]
  // Rank 4 (tfjs-wasm's rank-5 Transpose is ~20x slower per element): [C, kk, M, O] -> [M, kk, C, O].
  return tf.reshape(tf.transpose(tf.reshape(y, [C, k * k, M, O]), [2, 1, 0, 3]), [M, k, k, C, O]);
}
