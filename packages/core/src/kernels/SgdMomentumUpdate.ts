/**
 * `SgdMomentumUpdate` (see ops/sgd.ts) for the backends whose tensors live in host memory: one
 * JavaScript pass over a parameter, its gradient and its velocity, straight on the backend's
 * storage (the wasm heap, the cpu backend's typed arrays), two new outputs. For wasm and cpu. Each multiply, add and subtract is rounded to float32 as tfjs's own ops round them, so
 * the result is the tensor-op formulation's bit for bit.
 */
import { hostKernelConfigs, type Info } from "./host-kernels.ts";
import { SGD_MOMENTUM_UPDATE, type SgdMomentumAttrs } from "./names.ts";

const f32 = Math.fround;

/**
 * v' = v * momentum + g (g where there is no velocity yet), w' = w - v' * lr. The constants are
 * float32 (tfjs makes scalars float32 tensors); a product of two float32 values is exact in
 * float64 and a sum is rounded once more by fround without changing the float32 result.
 */
function sgdLoop(
  w: Float32Array,
  g: Float32Array,
  v: Float32Array | null,
  wOut: Float32Array,
  vOut: Float32Array,
  a: SgdMomentumAttrs,
): void {
  const momentum = f32(a.momentum);
  const lr = f32(a.lr);
  const n = w.length;
  for (let i = 0; i < n; i++) {
    const nv = v ? f32(f32((v[i] as number) * momentum) + (g[i] as number)) : (g[i] as number);
    vOut[i] = nv;
    wOut[i] = f32((w[i] as number) - f32(nv * lr));
  }
}

/** SgdMomentumUpdate's configs for wasm and cpu: outputs [w', v'], each of w's shape. */
export const sgdMomentumConfigs = hostKernelConfigs(SGD_MOMENTUM_UPDATE, {
  outputs: (args) => {
    const { w } = args.inputs as { w: Info };
    return [w.shape, w.shape];
  },
  run: (args, view, [wOut, vOut]) => {
    const { w, g, v } = args.inputs as { w: Info; g: Info; v?: Info };
    const a = args.attrs as unknown as SgdMomentumAttrs;
    sgdLoop(view(w), view(g), v ? view(v) : null, wOut!, vOut!, a);
  },
});
