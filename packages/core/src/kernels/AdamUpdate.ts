/**
 * `AdamUpdate` (see ops/adam.ts) for the backends whose tensors live in host memory: one
 * JavaScript pass over the parameter, gradient and moments, straight on the backend's storage
 * (the wasm heap, the cpu backend's typed arrays), three new outputs. For wasm and cpu.
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { tf } from "../tf.ts";
import {
  type CpuBackendLike,
  cpuValues,
  hostKernelConfigs,
  type Info,
  type KernelArgs,
} from "./host-kernels.ts";
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

function unpack(args: KernelArgs): { p: Info; g: Info; m: Info; v: Info; a: AdamUpdateAttrs } {
  const { p, g, m, v } = args.inputs as { p: Info; g: Info; m: Info; v: Info };
  return { p, g, m, v, a: args.attrs as unknown as AdamUpdateAttrs };
}

function adamUpdateWasm(args: KernelArgs): Info[] {
  const backend = args.backend as BackendWasm;
  const { p, g, m, v, a } = unpack(args);
  const outs = [p, m, v].map(() => backend.makeOutput(p.shape, "float32"));
  // Views after every makeOutput: allocating may grow (and detach) the heap.
  const view = (t: Info) => backend.typedArrayFromHeap(t) as Float32Array;
  const [pOut, mOut, vOut] = outs as [Info, Info, Info];
  adamLoop(view(p), view(g), view(m), view(v), view(pOut), view(mOut), view(vOut), a);
  return outs;
}

function adamUpdateCpu(args: KernelArgs): Info[] {
  const backend = args.backend as CpuBackendLike;
  const { p, g, m, v, a } = unpack(args);
  const vals = (t: Info) => cpuValues(backend, t);
  const n = tf.util.sizeFromShape(p.shape);
  const pOut = new Float32Array(n);
  const mOut = new Float32Array(n);
  const vOut = new Float32Array(n);
  adamLoop(vals(p), vals(g), vals(m), vals(v), pOut, mOut, vOut, a);
  return [pOut, mOut, vOut].map((x) => backend.makeTensorInfo(p.shape, "float32", x));
}

/** AdamUpdate's configs for wasm and cpu. */
export const adamUpdateConfigs = hostKernelConfigs(ADAM_UPDATE, adamUpdateWasm, adamUpdateCpu);
