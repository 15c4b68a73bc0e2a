/**
 * Every kernel of ours for the wasm backend, registered by backend/wasm.ts before the backend
 * starts (kernel setup functions run when a backend is set), never on import:
 * - fixes (one per file in this folder), in place of or next to tfjs-backend-wasm 4.22's own
 *   kernels, whose originals are captured first (the fixes fall back to or build on them);
 * - the grouped kernels (GroupedKernels.ts) and the fused conv blocks;
 * - the host kernels shared with cpu (AdamUpdate, SgdMomentumUpdate, TakeRows).
 */
import type { tf } from "../../tf.ts";
import { adamUpdateConfigs } from "../AdamUpdate.ts";
import { registerKernels } from "../registry.ts";
import { sgdMomentumConfigs } from "../SgdMomentumUpdate.ts";
import { takeRowsConfigs } from "../TakeRows.ts";
import { addConfig } from "./Add.ts";
import { batchMatMulConfig } from "./BatchMatMul.ts";
import { conv2DBackpropFilterConfig } from "./Conv2DBackpropFilter.ts";
import { conv2DBackpropInputConfig } from "./Conv2DBackpropInput.ts";
import { groupedConvPoolConfig } from "./GroupedConvPool.ts";
import { groupedConvPoolGradConfig } from "./GroupedConvPoolGrad.ts";
import { groupedConvPoolInferenceConfig } from "./GroupedConvPoolInference.ts";
import { groupedConv2DConfig, groupedMatMulConfig } from "./GroupedKernels.ts";
import { identityConfig } from "./Identity.ts";
import { capturePackageKernel } from "./kernel-utils.ts";
import { maxPoolGradConfig } from "./MaxPoolGrad.ts";
import { multiplyConfig } from "./Multiply.ts";
import { reverseConfig } from "./Reverse.ts";
import { sharedConvPoolConfig } from "./SharedConvPool.ts";
import { sumConfig } from "./Sum.ts";
import { transposeConfig } from "./Transpose.ts";

/** The fixes: kernels of tfjs-backend-wasm replaced or added by this project. */
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

/** The kernels of our own ops (kernels/names.ts) on wasm. */
export const WASM_OWN_KERNELS: readonly tf.KernelConfig[] = [
  groupedConv2DConfig,
  groupedMatMulConfig,
  groupedConvPoolConfig,
  groupedConvPoolGradConfig,
  groupedConvPoolInferenceConfig,
  sharedConvPoolConfig,
  adamUpdateConfigs.wasm,
  sgdMomentumConfigs.wasm,
  takeRowsConfigs.wasm,
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

/** Registers every wasm kernel of ours (once per process); returns their names. */
export function registerWasmKernels(): string[] {
  return registerKernels("wasm", () => {
    for (const name of USED_PACKAGE_KERNELS) capturePackageKernel(name);
    return [...WASM_KERNEL_FIXES, ...WASM_OWN_KERNELS];
  });
}
