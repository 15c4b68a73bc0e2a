/** MLP: a stack of dense -> [batch norm] -> activation -> [dropout] layers (layers.ts). */
import { type Rng, tf } from "@updates-leak/core";
import {
  type Activation,
  activate,
  type BatchNormLayer,
  batchNorm,
  createBatchNorm,
  createDense,
  type DenseLayer,
  dense,
  dropout,
  type InitName,
  newVariable,
} from "./layers.ts";

type T2 = tf.Tensor2D;

/**
 * One layer for `createMlp`: its width and activation, and optionally a dropout rate, batch norm,
 * and an init (default: createMlp's `defaultInit`).
 */
export interface LayerSpec {
  units: number;
  activation: Activation;
  /** Dropout rate after the activation (training mode only). */
  dropout?: number;
  batchNorm?: boolean;
  init?: InitName;
}

/** One built MLP layer: dense, batch norm (null without), activation and dropout rate. */
export interface MlpLayer {
  dense: DenseLayer;
  bn: BatchNormLayer | null;
  activation: Activation;
  dropout: number;
}

/**
 * A stack of layers (`createMlp`), inDim -> outDim; run it with `mlpForward`, free it with
 * `disposeMlp`.
 */
export interface Mlp {
  inDim: number;
  outDim: number;
  layers: MlpLayer[];
}

/**
 * How a forward pass runs. `rng` non-null turns dropout on (training). `batchStats` normalises with
 * batch statistics; `updateStats` also updates the running ones. Defaults: eval mode.
 */
export interface ForwardMode {
  rng: Rng | null;
  batchStats: boolean;
  updateStats: boolean;
}

/** Inference mode: no dropout, batch norm with its running statistics. */
export const EVAL: ForwardMode = { rng: null, batchStats: false, updateStats: false };

/** Training mode: dropout masks from `rng`, batch norm with batch statistics, running ones updated. */
export function trainMode(rng: Rng): ForwardMode {
  return { rng, batchStats: true, updateStats: true };
}

/** An MLP of `specs` on `inDim` inputs, its weights drawn from `rng`; throws if `specs` is empty. */
export function createMlp(
  rng: Rng,
  inDim: number,
  specs: readonly LayerSpec[],
  defaultInit: InitName = "he",
): Mlp {
  if (specs.length === 0) throw new Error("createMlp: specs must list at least one layer");
  const layers: MlpLayer[] = [];
  let d = inDim;
  for (const s of specs) {
    layers.push({
      dense: createDense(rng, d, s.units, s.init ?? defaultInit),
      bn: s.batchNorm ? createBatchNorm(s.units) : null,
      activation: s.activation,
      dropout: s.dropout ?? 0,
    });
    d = s.units;
  }
  return { inDim, outDim: d, layers };
}

/**
 * The MLP's output. `dataInput`: x is data (deltas, images), not a function of trainable values,
 * so the first layer skips the input gradient; leave it false when x comes from another network.
 */
export function mlpForward(mlp: Mlp, x: T2, mode: ForwardMode = EVAL, dataInput = false): T2 {
  if (x.shape[1] !== mlp.inDim) {
    throw new Error(`mlpForward: input has ${x.shape[1]} features, the network expects ${mlp.inDim}`);
  }
  let h = x;
  mlp.layers.forEach((l, i) => {
    h = dense(l.dense, h, dataInput && i === 0);
    if (l.bn) h = batchNorm(l.bn, h, mode.batchStats, mode.updateStats);
    h = activate(h, l.activation);
    h = dropout(h, l.dropout, mode.rng);
  });
  return h;
}

/** Trainable parameters, in layer order. */
export function mlpParams(mlp: Mlp): tf.Variable[] {
  const out: tf.Variable[] = [];
  for (const l of mlp.layers) {
    out.push(l.dense.w, l.dense.b);
    if (l.bn) out.push(l.bn.gamma, l.bn.beta);
  }
  return out;
}

/** All variables (trainable and running statistics). */
export function mlpVariables(mlp: Mlp): tf.Variable[] {
  const out = mlpParams(mlp);
  for (const l of mlp.layers) if (l.bn) out.push(l.bn.runningMean, l.bn.runningVar);
  return out;
}

/** Every variable's values (`mlpParams`, then batch norm's running statistics), e.g. for a cache. */
export function mlpState(mlp: Mlp): Float32Array[] {
  return mlpVariables(mlp).map((v) => v.dataSync() as Float32Array);
}

/** Sets every variable from `mlpState`'s arrays; throws naming the variable whose size does not match. */
export function loadMlpState(mlp: Mlp, state: readonly Float32Array[]): void {
  const vars = mlpVariables(mlp);
  if (state.length !== vars.length) {
    throw new Error(`loadMlpState: ${state.length} arrays for an MLP of ${vars.length} variables`);
  }
  vars.forEach((v, i) => {
    if (state[i]!.length !== v.size) {
      throw new Error(`loadMlpState: variable ${i} holds ${v.size} values, the array ${state[i]!.length}`);
    }
    const t = tf.tensor(state[i]!, v.shape);
    v.assign(t);
    t.dispose(); // the variable keeps the data
  });
}

/** Frees every variable of the MLP, batch norm running statistics included. */
export function disposeMlp(mlp: Mlp): void {
  for (const v of mlpVariables(mlp)) v.dispose();
}

/** A deep copy with fresh variables (e.g. to transfer a pretrained decoder into an attack). */
export function cloneMlp(mlp: Mlp): Mlp {
  const cv = <R extends tf.Rank>(v: tf.Variable<R>, trainable: boolean) =>
    newVariable(tf.clone(v), trainable);
  return {
    inDim: mlp.inDim,
    outDim: mlp.outDim,
    layers: mlp.layers.map((l) => ({
      dense: { inDim: l.dense.inDim, outDim: l.dense.outDim, w: cv(l.dense.w, true), b: cv(l.dense.b, true) },
      bn: l.bn
        ? {
            ...l.bn,
            gamma: cv(l.bn.gamma, true),
            beta: cv(l.bn.beta, true),
            runningMean: cv(l.bn.runningMean, false),
            runningVar: cv(l.bn.runningVar, false),
          }
        : null,
      activation: l.activation,
      dropout: l.dropout,
    })),
  };
}
