/**
 * Registers the wasm kernel fixes (one kernel per file in this folder) in place of, or next to,
 * tfjs-backend-wasm 4.22's own kernels. Idempotent; call before the wasm backend starts (kernel
 * setup functions run when a backend is set).
 */
import { tf } from "../../tf.ts";
import { addConfig } from "./Add.ts";
import { batchMatMulConfig } from "./BatchMatMul.ts";
import { conv2DBackpropFilterConfig } from "./Conv2DBackpropFilter.ts";
import { conv2DBackpropInputConfig } from "./Conv2DBackpropInput.ts";
import { identityConfig } from "./Identity.ts";
import { capturePackageKernel } from "./kernel-utils.ts";
import { maxPoolGradConfig } from "./MaxPoolGrad.ts";
import { multiplyConfig } from "./Multiply.ts";
import { reverseConfig } from "./Reverse.ts";
import { sumConfig } from "./Sum.ts";
import { transposeConfig } from "./Transpose.ts";

/** The kernels this project registers for the wasm backend, by kernel name. */
export const WASM_KERNEL_FIXES: readonly tf.KernelConfig[] = [
  conv2DBackpropFilterConfig,
  maxPoolGradConfig,
  conv2DBackpropInputConfig,
  batchMatMulConfig,
  identityConfig,
  sumConfig,
  transposeConfig,
  reverseConfig,
  addConfig,
  multiplyConfig,
];

/** Package kernels the fixes call or fall back to (and MaxPoolGrad, kept to show its bug in tests). */
const USED_PACKAGE_KERNELS = [
  "Transpose",
  "Conv2D",
  "Reverse",
  "Slice",
  "Reshape",
  "Conv2DBackpropInput",
  "BatchMatMul",
  "MaxPoolGrad",
  "Identity",
  "Sum",
  "Add",
  "Multiply",
];

let registered = false;

/** Registers the fixes once; returns their kernel names. */
export function registerWasmKernelFixes(): string[] {
  const names = WASM_KERNEL_FIXES.map((k) => k.kernelName);
  if (registered) return names;
  for (const name of USED_PACKAGE_KERNELS) capturePackageKernel(name);
  for (const config of WASM_KERNEL_FIXES) {
    if (tf.getKernel(config.kernelName, "wasm")) tf.unregisterKernel(config.kernelName, "wasm");
    tf.registerKernel(config);
  }
  registered = true;
  return names;
}
