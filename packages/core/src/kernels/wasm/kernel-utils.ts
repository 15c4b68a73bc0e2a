/**
 * Shared plumbing for the wasm kernel fixes: the package's own kernels (captured before any of
 * them is replaced), called directly on the backend with TensorInfos, and a few heap helpers.
 * Kernels built here run inside one `runKernel` call: intermediates are plain TensorInfos that
 * must be released with `release`, never tf.Tensors.
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { sizeFromShape } from "../../shape.ts";
import { tf } from "../../tf.ts";

export type TensorInfo = tf.TensorInfo;
export type Attrs = tf.NamedAttrMap;

/** The package kernels the fixes build on, by name. */
const packageKernels = new Map<string, tf.KernelConfig>();

/**
 * Records the wasm package's kernel `name` (once, before it may be replaced) and returns it.
 * Throws if the package has no such kernel.
 */
export function capturePackageKernel(name: string): tf.KernelConfig {
  const known = packageKernels.get(name);
  if (known) return known;
  const config = tf.getKernel(name, "wasm");
  if (!config) throw new Error(`tfjs-backend-wasm: kernel '${name}' is not registered`);
  packageKernels.set(name, config);
  return config;
}

/** What a kernel function receives. */
export interface KernelArgs {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}

/**
 * The config of a kernel that replaces the package's kernel `name` where it can: `impl` returns
 * its output, or null to hand the call to the package's kernel. The package kernel's setup (its
 * wasm function binding) runs with ours, for that fallback and for kernels that build on it.
 */
export function replacingPackageKernel(
  name: string,
  impl: (args: KernelArgs) => TensorInfo | null,
): tf.KernelConfig {
  const kernelFunc = (args: KernelArgs) =>
    impl(args) ?? capturePackageKernel(name).kernelFunc(args as Parameters<tf.KernelFunc>[0]);
  return {
    kernelName: name,
    backendName: "wasm",
    kernelFunc: kernelFunc as tf.KernelFunc,
    setupFunc: (backend) => capturePackageKernel(name).setupFunc?.(backend),
  };
}

/** Runs the wasm package's own kernel `name` and returns its single output. */
export function runPackageKernel(
  name: string,
  backend: BackendWasm,
  inputs: Record<string, TensorInfo>,
  attrs: Attrs = {},
): TensorInfo {
  const config = capturePackageKernel(name);
  const out = config.kernelFunc({ inputs, backend, attrs });
  if (Array.isArray(out)) throw new Error(`tfjs-backend-wasm: kernel '${name}' returned several outputs`);
  return out;
}

/** Releases intermediate results made by `runPackageKernel` / `backend.makeOutput`. */
export function release(backend: BackendWasm, ...infos: TensorInfo[]): void {
  for (const t of infos) backend.disposeData(t.dataId);
}

/** A float32 view of a tensor's data on the wasm heap (valid until the heap next grows). */
export function heapF32(backend: BackendWasm, t: TensorInfo): Float32Array {
  return backend.typedArrayFromHeap(t) as Float32Array;
}

/** Copies `count` float32 elements inside the wasm heap (src/dst offsets in elements). */
export function copyF32(
  backend: BackendWasm,
  src: TensorInfo,
  srcOffset: number,
  dst: TensorInfo,
  dstOffset: number,
  count: number,
): void {
  const from = backend.getMemoryOffset(src.dataId) + 4 * srcOffset;
  const to = backend.getMemoryOffset(dst.dataId) + 4 * dstOffset;
  // The module's current heap view (typedArrayFromHeap reads the same property).
  const heap = (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8;
  heap.copyWithin(to, from, from + 4 * count);
}

/**
 * `axes` (deduplicated, in any order) as one contiguous block first..last of `shape`'s axes, with
 * the tensor viewed as [outer, mid, inner] around it; null when there are none or they leave a gap.
 */
export function axisBlock(
  shape: readonly number[],
  axes: readonly number[],
): { first: number; last: number; outer: number; mid: number; inner: number } | null {
  const sorted = [...new Set(axes)].sort((a, b) => a - b);
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  if (first === undefined || last === undefined || last - first + 1 !== sorted.length) return null;
  return {
    first,
    last,
    outer: sizeFromShape(shape.slice(0, first)),
    mid: sizeFromShape(shape.slice(first, last + 1)),
    inner: sizeFromShape(shape.slice(last + 1)),
  };
}

/** Shape with the last two axes swapped. */
export function swapLastTwo(shape: readonly number[]): number[] {
  const r = shape.length;
  const out = [...shape];
  out[r - 2] = shape[r - 1]!;
  out[r - 1] = shape[r - 2]!;
  return out;
}

/** Axis permutation that swaps the last two axes of a rank-`rank` tensor. */
export function swapLastTwoPerm(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}
