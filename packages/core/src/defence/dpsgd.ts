/**
 * DP-SGD (Abadi et al., 2016) for the owner's single-sample update: the sample's gradient over
 * all parameters is clipped to L2 norm C, Gaussian noise of standard deviation z*C is added to
 * every coordinate, and the step is w - lr * (clipped + noise). With one sample the lot is the
 * whole update set (sampling rate 1), so one update is one Gaussian mechanism of noise multiplier z
 * (rdp.ts gives its epsilon). Batched over M models: gradients carry a leading model axis.
 *
 * The noise of model m comes from its own stream, parameter by parameter in order, each in row-major
 * order, so it does not depend on how models are chunked. Pure tensor code; no I/O.
 */
import type { Rng } from "../random.ts";
import { sizeFromShape } from "../shape.ts";
import { type Tensor, tf } from "../tf.ts";
import type { DpSgdConfig } from "./spec.ts";

/**
 * The noise of M models' updates, one [M, ...shape] array per parameter: z*C*N(0,1), model m's
 * values drawn from rngs[m], its parameters in order.
 */
export function dpNoise(
  shapes: readonly (readonly number[])[],
  dp: DpSgdConfig,
  rngs: readonly Rng[],
): Float32Array[] {
  const sizes = shapes.map((s) => sizeFromShape(s));
  const out = sizes.map((n) => new Float32Array(rngs.length * n));
  const scale = dp.noiseMultiplier * dp.clip;
  rngs.forEach((rng, m) => {
    sizes.forEach((n, p) => {
      const a = out[p]!;
      for (let i = m * n; i < (m + 1) * n; i++) a[i] = scale * rng.normal();
    });
  });
  return out;
}

/**
 * Per-model clipped and noised gradients: grads[p] is [M, ...shape_p]; each model's gradient over
 * all parameters is scaled by min(1, C / ||g||), then `noise[p]` (dpNoise) is added.
 */
export function clipAndNoise(
  grads: readonly Tensor[],
  dp: DpSgdConfig,
  noise: readonly Float32Array[],
): Tensor[] {
  return tf.tidy(() => {
    const M = grads[0]!.shape[0]!;
    const sq = grads.map((g) => tf.sum(tf.square(tf.reshape(g, [M, -1])), 1));
    const norm = tf.sqrt(tf.addN(sq));
    const factor = tf.minimum(tf.scalar(1), tf.div(tf.scalar(dp.clip), norm)); // C / 0 = Inf -> 1
    return grads.map((g, p) => {
      const f = tf.reshape(factor, [M, ...g.shape.slice(1).map(() => 1)]);
      return tf.add(tf.mul(g, f), tf.tensor(noise[p]!, g.shape));
    });
  });
}
