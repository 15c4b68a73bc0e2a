/**
 * Reverse for tfjs-backend-webgpu 4.22 at any rank: the package's kernel handles rank <= 4 only
 * (a rank-5 input fails inside its reshape). Consecutive axes that are all reversed, or all kept,
 * can be merged first (reversing every axis of a block reverses the flattened block), which
 * brings common cases, e.g. flipping the spatial axes of [G, kh, kw, C, O] grouped filters, down
 * to rank <= 4 for the package's kernel. The data is reshaped, never copied, around it.
 */
import { tf } from "../../tf.ts";

export const KERNEL_NAME = "Reverse";

/** Shape and axes after merging runs of consecutive axes with the same reversed/kept flag. */
export function collapseReverse(
  shape: readonly number[],
  axes: readonly number[],
): { shape: number[]; axes: number[] } {
  const flipped = shape.map((_, i) => axes.includes(i));
  const outShape: number[] = [];
  const outAxes: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (i > 0 && flipped[i] === flipped[i - 1]) {
      outShape[outShape.length - 1]! *= shape[i]!;
    } else {
      outShape.push(shape[i]!);
      if (flipped[i]) outAxes.push(outShape.length - 1);
    }
  }
  return { shape: outShape, axes: outAxes };
}

let packageReverse: tf.KernelConfig | null = null;

function run(name: string, backend: object, inputs: tf.NamedTensorInfoMap, attrs: object): tf.TensorInfo {
  const config = name === KERNEL_NAME ? packageReverse : tf.getKernel(name, "webgpu");
  if (!config) throw new Error(`tfjs-backend-webgpu: kernel '${name}' is not registered`);
  return config.kernelFunc({ inputs, backend, attrs: attrs as tf.NamedAttrMap }) as tf.TensorInfo;
}

function reverse(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: object;
  attrs?: tf.NamedAttrMap;
}): tf.TensorInfo {
  const { x } = args.inputs as { x: tf.TensorInfo };
  const { dims } = args.attrs as unknown as tf.ReverseAttrs;
  if (x.shape.length <= 4) return run(KERNEL_NAME, args.backend, args.inputs, args.attrs ?? {});
  const axes = tf.util.parseAxisParam(dims, x.shape);
  const c = collapseReverse(x.shape, axes);
  if (c.shape.length > 4) {
    throw new Error(
      `webgpu Reverse: input of shape [${x.shape}] reversed on axes [${axes}] does not reduce to rank <= 4 ` +
        `(merged shape [${c.shape}])`,
    );
  }
  const backend = args.backend as { disposeData(dataId: object): void };
  const flat = run("Reshape", backend, { x }, { shape: c.shape });
  const flipped = run(KERNEL_NAME, backend, { x: flat }, { dims: c.axes });
  backend.disposeData(flat.dataId);
  const out = run("Reshape", backend, { x: flipped }, { shape: x.shape });
  backend.disposeData(flipped.dataId);
  return out;
}

/**
 * Records the package's webgpu Reverse (once, before it is replaced; call after
 * tfjs-backend-webgpu is imported). Throws if the package has none.
 */
export function capturePackageReverse(): void {
  if (packageReverse) return;
  const original = tf.getKernel(KERNEL_NAME, "webgpu");
  if (!original) throw new Error("tfjs-backend-webgpu: kernel 'Reverse' is not registered");
  packageReverse = original;
}

/** Reverse at any rank, in place of the package's (register_all_kernels.ts registers it). */
export const reverseConfig: tf.KernelConfig = {
  kernelName: KERNEL_NAME,
  backendName: "webgpu",
  kernelFunc: reverse as tf.KernelFunc,
};
