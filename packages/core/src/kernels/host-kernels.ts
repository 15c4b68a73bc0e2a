/**
 * Plumbing shared by the kernels of our own that run in JavaScript straight on host memory (the
 * wasm heap, the cpu backend's typed arrays): their argument type, the cpu backend's storage, and
 * their two kernel configs (registered by kernels/wasm/register_all_kernels.ts and
 * kernels/cpu/register_all_kernels.ts when those backends start).
 */
import type { tf } from "../tf.ts";

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

/** A host kernel's configs for the two backends that run it. */
export interface HostKernelConfigs {
  wasm: tf.KernelConfig;
  cpu: tf.KernelConfig;
}

/** Kernel `name`'s configs for wasm and cpu (registered by those backends' registries). */
export function hostKernelConfigs(
  name: string,
  wasm: (args: KernelArgs) => Info | Info[],
  cpu: (args: KernelArgs) => Info | Info[],
): HostKernelConfigs {
  return {
    wasm: { kernelName: name, backendName: "wasm", kernelFunc: wasm as tf.KernelFunc },
    cpu: { kernelName: name, backendName: "cpu", kernelFunc: cpu as tf.KernelFunc },
  };
}
