/**
 * Plumbing shared by the kernels of our own that run in JavaScript straight on host memory (the
 * wasm heap, the cpu backend's typed arrays). A kernel is written once, as a loop over Float32Array
 * views of its inputs and outputs; `hostKernelConfigs` makes its two kernel configs (registered by
 * kernels/wasm/register_all_kernels.ts and kernels/cpu/register_all_kernels.ts when those backends
 * start): on wasm the views are of the heap, on cpu of the backend's own arrays.
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { tf } from "../tf.ts";

export type Info = tf.TensorInfo;

export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

/** The part of tfjs-backend-cpu a kernel needs: a tensor's values, and new outputs. */
interface CpuBackendLike {
  data: { get(dataId: object): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: "float32", values: Float32Array): Info;
}

/** A kernel on host memory: its outputs' shapes, and the loop that fills them. */
export interface HostKernel {
  /** The float32 outputs' shapes; one shape gives a single output, more give a list. */
  outputs(args: KernelArgs): number[][];
  /**
   * Fills `outs` (views of the new outputs, in `outputs` order) from the inputs; `view(t)` is
   * input t's float32 values, read in place.
   */
  run(args: KernelArgs, view: (t: Info) => Float32Array, outs: Float32Array[]): void;
}

/** A host kernel's configs for the two backends that run it. */
export interface HostKernelConfigs {
  wasm: tf.KernelConfig;
  cpu: tf.KernelConfig;
}

function wasmFunc(k: HostKernel) {
  return (args: KernelArgs): Info | Info[] => {
    const backend = args.backend as BackendWasm;
    const outs = k.outputs(args).map((s) => backend.makeOutput(s, "float32"));
    // Views after every makeOutput: allocating may grow (and detach) the heap.
    const view = (t: Info) => backend.typedArrayFromHeap(t) as Float32Array;
    k.run(args, view, outs.map(view));
    return outs.length === 1 ? (outs[0] as Info) : outs;
  };
}

function cpuFunc(k: HostKernel) {
  return (args: KernelArgs): Info | Info[] => {
    const backend = args.backend as CpuBackendLike;
    const shapes = k.outputs(args);
    const outs = shapes.map((s) => new Float32Array(tf.util.sizeFromShape(s)));
    k.run(args, (t) => backend.data.get(t.dataId).values as Float32Array, outs);
    const infos = shapes.map((s, i) => backend.makeTensorInfo(s, "float32", outs[i] as Float32Array));
    return infos.length === 1 ? (infos[0] as Info) : infos;
  };
}

/** Kernel `name`'s configs for wasm and cpu (registered by those backends' registries). */
export function hostKernelConfigs(name: string, kernel: HostKernel): HostKernelConfigs {
  return {
    wasm: { kernelName: name, backendName: "wasm", kernelFunc: wasmFunc(kernel) as tf.KernelFunc },
    cpu: { kernelName: name, backendName: "cpu", kernelFunc: cpuFunc(kernel) as tf.KernelFunc },
  };
}
