/**
 * `GroupedConvPool` for the wasm backend: the forward pass of the conv block (ops/conv-pool.ts).
 * Inputs x [G*B, H, W, C], w [G, k, k, C, O], b [G, O], mask [G*B, O] (optional). Outputs
 * y [G*B, ph, pw, O] = relu(maxpool2x2(conv(x, w) + b)) * mask and idx [G*B, ph, pw, O] (int32,
 * each window's winner, 2 * row + column), which the gradient uses instead of searching again.
 * The convolution is `GroupedConv2D`'s (XNNPACK, bias included); the pool, ReLU and mask are one
 * pass, in SIMD for O >= 4 (simd/kernels.wat), else in JavaScript (conv-pool.ts), same bits.
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { tf } from "../../tf.ts";
import { GROUPED_CONV_POOL, GROUPED_CONV2D } from "../names.ts";
import { poolReluMaskJs } from "./conv-pool.ts";
import { heapF32, type KernelArgs, release, type TensorInfo } from "./kernel-utils.ts";
import { simdKernels } from "./simd/instance.ts";

function groupedConvPool(args: KernelArgs): TensorInfo[] {
  const backend = args.backend as BackendWasm;
  const { x, w, b, mask } = args.inputs as Record<string, TensorInfo | undefined>;
  if (!x || !w || !b) throw new Error(`${GROUPED_CONV_POOL}: needs x, w and b`);
  const conv = tf.getKernel(GROUPED_CONV2D, "wasm");
  if (!conv) throw new Error(`${GROUPED_CONV_POOL}: needs the wasm ${GROUPED_CONV2D} kernel registered`);
  const z = conv.kernelFunc({ inputs: { x, w, bias: b }, backend, attrs: { pad: 0 } }) as TensorInfo;
  const [GB, oh, ow, O] = z.shape as [number, number, number, number];
  if (oh % 2 !== 0 || ow % 2 !== 0) {
    release(backend, z);
    throw new Error(`${GROUPED_CONV_POOL}: the convolution's output ${oh}x${ow} must have even sides`);
  }
  if (mask && (mask.shape.length !== 2 || mask.shape[0] !== GB || mask.shape[1] !== O)) {
    release(backend, z);
    throw new Error(`${GROUPED_CONV_POOL}: mask ${mask.shape} is not [${GB}, ${O}]`);
  }
  const [ph, pw] = [oh / 2, ow / 2];
  const y = backend.makeOutput([GB, ph, pw, O], "float32");
  const idx = backend.makeOutput([GB, ph, pw, O], "int32");
  const simd = O >= 4 ? simdKernels(backend) : null;
  if (simd) {
    const at = (t: TensorInfo | undefined) => (t ? backend.getMemoryOffset(t.dataId) : 0);
    simd.poolReluMask2x2(at(z), at(mask), at(y), at(idx), GB, ph, pw, O);
  } else {
    const idxs = backend.typedArrayFromHeap(idx) as Int32Array;
    // prettier-ignore
    poolReluMaskJs(
      heapF32(backend, z),
      mask ? heapF32(backend, mask) : null,
      heapF32(backend, y),
      idxs,
      GB,
      ph,
      pw,
      O,
    );
  }
  release(backend, z);
  return [y, idx];
}

export const groupedConvPoolConfig: tf.KernelConfig = {
  kernelName: GROUPED_CONV_POOL,
  backendName: "wasm",
  kernelFunc: groupedConvPool as unknown as tf.KernelFunc,
};
