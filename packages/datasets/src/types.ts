/**
 * Public types of @updates-leak/datasets: the in-memory `Dataset`, its normalisation, and the
 * per-file report that says what was read, from where, and how it was verified.
 *
 * Layout: every sample is stored flat, channels last (NHWC for images: [n, h, w, c], tfjs's
 * default), so sample i occupies [i * sampleSize, (i + 1) * sampleSize) of `x`.
 */

/** Name of a supported data set. */
export type DatasetName = "mnist" | "cifar10" | "insta-ny" | "insta-ny-synthetic";

/** Every DatasetName (`loadDataset` rejects any other name). */
export const DATASET_NAMES: readonly DatasetName[] = ["mnist", "cifar10", "insta-ny", "insta-ny-synthetic"];

/**
 * Affine normalisation: normalised[i] = (raw[i] * scale - mean[i % period]) / std[i % period].
 * Images: scale 1/255, period = channels (per-channel statistics). Insta-NY: scale 1,
 * period = 168 (per-feature standardisation).
 */
export interface Normalization {
  readonly scale: number;
  readonly period: number;
  readonly mean: Float32Array;
  readonly std: Float32Array;
  /** Where the statistics come from, in words (for logs and run records). */
  readonly description: string;
}

/**
 * Space in which reconstructions are compared: "unit" = image pixels on [0, 1];
 * "standardised" = Insta-NY's standardised features (toUnit is then the identity).
 */
export type ReconSpace = "unit" | "standardised";

/** How a file's contents were checked. */
export type Verification =
  /** sha256 of the decompressed contents equals the published one for this file. */
  | "checksum"
  /** A partial CIFAR-10 batch (whole records) or a CSV with no published checksum: structure checked only. */
  | "structure-only"
  /** The caller turned checksum verification off. */
  | "skipped";

/** What was read from one data file, from where, and how it was verified. */
export interface FileReport {
  /** Logical role, e.g. "train-images", "data_batch_3", "test_batch", "csv". */
  readonly role: string;
  readonly path: string;
  /** Size on disk. */
  readonly bytes: number;
  readonly gzip: boolean;
  /** Size after decompression. */
  readonly rawBytes: number;
  /** Records (samples) read from this file. */
  readonly records: number;
  /** Records the complete standard file holds (equal to `records` unless partial). */
  readonly expectedRecords: number;
  readonly partial: boolean;
  /** sha256 of the decompressed contents ("" when verification was skipped). */
  readonly sha256: string;
  readonly verification: Verification;
}

/** Normalised samples and their labels, as returned by `Dataset.gather`. */
export interface Gathered {
  /** Normalised samples, [count, ...sampleShape] flat. */
  readonly x: Float32Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

/**
 * A data set in memory: labels, samples (normalised, channels last, flat), the normalisation and its
 * inverse, and the files read with any warnings.
 */
export interface Dataset {
  readonly name: DatasetName;
  readonly numClasses: number;
  readonly classNames: readonly string[];
  /** Shape of one sample, channels last: [28, 28, 1], [32, 32, 3] or [168]. */
  readonly sampleShape: readonly number[];
  /** Product of sampleShape. */
  readonly sampleSize: number;
  readonly count: number;
  /** Label of every sample, 0..numClasses-1. */
  readonly labels: Uint8Array;
  /**
   * All samples, normalised, [count, ...sampleShape] flat. For images this is materialised on first
   * access (CIFAR-10: 51,000 x 3,072 floats = 627 MB); prefer `gather` for subsets.
   */
  readonly x: Float32Array;
  readonly normalization: Normalization;
  readonly reconSpace: ReconSpace;
  /** Normalised samples and labels of the given indices, in that order. */
  gather(indices: ArrayLike<number>): Gathered;
  /** Samples of the given indices in the reconstruction space ([0, 1] pixels, or standardised features). */
  gatherUnit(indices: ArrayLike<number>): Float32Array;
  /** Normalised values -> reconstruction space (inverse normaliser for images; identity for Insta-NY). */
  toUnit(x: Float32Array): Float32Array;
  /** Reconstruction space -> normalised values. */
  fromUnit(u: Float32Array): Float32Array;
  /** Files read (empty for the synthetic generator). */
  readonly files: readonly FileReport[];
  /** Things the caller must know (partial files, unverified contents); never silent. */
  readonly warnings: readonly string[];
  /** Provenance in words: files' directory, or the generator and its seed. */
  readonly source: string;
}
