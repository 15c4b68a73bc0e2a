/**
 * The probe forward's conv blocks as single ops (inference, no gradient): relu(maxpool2x2(conv + b))
 * for M models at once, where the pool and ReLU run on the convolution's output while it is still
 * in cache, instead of the whole output going out to memory and back for each following layer.
 *
 * - `sharedConvPoolRelu`: the first layer over the fixed probes, one matMul of their patches (with
 *   a ones column for the bias) against all models' filters side by side, as batchedForward does.
 *   The kernel runs it a few probes at a time; each slice's output [rows, M*O] is pooled and
 *   regrouped to model-major right away. Before: the whole [100*24*24, 650] output (150 MB for
 *   65 MNIST models), then a max pool, a ReLU and a transpose over it.
 * - `groupedConvPoolReluInference`: a conv over per-model activations, each model's convolution
 *   pooled as soon as it is done.
 *
 * Same values as the layers one by one, bit for bit: the matMul and the convolutions are the same
 * XNNPACK calls on the same rows (each output sums the same products in the same order), max and
 * ReLU are exact. Where the backend lacks the kernels, `convPoolInferenceFusable` is false and
 * batchedForward runs the layers.
 */
import { GROUPED_CONV_POOL_INFERENCE, SHARED_CONV_POOL } from "../kernels/names.ts";
import { type Tensor, tf } from "../tf.ts";

export { GROUPED_CONV_POOL_INFERENCE, SHARED_CONV_POOL };

/** Whether the current backend runs both inference blocks. */
export function convPoolInferenceFusable(): boolean {
  const backend = tf.getBackend();
  return (
    tf.getKernel(SHARED_CONV_POOL, backend) !== undefined &&
    tf.getKernel(GROUPED_CONV_POOL_INFERENCE, backend) !== undefined
  );
}

/**
 * patches [B*oh*ow, K] (the probes' patches, a ones column last), side [K, M*O] (every model's
 * filters side by side, the bias as the last row) -> relu(maxpool2x2(patches x side)) regrouped to
 * [M*B, oh/2, ow/2, O]. oh and ow must be even. `sliceBytes` bounds the matMul output the kernel
 * holds at once (tests use it to force several slices; the kernel's default suits the cache).
 */
export function sharedConvPoolRelu(
  patches: Tensor,
  side: Tensor,
  oh: number,
  ow: number,
  M: number,
  sliceBytes?: number,
): Tensor {
  const attrs: tf.NamedAttrMap = { oh, ow, M };
  if (sliceBytes !== undefined) attrs.sliceBytes = sliceBytes;
  return tf.engine().runKernel(SHARED_CONV_POOL, { patches, side }, attrs) as Tensor;
}

/**
 * x [G*B, H, W, C] (group-major), w [G, k, k, C, O], b [G, O] -> relu(maxpool2x2(conv(x, w) + b))
 * [G*B, (H-k+1)/2, (W-k+1)/2, O]; H-k+1 and W-k+1 must be even.
 */
export function groupedConvPoolReluInference(x: Tensor, w: Tensor, b: Tensor): Tensor {
  return tf.engine().runKernel(GROUPED_CONV_POOL_INFERENCE, { x, w, b }, {}) as Tensor;
}
