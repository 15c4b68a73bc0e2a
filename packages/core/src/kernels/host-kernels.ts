/**
 * Plumbing shared by the kernels of our own that run in JavaScript straight on host memory (the
 * wasm heap, the cpu backend's typed arrays): their argument type, the cpu backend's storage, and
 * registration for both backends at once.
 */
import { tf } from "../tf.ts";

export type Info = tf.TensorInfo;

export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

/** The part of tfjs-backend-cpu a kernel needs: a tensor's values, and new outputs. */
export interface CpuBackendLike {
  data: { get(dataId: object): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: "float32", values: Float32Array): Info;
}

/** The float32 values of a cpu-backend tensor (no copy). */
export function cpuValues(backend: CpuBackendLike, t: Info): Float32Array {
  return backend.data.get(t.dataId).values as Float32Array;
}

const registered = new Set<string>();

/** Registers kernel `name` for wasm and cpu, once. */
export function registerHostKernel(
  name: string,
  wasm: (args: KernelArgs) => Info | Info[],
  cpu: (args: KernelArgs) => Info | Info[],
): void {
  if (registered.has(name)) return;
  registered.add(name);
  tf.registerKernel({ kernelName: name, backendName: "wasm", kernelFunc: wasm as tf.KernelFunc });
  tf.registerKernel({ kernelName: name, backendName: "cpu", kernelFunc: cpu as tf.KernelFunc });
}
