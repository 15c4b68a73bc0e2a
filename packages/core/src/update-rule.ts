/**
 * The optimiser steps of the owner's update rules (update-spec.ts). Each epoch goes through the
 * set in its given order, batch by batch (as tfjs's `fit` with `shuffle: false`); the optimiser's
 * state (velocity, moments, step count) starts fresh at every update and carries across epochs.
 *
 * `optimizerStep` is the one step both the batched engine and the reference take. SGD with
 * momentum is PyTorch's and tfjs's algorithm (v' = momentum v + g, w' = w - lr v'); Adam is
 * PyTorch's and tfjs's, bias-corrected, without weight decay. Both run as one fused kernel per
 * parameter on wasm and cpu (ops/sgd.ts, ops/adam.ts).
 */
import { adamUpdate, adamUpdateReference } from "./ops/adam.ts";
import { sgdMomentumReference, sgdMomentumUpdate } from "./ops/sgd.ts";
import { type Tensor, tf } from "./tf.ts";
import type { UpdateRule } from "./update-spec.ts";

export * from "./update-spec.ts";

/**
 * The optimiser's state across one update: steps taken, and per parameter its slots (SGD: the
 * velocity; Adam: the first and second moments). Null before the first step.
 */
export interface OptimizerState {
  step: number;
  slots: Tensor[][];
}

/**
 * One step of `rule` on parameters `weights` with gradients `grads` (matching shapes, any leading
 * axes). `reference` uses the plain tensor formulation instead of the fused kernels. Returns new
 * tensors; disposes nothing it was given.
 */
export function optimizerStep(
  rule: UpdateRule,
  weights: readonly Tensor[],
  grads: readonly Tensor[],
  state: OptimizerState | null,
  reference = false,
): { weights: Tensor[]; state: OptimizerState } {
  const step = (state?.step ?? 0) + 1;
  if (rule.optimizer === "sgd") {
    const f = reference ? sgdMomentumReference : sgdMomentumUpdate;
    const out = weights.map((w, i) => f(w, grads[i]!, state ? state.slots[i]![0]! : null, rule));
    return { weights: out.map((o) => o[0]), state: { step, slots: out.map((o) => [o[1]]) } };
  }
  const attrs = {
    lr: rule.lr,
    beta1: rule.beta1,
    beta2: rule.beta2,
    epsilon: rule.epsilon,
    weightDecay: 0,
    step,
  };
  const f = reference ? adamUpdateReference : adamUpdate;
  const out = weights.map((w, i) => {
    if (state) return f(w, grads[i]!, state.slots[i]![0]!, state.slots[i]![1]!, attrs);
    const zero = tf.zerosLike(w);
    const r = f(w, grads[i]!, zero, zero, attrs);
    zero.dispose();
    return r;
  });
  return { weights: out.map((o) => o[0]), state: { step, slots: out.map((o) => [o[1], o[2]]) } };
}

/** Every tensor of an optimiser state. */
export function stateTensors(state: OptimizerState | null): Tensor[] {
  return state ? state.slots.flat() : [];
}
