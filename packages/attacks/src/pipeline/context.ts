/**
 * What a pipeline needs from the outside world, passed in so pipelines stay free of I/O:
 * a shard store for deltas, a metrics sink (metrics.jsonl), progress reporting, a cache for
 * trained original models (keyed by their config, so a second attack on the same data set does not
 * train them again), and a place for the checkpoints of long trainings (CBM-GAN's, so a killed run
 * resumes mid-training).
 */
import type { ShardStore } from "../store.ts";

/** One record for the metrics sink (metrics.jsonl in the CLI): the emitting stage and any fields. */
export interface MetricEvent {
  stage: string;
  [key: string]: unknown;
}

/**
 * Trained models' arrays by cache key: original models (`originalKey`) and A_SSR's autoencoder
 * (`autoencoderKey`); the CLI's is file-backed.
 */
export interface ModelCache {
  /** The flat parameter arrays saved under `key`, or null. */
  get(key: string): Promise<Float32Array[] | null>;
  put(key: string, params: Float32Array[]): Promise<void>;
}

/**
 * Named byte strings a long training saves as it goes and reads back when the run is resumed (the
 * CLI: `<run folder>/checkpoints/<name>.bin`). Names are made of letters, digits, `.`, `_` and `-`.
 */
export interface CheckpointStore {
  /** The bytes last saved under `name`, or null when there are none. */
  load(name: string): Uint8Array | null;
  /** Replaces what is saved under `name` atomically: a later `load` gets the old or the new bytes, whole. */
  save(name: string, bytes: Uint8Array): void;
  /** Where `name` is kept, for messages (the CLI: the file's path). */
  where(name: string): string;
}

/**
 * Per-target results that `--shard K/N` processes computed, for the run that gathers them (A_MSR's
 * matched MSE of each target set; the CLI: `parts/<name>.part-K-of-N.json`, folded by `leak merge`
 * into `scores/<name>.json`). `name` is letters, digits, `.`, `_` and `-`; `key` says everything the
 * values depend on, and a record saved under another key is an error naming it.
 */
export interface TargetResultStore {
  /** Every value saved under `name` (merged, and by any part), by target index; empty when none. */
  load(name: string, key: string): Map<number, number>;
  /**
   * Records this process's values under `name` atomically, replacing its earlier record; `targets`
   * is how many targets there are in all (for reports of what is missing).
   */
  save(name: string, key: string, targets: number, values: ReadonlyMap<number, number>): void;
}

/**
 * The outside world a pipeline runs in (see the file comment): shard stores, metrics, progress,
 * log, and optionally a model cache and a checkpoint store.
 */
export interface RunContext {
  /** Separate stores for the shadow side and the target side. */
  shadowStore: ShardStore;
  targetStore: ShardStore;
  /**
   * A_LDE's update-set-size relaxation (`targetSetSizes`): the store of the extra target side whose
   * updating sets have `setSize` samples (the CLI: shards/target-s<setSize>). Needed only when
   * `targetSetSizes` is not empty; every call with the same size must return the same store.
   */
  extraTargetStore?(setSize: number): ShardStore;
  metric(event: MetricEvent): void;
  /** Called often; implementations throttle. `total` is fixed for a stage. */
  progress(stage: string, done: number, total: number): void;
  /** Plain log line for humans. */
  log(message: string): void;
  modelCache?: ModelCache;
  /** Absent: trainings keep no checkpoints and start from scratch. */
  checkpoints?: CheckpointStore;
  /** Absent: every per-target result is computed in this process. */
  targetResults?: TargetResultStore;
}

/** An image grid for a figure: rows of samples on the [0,1] scale, each [h, w, c] row-major. */
export interface ImageGrid {
  title: string;
  rowLabels: string[];
  shape: readonly [number, number, number];
  /** rows[r][i] is a Float32Array of h*w*c values in [0,1]. */
  rows: Float32Array[][];
}

/** A bar chart: attack vs baselines, as in the paper's Figures 2 and 4. */
export interface BarChart {
  title: string;
  metric: string;
  bars: { label: string; value: number }[];
  /** "higher" for accuracy, "lower" for MSE/KL. */
  better: "higher" | "lower";
}

/**
 * One array of per-target predictions (or truths) a run keeps for analysis, row i about target
 * model i: the CLI writes it as `predictions/<name>.npy` (numpy's format, little-endian).
 */
export interface PredictionArray {
  name: string;
  /** What a row holds, for result.json and the docs. */
  doc: string;
  shape: number[];
  data: Float32Array | Int32Array;
}

/**
 * What `runExperiment` returns (the CLI writes it as result.json): the attack's metric and value,
 * its baselines, counts, timings in seconds, figures and, optionally, per-target predictions.
 */
export interface ExperimentResult {
  attack: string;
  dataset: string;
  metric: string;
  value: number;
  baselines: Record<string, number>;
  extra: Record<string, unknown>;
  counts: Record<string, number>;
  timingsSeconds: Record<string, number>;
  figures: { bars: BarChart[]; grids: ImageGrid[] };
  /** Per-target predictions and truths (omitted: none kept). */
  predictions?: PredictionArray[];
}
