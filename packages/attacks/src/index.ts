export * from "./autoencoder.ts";
export * from "./baselines.ts";
export * from "./distribution.ts";
export * from "./encoder.ts";
export * from "./fit.ts";
export * from "./hungarian.ts";
export * from "./kmeans.ts";
export * from "./label.ts";
export * from "./metrics.ts";
export * from "./msr.ts";
export {
  type CheckpointTensor,
  decodeMsrCheckpoint,
  type GanEpochReport,
  MSR_CHECKPOINT_MAGIC,
  type MsrCheckpoint,
  MsrCheckpointError,
} from "./msr-checkpoint.ts";
export * from "./nn/adam.ts";
export * from "./nn/layers.ts";
export * from "./nn/mlp.ts";
export * from "./nn/predict.ts";
export * from "./nn/rows.ts";
export * from "./nn/train.ts";
export type { RelaxationRow } from "./pipeline/attack-distribution.ts";
export * from "./pipeline/config.ts";
export * from "./pipeline/context.ts";
export * from "./pipeline/data.ts";
export * from "./pipeline/generate.ts";
export {
  extraShadowModels,
  type OriginalModel,
  originalKey,
  originalModels,
  trainingDigest,
} from "./pipeline/originals.ts";
export * from "./pipeline/owner-cost.ts";
export * from "./pipeline/run.ts";
export * from "./reconstruct.ts";
export * from "./store.ts";
