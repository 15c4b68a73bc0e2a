/**
 * One Adam step for one parameter tensor, PyTorch's algorithm with coupled weight decay:
 *   g' = g + wd * p;  m' = b1 m + (1 - b1) g';  v' = b2 v + (1 - b2) g'^2;
 *   p' = p - lr * (m' / (1 - b1^t)) / (sqrt(v' / (1 - b2^t)) + eps)
 * as tfjs's AdamOptimizer computes it. tfjs runs that as about 14 tensor ops per variable; on
 * wasm and cpu, where a small model's training step is per-op overhead, not arithmetic, the
 * kernel `AdamUpdate` (kernels/AdamUpdate.ts) does it in one pass. Other backends (webgpu) run
 * the plain formulation below, which is also the reference the kernel is tested against.
 */
import { ADAM_UPDATE, type AdamUpdateAttrs } from "../kernels/names.ts";
import { type Tensor, tf } from "../tf.ts";

export { ADAM_UPDATE, type AdamUpdateAttrs };

/** Checks the attributes; names the bad one. */
export function checkAdamAttrs(a: AdamUpdateAttrs): void {
  const bad = (field: string, want: string, got: number) =>
    new Error(`adamUpdate: ${field} must be ${want}, got ${got}`);
  if (!(a.lr >= 0)) throw bad("lr", ">= 0", a.lr);
  if (!(a.beta1 >= 0 && a.beta1 < 1)) throw bad("beta1", "in [0, 1)", a.beta1);
  if (!(a.beta2 >= 0 && a.beta2 < 1)) throw bad("beta2", "in [0, 1)", a.beta2);
  if (!(a.epsilon >= 0)) throw bad("epsilon", ">= 0", a.epsilon);
  if (!(a.weightDecay >= 0)) throw bad("weightDecay", ">= 0", a.weightDecay);
  if (!(Number.isInteger(a.step) && a.step >= 1)) throw bad("step", "an integer >= 1", a.step);
}

/** The tensor-op formulation, run where no kernel is registered, and the kernel's reference. */
export function adamUpdateReference(
  p: Tensor,
  g: Tensor,
  m: Tensor,
  v: Tensor,
  a: AdamUpdateAttrs,
): [Tensor, Tensor, Tensor] {
  return tf.tidy(() => {
    const gd = a.weightDecay > 0 ? tf.add(g, tf.mul(p, a.weightDecay)) : g;
    const m2 = tf.add(tf.mul(m, a.beta1), tf.mul(gd, 1 - a.beta1));
    const v2 = tf.add(tf.mul(v, a.beta2), tf.mul(tf.square(gd), 1 - a.beta2));
    const mHat = tf.div(m2, 1 - a.beta1 ** a.step);
    const vHat = tf.div(v2, 1 - a.beta2 ** a.step);
    const p2 = tf.sub(p, tf.mul(tf.div(mHat, tf.add(tf.sqrt(vHat), a.epsilon)), a.lr));
    return [p2, m2, v2] as [Tensor, Tensor, Tensor];
  });
}

/**
 * New parameter and moments [p', m', v'] from parameter p, gradient g and moments m, v (all
 * float32 of one shape). Inputs are left as they are; the caller disposes what it replaces.
 */
export function adamUpdate(
  p: Tensor,
  g: Tensor,
  m: Tensor,
  v: Tensor,
  a: AdamUpdateAttrs,
): [Tensor, Tensor, Tensor] {
  checkAdamAttrs(a);
  for (const [name, t] of [
    ["p", p],
    ["g", g],
    ["m", m],
    ["v", v],
  ] as const) {
    if (!tf.util.arraysEqual(t.shape, p.shape)) {
      throw new Error(`adamUpdate: ${name} has shape [${t.shape}], the parameter [${p.shape}]`);
    }
    if (t.dtype !== "float32") throw new Error(`adamUpdate: ${name} must be float32, got ${t.dtype}`);
  }
  if (tf.getKernel(ADAM_UPDATE, tf.getBackend()) !== undefined) {
    const attrs = { ...a } as unknown as tf.NamedAttrMap;
    return tf.engine().runKernel(ADAM_UPDATE, { p, g, m, v }, attrs) as unknown as [Tensor, Tensor, Tensor];
  }
  return adamUpdateReference(p, g, m, v, a);
}
