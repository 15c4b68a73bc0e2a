/**
 * One SGD-with-momentum step for one parameter tensor, PyTorch's algorithm (dampening 0, no
 * Nesterov):  v' = momentum * v + g (v' = g at the first step);  w' = w - lr * v'.
 * As tensor ops that is four kernels per parameter; on wasm and cpu, where a small model's
 * training step is per-op overhead, the kernel `SgdMomentumUpdate` (kernels/SgdMomentumUpdate.ts)
 * does it in one pass with the same bits. Other backends (webgpu) run the formulation below, which
 * is also the reference the kernel is tested against.
 */
import { SGD_MOMENTUM_UPDATE, type SgdMomentumAttrs } from "../kernels/names.ts";
import { type Tensor, tf } from "../tf.ts";

export { SGD_MOMENTUM_UPDATE, type SgdMomentumAttrs };

/** The tensor-op formulation, run where no kernel is registered, and the kernel's reference. */
export function sgdMomentumReference(
  w: Tensor,
  g: Tensor,
  v: Tensor | null,
  a: SgdMomentumAttrs,
): [Tensor, Tensor] {
  return tf.tidy(() => {
    const nv = v ? tf.add(tf.mul(v, a.momentum), g) : tf.clone(g);
    return [tf.sub(w, tf.mul(nv, a.lr)), nv] as [Tensor, Tensor];
  });
}

/**
 * New parameter and velocity [w', v'] from parameter w, gradient g and velocity v (null before the
 * first step), all float32 of one shape. Inputs are left as they are.
 */
export function sgdMomentumUpdate(
  w: Tensor,
  g: Tensor,
  v: Tensor | null,
  a: SgdMomentumAttrs,
): [Tensor, Tensor] {
  if (!(a.lr >= 0)) throw new Error(`sgdMomentumUpdate: lr must be >= 0, got ${a.lr}`);
  if (!(a.momentum >= 0)) throw new Error(`sgdMomentumUpdate: momentum must be >= 0, got ${a.momentum}`);
  for (const [name, t] of [
    ["g", g],
    ["v", v],
  ] as const) {
    if (t && !tf.util.arraysEqual(t.shape, w.shape)) {
      throw new Error(`sgdMomentumUpdate: ${name} has shape [${t.shape}], the parameter [${w.shape}]`);
    }
  }
  if (tf.getKernel(SGD_MOMENTUM_UPDATE, tf.getBackend()) !== undefined) {
    const inputs: tf.NamedTensorMap = v ? { w, g, v } : { w, g };
    const attrs = { lr: a.lr, momentum: a.momentum } as unknown as tf.NamedAttrMap;
    return tf.engine().runKernel(SGD_MOMENTUM_UPDATE, inputs, attrs) as unknown as [Tensor, Tensor];
  }
  return sgdMomentumReference(w, g, v, a);
}
