/**
 * `AdamUpdate` (see ops/adam.ts) for the backends whose tensors live in host memory: one
 * JavaScript pass over the parameter, gradient and moments, straight on the backend's storage
 * (the wasm heap, the cpu backend's typed arrays), three new outputs. For wasm and cpu.
 */
import { hostKernelConfigs, type Info } from "./host-kernels.ts";
import { ADAM_UPDATE, type AdamUpdateAttrs } from "./names.ts";

/**
 * The update over flat arrays: one plain loop over typed arrays, with the step's constants hoisted
 * out of it, so that the JIT compiles it tight. Intermediates in float64, rounded once on store.
 */
function adamLoop(
  p: Float32Array,
  g: Float32Array,
  m: Float32Array,
  v: Float32Array,
  pOut: Float32Array,
  mOut: Float32Array,
  vOut: Float32Array,
  a: AdamUpdateAttrs,
): void {
  const { beta1, beta2, epsilon, weightDecay } = a;
  const b1c = 1 - beta1;
  const b2c = 1 - beta2;
  const stepSize = a.lr / (1 - beta1 ** a.step);
  const vScale = 1 / Math.sqrt(1 - beta2 ** a.step);
  const n = p.length;
  for (let i = 0; i < n; i++) {
    const pi = p[i] as number;
    const gi = (g[i] as number) + weightDecay * pi;
    const mi = beta1 * (m[i] as number) + b1c * gi;
    const vi = beta2 * (v[i] as number) + b2c * gi * gi;
    mOut[i] = mi;
    vOut[i] = vi;
    pOut[i] = pi - (stepSize * mi) / (Math.sqrt(vi) * vScale + epsilon);
  }
}

/** AdamUpdate's configs for wasm and cpu: outputs [p', m', v'], each of p's shape. */
export const adamUpdateConfigs = hostKernelConfigs(ADAM_UPDATE, {
  outputs: (args) => {
    const { p } = args.inputs as { p: Info };
    return [p.shape, p.shape, p.shape];
  },
  run: (args, view, [pOut, mOut, vOut]) => {
    const { p, g, m, v } = args.inputs as { p: Info; g: Info; m: Info; v: Info };
    const a = args.attrs as unknown as AdamUpdateAttrs;
    adamLoop(view(p), view(g), view(m), view(v), pOut!, mOut!, vOut!, a);
  },
});
