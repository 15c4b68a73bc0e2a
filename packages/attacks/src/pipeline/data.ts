/**
 * What a pipeline needs of a data set, structurally (so attacks does not depend on the datasets
 * package): labels, gathering normalised samples and samples in the reconstruction space, and the
 * seeded splits. The CLI passes `@updates-leak/datasets` objects, which fit.
 */

/**
 * A data set's sizes and labels, `gather` (normalised samples and labels) and `gatherUnit` (samples
 * in the reconstruction space), both by dataset index.
 */
export interface DatasetLike {
  readonly name: string;
  readonly numClasses: number;
  readonly sampleShape: readonly number[];
  readonly sampleSize: number;
  readonly count: number;
  readonly labels: ArrayLike<number>;
  /** "unit": [0,1] pixels; "standardised": standardised features. */
  readonly reconSpace: "unit" | "standardised";
  gather(indices: ArrayLike<number>): { x: Float32Array; labels: ArrayLike<number>; count: number };
  gatherUnit(indices: ArrayLike<number>): Float32Array;
}

/** One side's dataset indices: `train` for its original model, `pool` to draw updating sets from. */
export interface SideSplit {
  readonly train: Int32Array;
  readonly pool: Int32Array;
}

/**
 * The seeded splits: the probe set (whose posteriors make a delta), and the target and shadow
 * sides.
 */
export interface SplitsLike {
  readonly probe: Int32Array;
  readonly target: SideSplit;
  readonly shadow: SideSplit;
}

/** A data set and its splits: what `runExperiment` runs on. */
export interface ExperimentData {
  dataset: DatasetLike;
  splits: SplitsLike;
}
