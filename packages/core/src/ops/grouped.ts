/**
 * Grouped operations: G independent problems with their own weights, one op for all of them.
 * tfjs has no grouped convolution, and tfjs-wasm's BatchMatMul with a batch > 1 takes a slow naive
 * path, so on wasm these run as kernels of our own (`GroupedConv2D`, `GroupedMatMul`, see
 * kernels/wasm) that call XNNPACK once per group on views into wasm memory: no copies, no
 * per-group op dispatch. Other backends get the plain formulation below.
 */
import { GROUPED_CONV2D, GROUPED_MATMUL, type GroupedConv2DAttrs } from "../kernels/names.ts";
import { type Tensor, tf } from "../tf.ts";

export { GROUPED_CONV2D, GROUPED_MATMUL };

function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** Options of the grouped convolutions (one filter bank per model in a batch of models). */
export interface GroupedConvOptions {
  /** Zero padding on every side (default 0: 'valid'). */
  pad?: number;
  /** Per-group bias [G, O], added to every output position of the group. */
  bias?: Tensor;
}

/**
 * The output shape [G*B, H+2p-k+1, W+2p-k+1, O] of a grouped conv of x [G*B, H, W, C] with
 * w [G, k, k, C, O] and bias [G, O] (or none); throws, prefixed with `kernel`, naming the shapes
 * that do not fit. Shared by the backends' GroupedConv2D kernels.
 */
export function groupedConvOutShape(
  kernel: string,
  x: readonly number[],
  w: readonly number[],
  bias: readonly number[] | undefined,
  pad: number,
): [number, number, number, number] {
  const [GB, H, W, C] = x as [number, number, number, number];
  const [G, k, , , O] = w as [number, number, number, number, number];
  if (x.length !== 4 || w.length !== 5 || GB % G !== 0 || w[3] !== C) {
    throw new Error(`${kernel}: x ${x} does not fit ${G} groups of filters ${w}`);
  }
  if (bias && (bias.length !== 2 || bias[0] !== G || bias[1] !== O)) {
    throw new Error(`${kernel}: bias ${bias} is not [${G}, ${O}]`);
  }
  return [GB, H + 2 * pad - k + 1, W + 2 * pad - k + 1, O];
}

/** A grouped conv's sizes: G groups of B samples, x [G*B, H, W, C], filters k x k, O channels out. */
export interface GroupedConvDims {
  G: number;
  B: number;
  H: number;
  W: number;
  C: number;
  k: number;
  O: number;
}

/** A GroupedConv2D kernel call's inputs, its attr pad, its checked output shape and its sizes. */
export interface GroupedConvCall extends GroupedConvDims {
  x: tf.TensorInfo;
  w: tf.TensorInfo;
  bias: tf.TensorInfo | undefined;
  pad: number;
  outShape: [number, number, number, number];
}

/** Reads a GroupedConv2D kernel's inputs and attrs, checked (`groupedConvOutShape`). Shared by the backends. */
export function groupedConvCall(args: {
  inputs: tf.NamedTensorInfoMap;
  attrs?: tf.NamedAttrMap;
}): GroupedConvCall {
  const { x, w, bias } = args.inputs as { x: tf.TensorInfo; w: tf.TensorInfo; bias?: tf.TensorInfo };
  const pad = (args.attrs as GroupedConv2DAttrs | undefined)?.pad ?? 0;
  const outShape = groupedConvOutShape(GROUPED_CONV2D, x.shape, w.shape, bias?.shape, pad);
  const [GB, H, W, C] = x.shape as [number, number, number, number];
  const [G, k, , , O] = w.shape as [number, number, number, number, number];
  return { x, w, bias, pad, outShape, G, B: GB / G, H, W, C, k, O };
}

/**
 * x [G*B, H, W, C] (group-major batch), w [G, k, k, C, O] -> [G*B, H+2p-k+1, W+2p-k+1, O]:
 * group g's samples are convolved (stride 1, zero padding p) with group g's filter, plus its bias.
 */
export function groupedConv2d(x: Tensor, w: Tensor, opts: GroupedConvOptions = {}): Tensor {
  const pad = opts.pad ?? 0;
  if (hasKernel(GROUPED_CONV2D)) {
    const inputs: tf.NamedTensorMap = opts.bias ? { x, w, bias: opts.bias } : { x, w };
    return tf.engine().runKernel(GROUPED_CONV2D, inputs, { pad }) as Tensor;
  }
  return tf.tidy(() => {
    const G = w.shape[0]!;
    const xs = tf.split(x, G, 0);
    const ws = tf.unstack(w, 0);
    const bs = opts.bias ? tf.unstack(opts.bias, 0) : null;
    return tf.concat(
      xs.map((xg, g) => {
        const y = tf.conv2d(
          xg as tf.Tensor4D,
          ws[g]! as tf.Tensor4D,
          1,
          pad === 0
            ? "valid"
            : [
                [0, 0],
                [pad, pad],
                [pad, pad],
                [0, 0],
              ],
        );
        return bs ? tf.add(y, bs[g]!) : y;
      }),
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

/**
 * [G, k, k, C, O] -> [G, k, k, O, C] spatially flipped: the filters of the input gradient.
 * Rank 4 throughout (tfjs-wasm's rank-5 Transpose and Reverse are slow): flipping both spatial
 * axes reverses the flattened k*k index.
 */
function flipTransposeFilters(w: Tensor): Tensor {
  const [G, k, , C, O] = w.shape as [number, number, number, number, number];
  const t = tf.transpose(tf.reshape(w, [G, k * k, C, O]), [0, 1, 3, 2]);
  return tf.reshape(tf.reverse(t, 1), [G, k, k, O, C]);
}

/**
 * dw[g] = sum_b sum_p x[g,b,p+q,c] dy[g,b,p,o], as one grouped convolution: the transposed input
 * (channels as batch, samples as channels) correlated with the transposed output gradient used as
 * the filter. x [G*B, H, W, C], dy [G*B, oh, ow, O] -> [G, k, k, C, O].
 */
function groupedFilterGrad(x: Tensor, dy: Tensor, G: number): Tensor {
  const [GB, H, W, C] = x.shape as [number, number, number, number];
  const B = GB / G;
  const [, oh, ow, O] = dy.shape as [number, number, number, number];
  const k = H - oh + 1;
  const xT = tf.reshape(tf.transpose(tf.reshape(x, [G, B, H * W, C]), [0, 3, 2, 1]), [G * C, H, W, B]);
  const dyT = tf.reshape(tf.transpose(tf.reshape(dy, [G, B, oh * ow, O]), [0, 2, 1, 3]), [G, oh, ow, B, O]);
  const dwT = groupedConv2d(xT, dyT); // [G*C, k, k, O]
  const dw = tf.transpose(tf.reshape(dwT, [G, C, k * k, O]), [0, 2, 1, 3]);
  return tf.reshape(dw, [G, k, k, C, O]);
}

/**
 * `groupedConv2d` with a gradient, for training many models at once. Both gradients are grouped
 * convolutions themselves: dx correlates the output gradient, zero-padded by k-1, with the
 * flipped, in/out-swapped filters; dw is `groupedFilterGrad`.
 */
export const groupedConv2dTrainable = tf.customGrad(((x: Tensor, w: Tensor, save: tf.GradSaveFunc) => {
  const y = groupedConv2d(x, w);
  save([x, w]);
  return {
    value: y,
    gradFunc: (dy: Tensor, saved: Tensor[]) => {
      const [xs, ws] = saved as [Tensor, Tensor];
      const [G, k] = ws.shape as [number, number];
      const dx = groupedConv2d(dy, flipTransposeFilters(ws), { pad: k - 1 });
      return [dx, groupedFilterGrad(xs, dy, G)];
    },
  };
}) as unknown as CustomGradFn) as unknown as (x: Tensor, w: Tensor) => Tensor;

/**
 * `groupedConv2d` with a gradient for the filters only, for a first layer whose input is data:
 * no input gradient is computed (tfjs would evaluate a custom gradient for every input).
 */
export function groupedConv2dFilterTrainable(x: Tensor, w: Tensor): Tensor {
  const G = w.shape[0]!;
  const f = tf.customGrad(((wt: Tensor, _save: tf.GradSaveFunc) => ({
    value: groupedConv2d(x, wt),
    gradFunc: (dy: Tensor) => [groupedFilterGrad(x, dy, G)],
  })) as unknown as CustomGradFn) as unknown as (w: Tensor) => Tensor;
  return f(w);
}
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

/** `groupedMatMul` (per-group a) with a gradient for b only, for a first layer whose input is data. */
export function groupedMatMulWeightTrainable(a: Tensor, b: Tensor): Tensor {
  const f = tf.customGrad(((bt: Tensor, _save: tf.GradSaveFunc) => ({
    value: groupedMatMul(a, bt),
    gradFunc: (dy: Tensor) => [groupedMatMul(tf.transpose(a, [0, 2, 1]), dy)],
  })) as unknown as CustomGradFn) as unknown as (b: Tensor) => Tensor;
  return f(b);
}
