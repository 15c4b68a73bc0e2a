/**
 * Every kernel of ours for the cpu backend (tfjs-backend-cpu, the reference): the host kernels
 * shared with wasm. Registered by backend/select.ts whenever a selection may leave cpu running,
 * never on import.
 */
import type { tf } from "../../tf.ts";
import { adamUpdateConfigs } from "../AdamUpdate.ts";
import { registerKernels } from "../registry.ts";
import { sgdMomentumConfigs } from "../SgdMomentumUpdate.ts";
import { takeRowsConfigs } from "../TakeRows.ts";

export const CPU_KERNELS: readonly tf.KernelConfig[] = [
  adamUpdateConfigs.cpu,
  sgdMomentumConfigs.cpu,
  takeRowsConfigs.cpu,
];

/** Registers every cpu kernel of ours (once per process); returns their names. */
export function registerCpuKernels(): string[] {
  return registerKernels("cpu", () => CPU_KERNELS);
}
