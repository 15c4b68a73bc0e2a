/**
 * The two concrete `Dataset` shapes:
 * - images, stored as raw bytes NHWC (Uint8Array) and normalised on demand through per-channel lookup
 *   tables (so loading CIFAR-10 costs 157 MB, not 627 MB of floats; `x` is materialised on first use);
 * - feature records (Insta-NY), stored already standardised as Float32Array, with the raw values
 *   kept so that `standardiseOn` can fit the statistics on one part of the records (the pipeline
 *   fits them on the adversary's side only: the target side must not shape the features).
 */

import { DataError } from "./errors.ts";
import type { Dataset, DatasetName, FileReport, Gathered, Normalization, ReconSpace } from "./types.ts";

function checkIndex(i: number, count: number, name: string): number {
  if (!Number.isInteger(i) || i < 0 || i >= count) {
    throw new DataError(`${name}: sample index ${i} out of range, expected an integer in [0, ${count})`);
  }
  return i;
}

/** Number of samples per class, indexed by label; labels outside [0, numClasses) are not counted. */
export function labelHistogram(labels: ArrayLike<number>, numClasses: number): Int32Array {
  const h = new Int32Array(numClasses);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l >= 0 && l < numClasses) h[l]!++;
  }
  return h;
}

interface CommonArgs {
  readonly name: DatasetName;
  readonly numClasses: number;
  readonly classNames: readonly string[];
  readonly labels: Uint8Array;
  readonly files: readonly FileReport[];
  readonly warnings: readonly string[];
  readonly source: string;
}

export interface ImageDatasetArgs extends CommonArgs {
  /** [h, w, c]. */
  readonly sampleShape: readonly [number, number, number];
  /** count x h x w x c bytes, channels last. */
  readonly pixels: Uint8Array;
  readonly mean: readonly number[];
  readonly std: readonly number[];
  readonly normDescription: string;
}

/**
 * What both kinds hold alike, from their arguments: `sampleShape`, one label per sample, and a
 * check that `values` (what the samples hold, named `what`) is a whole sample per label.
 */
abstract class LabelledSamples {
  readonly name: DatasetName;
  readonly numClasses: number;
  readonly classNames: readonly string[];
  readonly sampleShape: readonly number[];
  readonly sampleSize: number;
  readonly count: number;
  readonly labels: Uint8Array;
  readonly files: readonly FileReport[];
  readonly warnings: readonly string[];
  readonly source: string;

  constructor(a: CommonArgs, sampleShape: number[], values: number, what: string) {
    this.name = a.name;
    this.numClasses = a.numClasses;
    this.classNames = a.classNames;
    this.sampleShape = sampleShape;
    this.sampleSize = sampleShape.reduce((p, d) => p * d, 1);
    this.count = a.labels.length;
    if (values !== this.count * this.sampleSize) {
      throw new DataError(
        `${a.name}: ${values} ${what} for ${this.count} labels, expected ${this.count * this.sampleSize}`,
      );
    }
    this.labels = a.labels;
    this.files = a.files;
    this.warnings = a.warnings;
    this.source = a.source;
  }
}

class ImageDataset extends LabelledSamples implements Dataset {
  readonly normalization: Normalization;
  readonly reconSpace: ReconSpace = "unit";
  /** Raw pixels, NHWC bytes. */
  readonly pixels: Uint8Array;
  private readonly channels: number;
  /** Normalised value of byte v in channel c at [c * 256 + v]. */
  private readonly lut: Float32Array;
  private readonly unitLut: Float32Array;
  private cachedX: Float32Array | null = null;

  constructor(a: ImageDatasetArgs) {
    const [h, w, c] = a.sampleShape;
    super(a, [h, w, c], a.pixels.length, "pixel bytes");
    this.pixels = a.pixels;
    this.channels = c;
    const scale = 1 / 255;
    this.normalization = {
      scale,
      period: c,
      mean: Float32Array.from(a.mean),
      std: Float32Array.from(a.std),
      description: a.normDescription,
    };
    this.lut = new Float32Array(256 * c);
    this.unitLut = new Float32Array(256);
    for (let v = 0; v < 256; v++) this.unitLut[v] = v * scale;
    for (let ch = 0; ch < c; ch++) {
      const m = a.mean[ch]!;
      const s = a.std[ch]!;
      for (let v = 0; v < 256; v++) this.lut[ch * 256 + v] = (v * scale - m) / s;
    }
  }

  /** Writes normalised sample `i` at `out[o..]`. */
  private writeSample(i: number, out: Float32Array, o: number, lut: Float32Array, perChannel: boolean): void {
    const n = this.sampleSize;
    const px = this.pixels;
    const base = i * n;
    const c = this.channels;
    if (!perChannel || c === 1) {
      for (let p = 0; p < n; p++) out[o + p] = lut[px[base + p]!]!;
    } else if (c === 3) {
      for (let p = 0; p < n; p += 3) {
        out[o + p] = lut[px[base + p]!]!;
        out[o + p + 1] = lut[256 + px[base + p + 1]!]!;
        out[o + p + 2] = lut[512 + px[base + p + 2]!]!;
      }
    } else {
      for (let p = 0; p < n; p++) out[o + p] = lut[(p % c) * 256 + px[base + p]!]!;
    }
  }

  get x(): Float32Array {
    if (this.cachedX === null) {
      const out = new Float32Array(this.count * this.sampleSize);
      for (let i = 0; i < this.count; i++) this.writeSample(i, out, i * this.sampleSize, this.lut, true);
      this.cachedX = out;
    }
    return this.cachedX;
  }

  gather(indices: ArrayLike<number>): Gathered {
    const k = indices.length;
    const x = new Float32Array(k * this.sampleSize);
    const labels = new Uint8Array(k);
    for (let j = 0; j < k; j++) {
      const i = checkIndex(indices[j]!, this.count, this.name);
      this.writeSample(i, x, j * this.sampleSize, this.lut, true);
      labels[j] = this.labels[i]!;
    }
    return { x, labels, count: k };
  }

  gatherUnit(indices: ArrayLike<number>): Float32Array {
    const k = indices.length;
    const out = new Float32Array(k * this.sampleSize);
    for (let j = 0; j < k; j++) {
      const i = checkIndex(indices[j]!, this.count, this.name);
      this.writeSample(i, out, j * this.sampleSize, this.unitLut, false);
    }
    return out;
  }

  toUnit(x: Float32Array): Float32Array {
    const { mean, std } = this.normalization;
    const c = this.channels;
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = x[i]! * std[i % c]! + mean[i % c]!;
    return out;
  }

  fromUnit(u: Float32Array): Float32Array {
    const { mean, std } = this.normalization;
    const c = this.channels;
    const out = new Float32Array(u.length);
    for (let i = 0; i < u.length; i++) out[i] = (u[i]! - mean[i % c]!) / std[i % c]!;
    return out;
  }
}

export function makeImageDataset(args: ImageDatasetArgs): Dataset & { readonly pixels: Uint8Array } {
  return new ImageDataset(args);
}

export interface FeatureDatasetArgs extends CommonArgs {
  /** Standardised features, count x featureCount. */
  readonly x: Float32Array;
  /** The values before standardisation (count x featureCount), for `standardiseOn`. */
  readonly raw: Float32Array;
  readonly featureCount: number;
  readonly normalization: Normalization;
}

class FeatureDataset extends LabelledSamples implements Dataset {
  readonly x: Float32Array;
  /** Values before standardisation. */
  readonly raw: Float32Array;
  readonly normalization: Normalization;
  readonly reconSpace: ReconSpace = "standardised";

  constructor(a: FeatureDatasetArgs) {
    super(a, [a.featureCount], a.x.length, "feature values");
    if (a.raw.length !== a.x.length) {
      throw new DataError(`${a.name}: ${a.raw.length} raw values for ${a.x.length} standardised ones`);
    }
    this.x = a.x;
    this.raw = a.raw;
    this.normalization = a.normalization;
  }

  gather(indices: ArrayLike<number>): Gathered {
    const k = indices.length;
    const n = this.sampleSize;
    const x = new Float32Array(k * n);
    const labels = new Uint8Array(k);
    for (let j = 0; j < k; j++) {
      const i = checkIndex(indices[j]!, this.count, this.name);
      x.set(this.x.subarray(i * n, (i + 1) * n), j * n);
      labels[j] = this.labels[i]!;
    }
    return { x, labels, count: k };
  }

  gatherUnit(indices: ArrayLike<number>): Float32Array {
    return this.gather(indices).x;
  }

  toUnit(x: Float32Array): Float32Array {
    return x.slice();
  }

  fromUnit(u: Float32Array): Float32Array {
    return u.slice();
  }
}

export function makeFeatureDataset(args: FeatureDatasetArgs): Dataset {
  return new FeatureDataset(args);
}

/**
 * Per-feature mean and population std (float64) of the records `rows` of `values` (count x
 * featureCount); a constant feature gets std 1. Every record when `rows` is omitted.
 */
export function fitStandardisation(
  values: Float32Array,
  featureCount: number,
  rows?: ArrayLike<number>,
): { mean: Float64Array; std: Float64Array } {
  const count = values.length / featureCount;
  const n = rows ? rows.length : count;
  const row = (j: number) => {
    const r = rows ? rows[j]! : j;
    if (!Number.isInteger(r) || r < 0 || r >= count)
      throw new DataError(`standardisation: record ${r} out of range, expected an integer in [0, ${count})`);
    return r * featureCount;
  };
  const mean = new Float64Array(featureCount);
  const sq = new Float64Array(featureCount);
  for (let j = 0; j < n; j++) {
    const o = row(j);
    for (let f = 0; f < featureCount; f++) mean[f]! += values[o + f]!;
  }
  for (let f = 0; f < featureCount; f++) mean[f]! /= Math.max(n, 1);
  for (let j = 0; j < n; j++) {
    const o = row(j);
    for (let f = 0; f < featureCount; f++) {
      const d = values[o + f]! - mean[f]!;
      sq[f]! += d * d;
    }
  }
  const std = new Float64Array(featureCount);
  for (let f = 0; f < featureCount; f++) {
    const s = Math.sqrt(sq[f]! / Math.max(n, 1));
    std[f] = s > 1e-12 ? s : 1;
  }
  return { mean, std };
}

function applyStandardisation(
  raw: Float32Array,
  out: Float32Array,
  featureCount: number,
  { mean, std }: { mean: Float64Array; std: Float64Array },
  description: string,
): Normalization {
  for (let o = 0; o < raw.length; o += featureCount) {
    for (let f = 0; f < featureCount; f++) out[o + f] = (raw[o + f]! - mean[f]!) / std[f]!;
  }
  return {
    scale: 1,
    period: featureCount,
    mean: Float32Array.from(mean),
    std: Float32Array.from(std),
    description,
  };
}

/**
 * Per-feature standardisation in place with the statistics of all `count` records (population std;
 * a constant feature gets std 1). Returns the statistics.
 */
export function standardiseInPlace(
  values: Float32Array,
  count: number,
  featureCount: number,
  description: string,
): Normalization {
  const view = values.subarray(0, count * featureCount);
  return applyStandardisation(view, view, featureCount, fitStandardisation(view, featureCount), description);
}

/**
 * The feature data set `ds` standardised again, with the mean and population std of the records
 * `rows` only (e.g. the adversary's side of a split), applied to every record. `who` names the rows
 * in the normalisation's description. Images are refused (their normalisation is fixed constants).
 */
export function standardiseOn(ds: Dataset, rows: ArrayLike<number>, who: string): Dataset {
  if (!(ds instanceof FeatureDataset)) {
    throw new DataError(
      `${ds.name}: standardiseOn needs a feature data set (Insta-NY), got ${ds.reconSpace} data`,
    );
  }
  if (rows.length === 0) throw new DataError(`${ds.name}: standardiseOn needs at least one record`);
  const x = new Float32Array(ds.raw.length);
  const normalization = applyStandardisation(
    ds.raw,
    x,
    ds.sampleSize,
    fitStandardisation(ds.raw, ds.sampleSize, rows),
    `per-feature standardisation with the mean and population std of ${rows.length} of ${ds.count} records (${who})`,
  );
  return new FeatureDataset({
    name: ds.name,
    numClasses: ds.numClasses,
    classNames: ds.classNames,
    labels: ds.labels,
    x,
    raw: ds.raw,
    featureCount: ds.sampleSize,
    normalization,
    files: ds.files,
    warnings: ds.warnings,
    source: ds.source,
  });
}
