/**
 * Every kernel of ours for the webgpu backend, registered by backend/webgpu.ts once
 * tfjs-backend-webgpu is imported (its own kernels registered) and before the backend starts,
 * never on import: Reverse at any rank (in place of the package's) and GroupedConv2D. The host
 * kernels (AdamUpdate, SgdMomentumUpdate, TakeRows) have no webgpu version: their ops run the
 * tensor-op formulation there.
 */
import type { tf } from "../../tf.ts";
import { registerKernels } from "../registry.ts";
import { groupedConv2DConfig } from "./GroupedConv2D.ts";
import { capturePackageReverse, reverseConfig } from "./Reverse.ts";

export const WEBGPU_KERNELS: readonly tf.KernelConfig[] = [reverseConfig, groupedConv2DConfig];

/** Registers every webgpu kernel of ours (once per process); returns their names. */
export function registerWebGpuKernels(): string[] {
  return registerKernels("webgpu", () => {
    capturePackageReverse();
    return WEBGPU_KERNELS;
  });
}
