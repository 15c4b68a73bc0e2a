/**
 * The kernel names the registry and backend tests expect, written out independently of
 * kernels/names.ts and the registries (shared by those test files).
 */

/** Our own ops' kernels (kernels/names.ts), all registered on wasm. */
export const OWN_KERNELS = [
  "GroupedConv2D",
  "GroupedMatMul",
  "GroupedConvPool",
  "GroupedConvPoolGrad",
  "GroupedConvPoolInference",
  "SharedConvPool",
  "AdamUpdate",
  "SgdMomentumUpdate",
  "TakeRows",
];

/** The kernels registered on cpu: those of our ops that run in host memory. */
export const CPU_KERNELS = ["AdamUpdate", "SgdMomentumUpdate", "TakeRows"];
