/**
 * Grouped operations: G independent problems with their own weights, one op for all of them.
 * tfjs has no grouped convolution, and tfjs-wasm's BatchMatMul with a batch > 1 takes a slow naive
 * path, so on wasm these run as kernels of our own (`GroupedConv2D`, `GroupedMatMul`, see
 * kernels/wasm) that call XNNPACK once per group on views into wasm memory: no copies, no
 * per-group op dispatch. Other backends get the plain formulation below.
 */
import { type Tensor, tf } from "../tf.ts";

export const GROUPED_CONV2D = "GroupedConv2D";
export const GROUPED_MATMUL = "GroupedMatMul";

function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/**
 * x [G*B, H, W, C] (group-major batch), w [G, k, k, C, O] -> [G*B, H-k+1, W-k+1, O]:
 * group g's samples are convolved ('valid', stride 1) with group g's filter.
 */
export function groupedConv2d(x: Tensor, w: Tensor): Tensor {
  if (hasKernel(GROUPED_CONV2D)) return tf.engine().runKernel(GROUPED_CONV2D, { x, w }, {}) as Tensor;
  return tf.tidy(() => {
    const G = w.shape[0]!;
    const xs = tf.split(x, G, 0);
    const ws = tf.unstack(w, 0);
    return tf.concat(
      xs.map((xg, g) => tf.conv2d(xg as tf.Tensor4D, ws[g]! as tf.Tensor4D, 1, "valid")),
      0,
    );
  });
}

/**
 * a [G, P, K] (or [P, K], shared by all groups), b [G, K, N] -> [G, P, N].
 */
export function groupedMatMul(a: Tensor, b: Tensor): Tensor {
  if (hasKernel(GROUPED_MATMUL)) return tf.engine().runKernel(GROUPED_MATMUL, { a, b }, {}) as Tensor;
  return tf.tidy(() => (a.rank === 2 ? tf.matMul(tf.expandDims(a, 0), b) : tf.matMul(a, b)));
}
