/**
 * `SharedConvPool` for the wasm backend (ops/conv-pool-inference.ts): the probes' first conv block.
 * patches [B*oh*ow, K], side [K, M*O], attrs oh, ow, M -> y [M*B, oh/2, ow/2, O] =
 * relu(maxpool2x2(patches x side)), regrouped model-major.
 *
 * The matMul is the package's BatchMatMul (XNNPACK, both threads) on a slice of the patch rows at
 * a time (whole pooled rows, `SLICE_BYTES`), written to one scratch buffer small enough to stay in
 * cache; each slice is then pooled and regrouped into y in one pass (poolReluRegroup2x2, simd/kernels.wat, or its JavaScript twin in
 * conv-pool.ts where SIMD is missing). Every output of the matMul is the same sum of the same
 * products as in one matMul over all rows, so y has the bits of matMul, maxPool, relu and the
 * regrouping transpose.
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import type { tf } from "../../tf.ts";
import { SHARED_CONV_POOL, type SharedConvPoolAttrs } from "../names.ts";
import { poolReluRegroupJs } from "./conv-pool.ts";
import { heapF32, type KernelArgs, release, type TensorInfo } from "./kernel-utils.ts";
import { simdKernels } from "./simd/instance.ts";
import { bind, view, type WasmBackendLike } from "./xnnpack.ts";

/**
 * The most bytes of matMul output per slice (attr `sliceBytes` overrides it), at least one pooled
 * row (two rows of the conv's output). Measured on [57600, 26] x [26, M*10], 8 interleaved rounds,
 * median ms: for M = 65, 36.9-40.9 with 0.5-8 MiB slices, 45.6 with 16 MiB, 46.5 for matMul,
 * maxPool, relu and the transpose; for M = 245, 131 with 2-4 MiB, 147 with 0.5 MiB, 156 with
 * 16 MiB, 164 unfused. The cores' L2 caches hold 2 MiB each.
 */
export const SLICE_BYTES = 2 ** 21;

function sharedConvPool(args: KernelArgs): TensorInfo {
  const backend = args.backend as BackendWasm;
  const b = backend as unknown as WasmBackendLike;
  const { patches, side } = args.inputs as Record<string, TensorInfo | undefined>;
  if (!patches || !side) throw new Error(`${SHARED_CONV_POOL}: needs patches and side`);
  const { oh, ow, M, sliceBytes } = args.attrs as unknown as SharedConvPoolAttrs;
  const [R, K] = patches.shape as [number, number];
  const [K2, MO] = side.shape as [number, number];
  const B = R / (oh * ow);
  const O = MO / M;
  if (K2 !== K || !Number.isInteger(B) || !Number.isInteger(O) || oh % 2 !== 0 || ow % 2 !== 0) {
    throw new Error(
      `${SHARED_CONV_POOL}: patches [${patches.shape}] and side [${side.shape}] do not fit ${M} models' ${oh}x${ow} outputs (even sides)`,
    );
  }
  const [ph, pw] = [oh / 2, ow / 2];
  const y = backend.makeOutput([M * B, ph, pw, O], "float32");
  // A slice is q pooled rows: 2q rows of the conv's output (ow patches each), taken in order over
  // (probe, row); oh is even, so no slice splits a pooling window.
  const rowBytes = 4 * 2 * ow * MO;
  const q = Math.max(1, Math.min(B * ph, Math.floor((sliceBytes ?? SLICE_BYTES) / rowBytes)));
  const scratch = backend.makeOutput([q * 2 * ow, MO], "float32");
  const tmp = backend.makeOutput([MO], "float32");
  const simd = O >= 4 ? simdKernels(backend) : null;
  const f = bind(b);
  const po = backend.getMemoryOffset(patches.dataId);
  const so = backend.getMemoryOffset(side.dataId);
  const zo = backend.getMemoryOffset(scratch.dataId);
  const yo = backend.getMemoryOffset(y.dataId);
  const to = backend.getMemoryOffset(tmp.dataId);
  const sideId = view(b, K * MO, so);
  const bShape = new Uint8Array(new Int32Array([1, K, MO]).buffer);
  const yStride = B * ph * pw * O;
  for (let r0 = 0; r0 < B * ph; r0 += q) {
    const nr = Math.min(q, B * ph - r0);
    const rows = nr * 2 * ow;
    const ai = view(b, rows * K, po + 4 * r0 * 2 * ow * K);
    const zi = view(b, rows * MO, zo);
    f.batchMatMul(ai, new Uint8Array(new Int32Array([1, rows, K]).buffer), 3, sideId, bShape, 3, 0, 0, zi);
    b.wasm.tfjs.disposeData(ai);
    b.wasm.tfjs.disposeData(zi);
    // Pooled rows r0.. of every model: one "sample" of nr rows, model m's at y + m * yStride.
    const at = r0 * pw * O;
    if (simd) simd.poolReluRegroup2x2(zo, yo + 4 * at, to, 1, nr, pw, M, O, 4 * yStride);
    else
      poolReluRegroupJs(
        heapF32(backend, scratch),
        heapF32(backend, y).subarray(at),
        1,
        nr,
        pw,
        M,
        O,
        yStride,
      );
  }
  b.wasm.tfjs.disposeData(sideId);
  release(backend, scratch, tmp);
  return y;
}

export const sharedConvPoolConfig: tf.KernelConfig = {
  kernelName: SHARED_CONV_POOL,
  backendName: "wasm",
  kernelFunc: sharedConvPool as unknown as tf.KernelFunc,
};
