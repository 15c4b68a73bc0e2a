/**
 * @updates-leak/core/internal: the building blocks behind the public API, for the attacks, the
 * benchmarks and the tests: our wasm kernels' runner, the grouped (many models in one op) convolution
 * and matmul, row gathering, the fused Adam update, the batched and one-model-per-worker trainers,
 * dropout masks, and the numeric comparisons the tests use. Not a stable API.
 */
export * from "./backend/compare.ts";
export { runPackageKernel } from "./kernels/wasm/kernel-utils.ts";
export * from "./models/masks.ts";
export * from "./ops/adam.ts";
export * from "./ops/grouped.ts";
export * from "./ops/rows.ts";
export * from "./train-alone.ts";
export * from "./train-batched.ts";
