/**
 * Conv2DBackpropInput for tfjs-backend-wasm 4.22: the package's kernel is a naive loop. For
 * stride 1 (NHWC, padding no larger than the filter) the input gradient equals a Conv2D of dy
 * with the filter flipped in both spatial axes and its in/out channels swapped, padded by
 * (fh-1-top, fh-1-bottom, fw-1-left, fw-1-right): that runs on XNNPACK. Everything else goes to
 * the package's kernel.
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { tf } from "../../tf.ts";
import {
  type KernelArgs,
  release,
  replacingPackageKernel,
  runPackageKernel,
  type TensorInfo,
} from "./kernel-utils.ts";

export const KERNEL_NAME = "Conv2DBackpropInput";

function conv2DBackpropInput(args: KernelArgs): TensorInfo | null {
  const backend = args.backend as BackendWasm;
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } =
    args.attrs as unknown as tf.Conv2DBackpropInputAttrs;
  const format = tf.backend_util.convertConv2DDataFormat(dataFormat);
  if (format !== "channelsLast" || dy.dtype !== "float32" || filter.dtype !== "float32") return null;
  const info = tf.backend_util.computeConv2DInfo(
    inputShape,
    filter.shape as [number, number, number, number],
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    format,
  );
  const [fh, fw] = filter.shape as [number, number, number, number];
  const { top, bottom, left, right } = info.padInfo;
  if (info.strideHeight !== 1 || info.strideWidth !== 1) return null;
  if (top > fh - 1 || bottom > fh - 1 || left > fw - 1 || right > fw - 1) return null;

  const swapped = runPackageKernel("Transpose", backend, { x: filter }, { perm: [0, 1, 3, 2] });
  const flipped = runPackageKernel("Reverse", backend, { x: swapped }, { dims: [0, 1] });
  release(backend, swapped);
  const dx = runPackageKernel("Conv2D", backend, { x: dy, filter: flipped }, {
    strides: [1, 1],
    pad: [
      [0, 0],
      [fh - 1 - top, fh - 1 - bottom],
      [fw - 1 - left, fw - 1 - right],
      [0, 0],
    ],
    dataFormat: "NHWC",
    dilations: [1, 1],
  } as unknown as tf.NamedAttrMap);
  release(backend, flipped);
  return dx;
}

export const conv2DBackpropInputConfig = replacingPackageKernel(KERNEL_NAME, conv2DBackpropInput);
