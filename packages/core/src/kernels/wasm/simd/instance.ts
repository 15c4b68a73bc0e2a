/**
 * The hand-written SIMD kernels (kernels.wat), instantiated on the wasm backend's own memory so
 * that they read and write tensors in place. One instance per backend memory, made on first use.
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { SHARED_WASM_BASE64, UNSHARED_WASM_BASE64 } from "./kernels.wasm.ts";

export interface SimdKernels {
  /** See kernels.wat. Pointers are byte offsets into the backend's heap. */
  maxPoolGrad2x2(
    x: number,
    dy: number,
    dx: number,
    batch: number,
    H: number,
    W: number,
    C: number,
    oH: number,
    oW: number,
  ): void;
  swapMiddle(x: number, y: number, A: number, N: number, M: number, c: number): void;
  reverseMiddle(x: number, y: number, A: number, N: number, c: number): void;
  broadcastMiddle(op: 0 | 1, x: number, y: number, out: number, A: number, N: number, c: number): void;
  sumMiddle(x: number, out: number, outer: number, mid: number, inner: number): void;
  poolReluMask2x2(
    z: number,
    mask: number,
    y: number,
    idx: number,
    GB: number,
    ph: number,
    pw: number,
    O: number,
  ): void;
  poolReluRegroup2x2(
    z: number,
    y: number,
    tmp: number,
    B: number,
    ph: number,
    pw: number,
    M: number,
    C: number,
    yStride: number,
  ): void;
  // prettier-ignore
  convPoolGrad(
    dy: number,
    y: number,
    idx: number,
    x: number,
    mask: number,
    wT: number,
    dwT: number,
    db: number,
    dx: number,
    GB: number,
    B: number,
    H: number,
    W: number,
    C: number,
    k: number,
    O: number,
  ): void;
  // prettier-ignore
  convPoolFilterGrad5x8(
    dy: number,
    y: number,
    idx: number,
    x: number,
    mask: number,
    dwT: number,
    db: number,
    G: number,
    B: number,
    H: number,
    W: number,
    C: number,
    O: number,
  ): void;
}

const instances = new WeakMap<WebAssembly.Memory, SimdKernels | null>();

function decode(base64: string): Uint8Array {
  return Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
}

/**
 * The kernels on `backend`'s memory, or null where this runtime cannot run them (no WebAssembly
 * SIMD: the backend then runs its non-SIMD build too, and callers take their JavaScript path).
 */
export function simdKernels(backend: BackendWasm): SimdKernels | null {
  // The threaded build creates its (shared) memory in JavaScript; the plain build exports its own.
  const module = backend.wasm as unknown as {
    wasmMemory?: WebAssembly.Memory;
    asm?: { memory?: WebAssembly.Memory };
  };
  const memory = module.wasmMemory ?? module.asm?.memory;
  if (!(memory instanceof WebAssembly.Memory)) {
    throw new Error(
      "simdKernels: found no WebAssembly.Memory on the wasm backend (tfjs-backend-wasm 4.22 keeps it in Module.wasmMemory in its threaded build, Module.asm.memory in the others)",
    );
  }
  const known = instances.get(memory);
  if (known !== undefined) return known;
  const shared = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
  const bytes = decode(shared ? SHARED_WASM_BASE64 : UNSHARED_WASM_BASE64);
  let kernels: SimdKernels | null = null;
  if (WebAssembly.validate(bytes)) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    kernels = instance.exports as unknown as SimdKernels;
  }
  instances.set(memory, kernels);
  return kernels;
}
