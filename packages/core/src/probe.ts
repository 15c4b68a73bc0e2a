/**
 * Probing: posteriors of a model on the fixed probing set in inference mode (dropout off), and the
 * posterior difference delta = p_old - p_new, flattened probe by probe.
 */
import { forward, type ParamTensors } from "./models/forward.ts";
import type { ModelSpec } from "./models/spec.ts";
import { type Tensor, tf } from "./tf.ts";

/** Softmax posteriors [probes, classes] of one model. */
export function posteriors(spec: ModelSpec, params: ParamTensors, probes: Tensor): Tensor {
  return tf.tidy(() => tf.softmax(forward(spec, params, probes, null)));
}

/** delta = p_old - p_new as [probes * classes], probe by probe. */
export function posteriorDelta(pOld: Tensor, pNew: Tensor): Tensor {
  return tf.tidy(() => tf.reshape(tf.sub(pOld, pNew), [-1]));
}
