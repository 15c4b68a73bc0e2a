/**
 * `SgdMomentumUpdate` (see ops/sgd.ts) for the backends whose tensors live in host memory: one
 * JavaScript pass over a parameter, its gradient and its velocity, straight on the backend's
 * storage (the wasm heap, the cpu backend's typed arrays), two new outputs. For wasm and cpu. Each multiply, add and subtract is rounded to float32 as tfjs's own ops round them, so
 * the result is the tensor-op formulation's bit for bit.
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

function unpack(args: KernelArgs): { w: Info; g: Info; v: Info | undefined; a: SgdMomentumAttrs } {
  const { w, g, v } = args.inputs as { w: Info; g: Info; v?: Info };
  return { w, g, v, a: args.attrs as unknown as SgdMomentumAttrs };
}

function sgdUpdateWasm(args: KernelArgs): Info[] {
  const backend = args.backend as BackendWasm;
  const { w, g, v, a } = unpack(args);
  const outs = [w, w].map(() => backend.makeOutput(w.shape, "float32")) as [Info, Info];
  // Views after every makeOutput: allocating may grow (and detach) the heap.
  const view = (t: Info) => backend.typedArrayFromHeap(t) as Float32Array;
  sgdLoop(view(w), view(g), v ? view(v) : null, view(outs[0]), view(outs[1]), a);
  return outs;
}

function sgdUpdateCpu(args: KernelArgs): Info[] {
  const backend = args.backend as CpuBackendLike;
  const { w, g, v, a } = unpack(args);
  const n = tf.util.sizeFromShape(w.shape);
  const wOut = new Float32Array(n);
  const vOut = new Float32Array(n);
  sgdLoop(cpuValues(backend, w), cpuValues(backend, g), v ? cpuValues(backend, v) : null, wOut, vOut, a);
  return [wOut, vOut].map((x) => backend.makeTensorInfo(w.shape, "float32", x));
}

/** SgdMomentumUpdate's configs for wasm and cpu. */
export const sgdMomentumConfigs = hostKernelConfigs(SGD_MOMENTUM_UPDATE, sgdUpdateWasm, sgdUpdateCpu);
