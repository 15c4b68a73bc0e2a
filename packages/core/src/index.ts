/**
 * @updates-leak/core: what a user of the library needs. Backends (`selectBackend`), the batched update
 * engine (`UpdateEngine`) and its one-model reference, model specs (`SPECS`, `fromLayersModel`),
 * posteriors and deltas, the owner's update rules and defences, the DP accountant, seeded randomness,
 * `.npy` output and the project's one TensorFlow.js (`tf`).
 * The building blocks behind them (kernels, grouped ops, batched trainers, dropout masks, numeric
 * comparisons) are under `@updates-leak/core/internal`: used by the attacks, the benchmarks and the
 * tests, and free to change between versions.
 */
export * from "./backend/adapter.ts";
export * from "./backend/report.ts";
export * from "./backend/runtime.ts";
export * from "./backend/select.ts";
export { probeWebGpu, type WebGpuProbe } from "./backend/webgpu.ts";
export * from "./defence/dpsgd.ts";
export * from "./defence/output.ts";
export * from "./defence/rdp.ts";
export * from "./defence/spec.ts";
export * from "./engine.ts";
export * from "./models/forward.ts";
export * from "./models/from-layers.ts";
export * from "./models/spec.ts";
export * from "./npy.ts";
export * from "./probe.ts";
export * from "./random.ts";
export * from "./shape.ts";
export { tf } from "./tf.ts";
export * from "./train.ts";
export * from "./update-rule.ts";
