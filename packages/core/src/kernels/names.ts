/**
 * The names and attributes of this project's own kernels, in one place, as tfjs-core's
 * kernel_names.ts: the ops (ops/) run them by name and the kernels (kernels/<backend>/) implement
 * them, and neither imports the other for it. Which backend has which kernel is decided by the
 * backends' registries (kernels/<backend>/register_all_kernels.ts), called when a backend starts.
 */

/** x [G*B, H, W, C], w [G, k, k, C, O], bias [G, O] (optional) -> [G*B, H+2p-k+1, W+2p-k+1, O]. */
export const GROUPED_CONV2D = "GroupedConv2D";
export interface GroupedConv2DAttrs {
  /** Zero padding on every side (default 0). */
  pad?: number;
}

/** a [G, P, K] (or a shared [P, K]), b [G, K, N] -> [G, P, N]. No attributes. */
export const GROUPED_MATMUL = "GroupedMatMul";

/** The training conv block: x, w, b, mask? -> [y, idx] (ops/conv-pool.ts). No attributes. */
export const GROUPED_CONV_POOL = "GroupedConvPool";

/** The training conv block's gradient: dy, y, idx, x, w, mask? -> [dw, db, dx?]. */
export const GROUPED_CONV_POOL_GRAD = "GroupedConvPoolGrad";
export interface GroupedConvPoolGradAttrs {
  /** Also compute the input's gradient dx. */
  inputGrad: boolean;
  /** x's batch is shared by `groups` models (the first layer's inputs), when set. */
  groups?: number;
}

/** The probes' first conv block: patches [B*oh*ow, K], side [K, M*O] -> [M*B, oh/2, ow/2, O]. */
export const SHARED_CONV_POOL = "SharedConvPool";
export interface SharedConvPoolAttrs {
  oh: number;
  ow: number;
  M: number;
  /** Bytes of matMul output held at once (tests force several slices with it). */
  sliceBytes?: number;
}

/** An inference conv block over per-model activations: x, w, b -> relu(maxpool2x2(conv + b)). */
export const GROUPED_CONV_POOL_INFERENCE = "GroupedConvPoolInference";

/** One Adam step on one parameter: p, g, m, v -> [p', m', v'] (ops/adam.ts). */
export const ADAM_UPDATE = "AdamUpdate";
/** The AdamUpdate kernel's attributes; ops/adam.ts checks them. */
export interface AdamUpdateAttrs {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** The step number t, counting from 1 (bias corrections 1 - beta^t). */
  step: number;
}

/** One SGD-with-momentum step on one parameter: w, g, v? -> [w', v'] (ops/sgd.ts). */
export const SGD_MOMENTUM_UPDATE = "SgdMomentumUpdate";
/** The SgdMomentumUpdate kernel's attributes; ops/sgd.ts checks them. */
export interface SgdMomentumAttrs {
  lr: number;
  momentum: number;
}

/** Rows of a float32 matrix by index: x [n, width] -> [rows.length, width] (ops/rows.ts). */
export const TAKE_ROWS = "TakeRows";
export interface TakeRowsAttrs {
  rows: ArrayLike<number>;
}
