/**
 * `GroupedConvPoolGrad` for the wasm backend: the sparse gradient of the conv block
 * (ops/conv-pool.ts), straight on the wasm heap.
 *
 * Inputs: dy [GB, ph, pw, O] (the gradient of the block's output), y and idx [GB, ph, pw, O] (the
 * forward kernel's outputs), x [GB, H, W, C], w [G, k, k, C, O] (or [1, ...]: one set of filters
 * for all groups), mask [GB, O] (optional). Attrs inputGrad, groups (G; default w's first axis).
 * Outputs: dw [G, k, k, C, O], db [G, O], and with inputGrad dx [GB, H, W, C].
 *
 * Only window winners whose output passed the ReLU get a gradient (conv-pool.ts describes the
 * sums). Three paths, the same bits: a filter gradient alone for 5x5 filters with rows of at most
 * 8 values (MNIST's first layer) held in registers; the general SIMD kernel; JavaScript where
 * WebAssembly SIMD is missing. The SIMD paths keep the filters and their gradient transposed to
 * [G, O, k, k*C] with rows padded to whole vectors, in scratch on the heap.
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { sizeFromShape } from "../../shape.ts";
import type { tf } from "../../tf.ts";
import { GROUPED_CONV_POOL_GRAD, type GroupedConvPoolGradAttrs } from "../names.ts";
import { type ConvPoolDims, convPoolGradJs, transposeFilters, untransposeFilters } from "./conv-pool.ts";
import { copyF32, heapF32, type KernelArgs, release, type TensorInfo } from "./kernel-utils.ts";
import { type SimdKernels, simdKernels } from "./simd/instance.ts";

/**
 * The sizes, from x and w and the attr `groups` (default: w's first axis). w may hold one set of
 * filters for all groups (w [1, ...] with groups > 1: each sample its own group, one model's
 * filters; the per-sample gradients of the engine's single-sample updates).
 */
function dimsOf(
  x: TensorInfo,
  w: TensorInfo,
  groups: number | undefined,
): ConvPoolDims & { shared: boolean } {
  const [GB, H, W, C] = x.shape as [number, number, number, number];
  const [wG, k, , , O] = w.shape as [number, number, number, number, number];
  const G = groups ?? wG;
  if (!Number.isInteger(G) || G < 1 || GB % G !== 0 || (wG !== G && wG !== 1)) {
    throw new Error(`${GROUPED_CONV_POOL_GRAD}: x [${x.shape}] and w [${w.shape}] do not fit ${G} groups`);
  }
  return { G, B: GB / G, H, W, C, k, O, shared: wG !== G };
}

/** wT [G, O, k, stride] from w: transposed, then copied to every group where w is shared. */
function fillTransposed(
  w: Float32Array,
  d: ConvPoolDims & { shared: boolean },
  out: Float32Array,
  stride: number,
): void {
  transposeFilters(w, d.shared ? { ...d, G: 1 } : d, out, stride);
  const per = d.O * d.k * stride;
  if (d.shared) for (let g = 1; g < d.G; g++) out.copyWithin(g * per, 0, per);
}

/** The kernel's tensors: its inputs, its outputs (dx only with the attr inputGrad), its sizes. */
interface GradTensors {
  dy: TensorInfo;
  y: TensorInfo;
  idx: TensorInfo;
  x: TensorInfo;
  w: TensorInfo;
  mask: TensorInfo | undefined;
  dw: TensorInfo;
  db: TensorInfo;
  dx: TensorInfo | null;
  d: ConvPoolDims & { shared: boolean };
}

function groupedConvPoolGrad(args: KernelArgs): TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { dy, y, idx, x, w, mask } = args.inputs as Record<string, TensorInfo | undefined>;
  const attrs = args.attrs as Partial<GroupedConvPoolGradAttrs> | undefined;
  const inputGrad = attrs?.inputGrad === true;
  if (!dy || !y || !idx || !x || !w) throw new Error(`${GROUPED_CONV_POOL_GRAD}: needs dy, y, idx, x and w`);
  const d = dimsOf(x, w, attrs?.groups);
  const dw = backend.makeOutput([d.G, d.k, d.k, d.C, d.O], "float32");
  const db = backend.makeOutput([d.G, d.O], "float32");
  const dx = inputGrad ? backend.makeOutput(x.shape, "float32") : null;
  const t: GradTensors = { dy, y, idx, x, w, mask, dw, db, dx, d };
  const simd = simdKernels(backend);
  if (simd) gradSimd(backend, simd, t);
  else gradJs(backend, t);
  return dx ? [dw, db, dx] : [dw, db];
}

/** The JavaScript path, where WebAssembly SIMD is missing: filters transposed in host arrays. */
function gradJs(backend: BackendWasm, t: GradTensors): void {
  const { d, dx } = t;
  const kC = d.k * d.C;
  const wT = dx ? new Float32Array(d.G * d.O * d.k * kC) : null;
  if (wT) fillTransposed(heapF32(backend, t.w), d, wT, kC);
  const dwT = new Float32Array(d.G * d.O * d.k * kC);
  const dbs = heapF32(backend, t.db);
  dbs.fill(0);
  const dxs = dx ? heapF32(backend, dx) : null;
  dxs?.fill(0);
  const idxs = backend.typedArrayFromHeap(t.idx) as Int32Array;
  // prettier-ignore
  convPoolGradJs(
    d,
    heapF32(backend, t.dy),
    heapF32(backend, t.y),
    idxs,
    heapF32(backend, t.x),
    t.mask ? heapF32(backend, t.mask) : null,
    wT,
    dwT,
    dbs,
    dxs,
  );
  untransposeFilters(dwT, d, heapF32(backend, t.dw));
}

/** The SIMD kernels, on the heap: filters and their gradient transposed in scratch tensors. */
function gradSimd(backend: BackendWasm, simd: SimdKernels, t: GradTensors): void {
  const { d, dx } = t;
  const kC = d.k * d.C;
  const stride = Math.ceil(kC / 4) * 4;
  const padded = d.G * d.O * d.k * stride;
  const wT = dx ? backend.makeOutput([padded], "float32") : null;
  const dwT = backend.makeOutput([padded], "float32");
  const xCopy = roomyCopy(backend, t.x);
  if (wT) fillTransposed(heapF32(backend, t.w), d, heapF32(backend, wT), stride);
  const at = (u: TensorInfo | null | undefined) => (u ? backend.getMemoryOffset(u.dataId) : 0);
  const xp = at(xCopy ?? t.x);
  if (!dx && d.k === 5 && stride === 8) {
    // prettier-ignore
    simd.convPoolFilterGrad5x8(
      at(t.dy),
      at(t.y),
      at(t.idx),
      xp,
      at(t.mask),
      at(dwT),
      at(t.db),
      d.G,
      d.B,
      d.H,
      d.W,
      d.C,
      d.O,
    );
  } else {
    heapF32(backend, dwT).fill(0);
    heapF32(backend, t.db).fill(0);
    if (dx) heapF32(backend, dx).fill(0);
    // prettier-ignore
    simd.convPoolGrad(
      at(t.dy),
      at(t.y),
      at(t.idx),
      xp,
      at(t.mask),
      at(wT),
      at(dwT),
      at(t.db),
      at(dx),
      d.G * d.B,
      d.B,
      d.H,
      d.W,
      d.C,
      d.k,
      d.O,
    );
  }
  untransposeFilters(heapF32(backend, dwT), d, heapF32(backend, t.dw), stride);
  release(backend, dwT, ...(wT ? [wT] : []), ...(xCopy ? [xCopy] : []));
}

/**
 * The kernels read up to stride - k*C values past x's rows, so past x's end too: where x ends
 * less than a vector before the heap's end, they read a copy with room after it (returned; the
 * caller releases it). Null where x itself has the room.
 */
function roomyCopy(backend: BackendWasm, x: TensorInfo): TensorInfo | null {
  const heapBytes = (backend.wasm as unknown as { HEAPU8: Uint8Array }).HEAPU8.byteLength;
  const xSize = sizeFromShape(x.shape);
  const xCopy =
    backend.getMemoryOffset(x.dataId) + 4 * xSize + 16 > heapBytes
      ? backend.makeOutput([xSize + 4], "float32")
      : null;
  if (xCopy) copyF32(backend, x, 0, xCopy, 0, xSize);
  return xCopy;
}

export const groupedConvPoolGradConfig: tf.KernelConfig = {
  kernelName: GROUPED_CONV_POOL_GRAD,
  backendName: "wasm",
  kernelFunc: groupedConvPoolGrad as unknown as tf.KernelFunc,
};
