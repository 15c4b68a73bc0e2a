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

type CustomGradFn = Parameters<typeof tf.customGrad>[0];

/** [G, k, k, C, O] -> [G, k, k, O, C] spatially flipped: the filters of the input gradient. */
function flipTransposeFilters(w: Tensor): Tensor {
  return tf.transpose(tf.reverse(w, [1, 2]), [0, 1, 2, 4, 3]);
}

/**
 * `groupedConv2d` with a gradient, for training many models at once. Both gradients are grouped
 * convolutions themselves: dx correlates the zero-padded output gradient with the flipped,
 * in/out-swapped filters; dw correlates the transposed input (channels as batch, samples as
 * channels) with the transposed output gradient used as the filter.
 */
export const groupedConv2dTrainable = tf.customGrad(((x: Tensor, w: Tensor, save: tf.GradSaveFunc) => {
  const y = groupedConv2d(x, w);
  save([x, w]);
  return {
    value: y,
    gradFunc: (dy: Tensor, saved: Tensor[]) => {
      const [xs, ws] = saved as [Tensor, Tensor];
      const [G, k, , C, O] = ws.shape as [number, number, number, number, number];
      const [GB, H, W] = xs.shape as [number, number, number, number];
      const B = GB / G;
      const [, oh, ow] = dy.shape as [number, number, number, number];
      const dyPad = tf.pad(dy, [
        [0, 0],
        [k - 1, k - 1],
        [k - 1, k - 1],
        [0, 0],
      ]);
      const dx = groupedConv2d(dyPad, flipTransposeFilters(ws));
      // dw[g] = sum_b sum_p x[g,b,p+q,c] dy[g,b,p,o]: channels as batch, samples as channels.
      const xT = tf.reshape(tf.transpose(tf.reshape(xs, [G, B, H * W, C]), [0, 3, 2, 1]), [G * C, H, W, B]);
      const dyT = tf.reshape(tf.transpose(tf.reshape(dy, [G, B, oh * ow, O]), [0, 2, 1, 3]), [
        G,
        oh,
        ow,
        B,
        O,
      ]);
      const dwT = groupedConv2d(xT, dyT); // [G*C, k, k, O]
      const dw = tf.transpose(tf.reshape(dwT, [G, C, k, k, O]), [0, 2, 3, 1, 4]);
      return [dx, dw];
    },
  };
}) as unknown as CustomGradFn) as unknown as (x: Tensor, w: Tensor) => Tensor;

/** `groupedMatMul` (per-group a) with a gradient: both gradients are grouped matMuls. */
export const groupedMatMulTrainable = tf.customGrad(((a: Tensor, b: Tensor, save: tf.GradSaveFunc) => {
  const y = groupedMatMul(a, b);
  save([a, b]);
  return {
    value: y,
    gradFunc: (dy: Tensor, saved: Tensor[]) => {
      const [as, bs] = saved as [Tensor, Tensor];
      const da = groupedMatMul(dy, tf.transpose(bs, [0, 2, 1]));
      const db = groupedMatMul(tf.transpose(as, [0, 2, 1]), dy);
      return [da, db];
    },
  };
}) as unknown as CustomGradFn) as unknown as (a: Tensor, b: Tensor) => Tensor;
