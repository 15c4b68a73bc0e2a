/**
 * Conv2DBackpropFilter for tfjs-backend-wasm 4.22, which has none (so any conv weight gradient
 * failed). NHWC only, like the package's Conv2D.
 *
 * With forward stride s and top/left padding (pt, pl):
 *   dW[i,j,c,o] = sum_{b,y,x} X[b, s*y + i - pt, s*x + j - pl, c] * dY[b,y,x,o]
 * which is a convolution of X transposed to [C,H,W,B] (channels become the batch, the batch the
 * channels) with dY transposed to [outH,outW,B,O] used as the filter, stride 1, dilation s, and
 * padding (pt, pl) at the top/left. The bottom/right padding makes the result exactly fh x fw;
 * when that would be negative (rows the forward pass never read), it is 0 and the result is
 * cropped. The result [C,fh,fw,O] is transposed to [fh,fw,C,O].
 */
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { tf } from "../../tf.ts";
import { release, runPackageKernel, type TensorInfo } from "./kernel-utils.ts";

export const KERNEL_NAME = "Conv2DBackpropFilter";

function conv2DBackpropFilter(args: {
  inputs: tf.NamedTensorInfoMap;
  backend: unknown;
  attrs?: tf.NamedAttrMap;
}): TensorInfo {
  const backend = args.backend as BackendWasm;
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } =
    args.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
  const format = tf.backend_util.convertConv2DDataFormat(dataFormat);
  if (format !== "channelsLast") {
    throw new Error(`wasm ${KERNEL_NAME}: attr dataFormat must be 'NHWC', got '${dataFormat}'`);
  }
  if (x.dtype !== "float32" || dy.dtype !== "float32") {
    throw new Error(`wasm ${KERNEL_NAME}: inputs x and dy must be float32`);
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    filterShape,
    strides,
    1,
    pad,
    dimRoundingMode,
    false,
    format,
  );
  const [, inH, inW, inC] = x.shape as [number, number, number, number];
  const [fh, fw, , outC] = filterShape;
  const { outHeight, outWidth, strideHeight, strideWidth } = info;
  const { top, left } = info.padInfo;
  const bottom = fh + strideHeight * (outHeight - 1) - inH - top;
  const right = fw + strideWidth * (outWidth - 1) - inW - left;

  const xT = runPackageKernel("Transpose", backend, { x }, { perm: [3, 1, 2, 0] });
  const dyT = runPackageKernel("Transpose", backend, { x: dy }, { perm: [1, 2, 0, 3] });
  const conv = runPackageKernel("Conv2D", backend, { x: xT, filter: dyT }, {
    strides: [1, 1],
    pad: [
      [0, 0],
      [top, Math.max(bottom, 0)],
      [left, Math.max(right, 0)],
      [0, 0],
    ],
    dataFormat: "NHWC",
    dilations: [strideHeight, strideWidth],
  } as unknown as tf.NamedAttrMap);
  release(backend, xT, dyT);
  let cropped = conv;
  if (bottom < 0 || right < 0) {
    cropped = runPackageKernel(
      "Slice",
      backend,
      { x: conv },
      { begin: [0, 0, 0, 0], size: [inC, fh, fw, outC] },
    );
    release(backend, conv);
  }
  const dW = runPackageKernel("Transpose", backend, { x: cropped }, { perm: [1, 2, 0, 3] });
  release(backend, cropped);
  return dW;
}

export const conv2DBackpropFilterConfig: tf.KernelConfig = {
  kernelName: KERNEL_NAME,
  backendName: "wasm",
  kernelFunc: conv2DBackpropFilter as tf.KernelFunc,
};
