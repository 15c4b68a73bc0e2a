/**
 * A convolution block as one op with a sparse gradient: y = relu(maxpool2x2(conv(x, w) + b)) * mask
 * for G groups (models), each with its own filters, bias and per-(sample, channel) mask.
 *
 * Why: after a 2x2 max pool at most one output of the convolution in four gets a gradient, and
 * after the ReLU fewer still (MNIST: 16% of the first layer's outputs, 9% of the second's, the
 * second's dropout2d included). The dense backward (two grouped convolutions through XNNPACK, the
 * max-pool gradient, transposes, a flip) spent most of a training step multiplying zeros.
 * `GroupedConvPoolGrad` walks the pooled gradient instead and, for each window winner with a
 * nonzero gradient v, adds v times the winner's input patch to the filter gradient and v times
 * the filters to the input gradient: the dense sums without their zero terms, in another order,
 * so the same values up to float32 rounding. The forward kernel, `GroupedConvPool`, records each
 * window's winner, so the gradient needs neither the pre-pool activations nor a search.
 *
 * Both image architectures fit: MNIST's conv, dropout2d, maxpool, relu and CIFAR-10's conv, relu,
 * maxpool (a ReLU and a max pool commute exactly, and so does a nonnegative per-channel scale).
 * Used where the backend has both kernels (wasm); elsewhere the layers run one by one.
 */
import {
  GROUPED_CONV_POOL,
  GROUPED_CONV_POOL_GRAD,
  type GroupedConvPoolGradAttrs,
} from "../kernels/names.ts";
import { type Tensor, tf } from "../tf.ts";

export { GROUPED_CONV_POOL, GROUPED_CONV_POOL_GRAD };

/** Whether the current backend runs the fused block. */
export function convPoolFusable(): boolean {
  const backend = tf.getBackend();
  return (
    tf.getKernel(GROUPED_CONV_POOL, backend) !== undefined &&
    tf.getKernel(GROUPED_CONV_POOL_GRAD, backend) !== undefined
  );
}

type CustomGradFn = Parameters<typeof tf.customGrad>[0];

/**
 * The block for customGrad: its value from `GroupedConvPool` and a gradient function returning,
 * from `GroupedConvPoolGrad` with `gradAttrs`, the gradients of x (with inputGrad), w and b.
 */
function block(
  x: Tensor,
  w: Tensor,
  b: Tensor,
  mask: Tensor | null,
  gradAttrs: GroupedConvPoolGradAttrs,
  save: tf.GradSaveFunc,
) {
  const inputs: tf.NamedTensorMap = mask ? { x, w, b, mask } : { x, w, b };
  const [y, idx] = tf.engine().runKernel(GROUPED_CONV_POOL, inputs, {}) as [Tensor, Tensor];
  save([x, w, y, idx]);
  const gradFunc = (dy: Tensor, saved: Tensor[]): Tensor[] => {
    const [xs, ws, ys, is] = saved as [Tensor, Tensor, Tensor, Tensor];
    const gin: tf.NamedTensorMap = mask
      ? { dy, y: ys, idx: is, x: xs, w: ws, mask }
      : { dy, y: ys, idx: is, x: xs, w: ws };
    const attrs = gradAttrs as unknown as tf.NamedAttrMap;
    const [dw, db, dx] = tf.engine().runKernel(GROUPED_CONV_POOL_GRAD, gin, attrs) as Tensor[];
    return gradAttrs.inputGrad ? [dx!, dw!, db!] : [dw!, db!];
  };
  return { value: y, gradFunc };
}

/**
 * A custom-gradient op over [x, a, b] when `inputGrad`, else over [a, b] with x held fixed (tfjs
 * evaluates a custom gradient for every input, and data needs none). `run` gets the inputs as
 * tfjs passes them and returns the value and the gradients in that order.
 */
function withGradient(
  x: Tensor,
  a: Tensor,
  b: Tensor,
  inputGrad: boolean,
  run: (x: Tensor, a: Tensor, b: Tensor, save: tf.GradSaveFunc) => ReturnType<typeof block>,
): Tensor {
  if (inputGrad) {
    const f = tf.customGrad(((xt: Tensor, at: Tensor, bt: Tensor, save: tf.GradSaveFunc) =>
      run(xt, at, bt, save)) as unknown as CustomGradFn) as unknown as (
      x: Tensor,
      a: Tensor,
      b: Tensor,
    ) => Tensor;
    return f(x, a, b);
  }
  const f = tf.customGrad(((at: Tensor, bt: Tensor, save: tf.GradSaveFunc) =>
    run(x, at, bt, save)) as unknown as CustomGradFn) as unknown as (a: Tensor, b: Tensor) => Tensor;
  return f(a, b);
}

/**
 * relu(maxpool2x2(conv(x, w) + b)) * mask with the sparse gradient. x [G*B, H, W, C]
 * (group-major), w [G, k, k, C, O], b [G, O], mask [G*B, O] or null (no dropout) ->
 * [G*B, (H-k+1)/2, (W-k+1)/2, O]; H-k+1 and W-k+1 must be even. With `inputGrad` false the
 * input is data and gets no gradient (only w and b are differentiated).
 */
export function groupedConvPoolRelu(
  x: Tensor,
  w: Tensor,
  b: Tensor,
  mask: Tensor | null,
  inputGrad: boolean,
): Tensor {
  return withGradient(x, w, b, inputGrad, (xt, wt, bt, save) => block(xt, wt, bt, mask, { inputGrad }, save));
}

/**
 * The block with ONE set of filters w [k, k, C, O] and bias b [O] for all M samples x [M, H, W, C]
 * (mask [M, O] or null), differentiated per sample: `tapW` [M, k, k, C, O] and `tapB` [M, O] are
 * zeros added to sample m's filters and bias, so their gradients are the per-sample gradients of
 * the filters and bias (the engine's single-sample updates: each sample updates its own copy of
 * one model). With `inputGrad` x gets its gradient too. Returns [M, (H-k+1)/2, (W-k+1)/2, O].
 */
export function convPoolReluPerSample(
  x: Tensor,
  w: Tensor,
  b: Tensor,
  mask: Tensor | null,
  tapW: Tensor,
  tapB: Tensor,
  inputGrad: boolean,
): Tensor {
  const M = x.shape[0]!;
  const [k, , C, O] = w.shape as [number, number, number, number];
  if (tapW.shape.join() !== [M, k, k, C, O].join() || tapB.shape.join() !== [M, O].join()) {
    throw new Error(
      `convPoolReluPerSample: taps [${tapW.shape}] and [${tapB.shape}] must be [${[M, k, k, C, O]}] and [${[M, O]}]`,
    );
  }
  // The taps are zero: the value is the block with the shared filters, one group of M samples;
  // the gradient kernel takes each sample as its own group of those filters.
  const w1 = tf.reshape(w, [1, k, k, C, O]);
  const b1 = tf.reshape(b, [1, O]);
  return withGradient(x, tapW, tapB, inputGrad, (xt, _tw, _tb, save) =>
    block(xt, w1, b1, mask, { inputGrad, groups: M }, save),
  );
}
