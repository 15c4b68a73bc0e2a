/**
 * One config type per experiment, shared by the CLI, the run folder and the resume check.
 * Validated with arktype; `resolveConfig` fills defaults (paper scale, or the smoke size).
 */
import { type } from "arktype";

export const ATTACKS = ["label", "reconstruct", "distribution", "msr"] as const;
export const DATASETS = ["mnist", "cifar10", "insta-ny"] as const;
export const BACKENDS = ["auto", "webgpu", "wasm", "cpu"] as const;

export type AttackName = (typeof ATTACKS)[number];
export type DatasetName = (typeof DATASETS)[number];

export const ExperimentConfig = type({
  attack: "'label' | 'reconstruct' | 'distribution' | 'msr'",
  dataset: "'mnist' | 'cifar10' | 'insta-ny'",
  seed: "number.integer >= 0",
  /** Updated shadow models (the attack's training set). Paper: 10,000. */
  shadowModels: "number.integer >= 1",
  /** Updated target models (the attack's test set). Paper: 1,000. */
  targetModels: "number.integer >= 1",
  /** |D_update|: 1 for single-sample attacks, 100 for multi-sample. */
  setSize: "number.integer >= 1",
  /**
   * A_LDE only: extra target set sizes the attack trained on `setSize` is also scored on (the
   * update-set-size relaxation); default []. Each size gets its own target side of `targetModels`.
   */
  targetSetSizes: ["number.integer >= 1 []", "=", () => []],
  /**
   * Shadow original models the adversary trains (on the same shadow data, other seeds); the shadow
   * shards are split into this many contiguous blocks, block b updating copies of shadow original b.
   * Paper: 1. Default 1 (a run config written before this field existed reads as 1).
   */
  shadowOriginals: ["number.integer >= 1", "=", 1],
  /** |D_probe|. Paper: 100. */
  probeCount: "number.integer >= 1",
  /** Updated models per shard written to the store. */
  shardSize: "number.integer >= 1",
  /** Updated models per engine call (0 = adapt to memory). */
  chunkSize: "number.integer >= 0",
  /** Epochs for the original (target/shadow) models; 0 = the paper's (25 / 50 / 25). */
  trainEpochs: "number.integer >= 0",
  /** Epochs for the attack model. */
  attackEpochs: "number.integer >= 1",
  /** A_MSR: generated samples per target delta at inference. Paper: 20,000. */
  inferenceSamples: "number.integer >= 1",
  /** A_MSR: target sets reconstructed and scored (0 = all target models). */
  evalTargets: "number.integer >= 0",
  backend: "'auto' | 'webgpu' | 'wasm' | 'cpu'",
  threads: "number.integer >= 0",
  smoke: "boolean",
});
export type ExperimentConfig = typeof ExperimentConfig.infer;
