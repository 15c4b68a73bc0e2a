/**
 * MNIST decoder: the four IDX files (raw or gzip), checked for structure, label range and the
 * published checksums, combined as one 70,000-image data set (the 60,000 training images, then the
 * 10,000 test images), 28 x 28 x 1 bytes each. Normalisation as in the authors' code:
 * (x / 255 - 0.1307) / 0.3081.
 */

import { sizeFromShape } from "@updates-leak/core/shape";
import { streamDataFile } from "./bytes.ts";
import { makeImageDataset } from "./dataset.ts";
import { DataError } from "./errors.ts";
import { IdxSink } from "./idx.ts";
import { type KnownFile, MNIST_FILES } from "./known-files.ts";
import type { Dataset, FileReport } from "./types.ts";
import { checkChecksum, checkLabels } from "./verify.ts";

/** Mean subtracted from pixels scaled to [0, 1] in MNIST's normalisation (authors' code). */
export const MNIST_MEAN = 0.1307;
/** Std the centred [0, 1] pixels are divided by: (x / 255 - MNIST_MEAN) / MNIST_STD. */
export const MNIST_STD = 0.3081;

/** Paths of the four MNIST IDX files for `loadMnist` (each raw or gzip). */
export interface MnistPaths {
  readonly trainImages: string;
  readonly trainLabels: string;
  readonly testImages: string;
  readonly testLabels: string;
}

export interface DecodeOptions {
  /** Compare decompressed contents with the published sha256 (default true). */
  readonly verifyChecksums?: boolean;
}

export interface MnistPart {
  /** Data bytes after the IDX header. */
  readonly data: Uint8Array;
  readonly count: number;
  readonly report: FileReport;
}

/**
 * Streams and checks one MNIST file against `known` (one of MNIST_FILES): IDX magic number and
 * dimensions, file size, label range (label files), then the published checksum. The data go into
 * `dest` when it is given and the header's record count is the standard one, else into a new array.
 */
export async function decodeMnistFile(
  path: string,
  known: KnownFile,
  verify = true,
  dest?: Uint8Array,
): Promise<MnistPart> {
  const labels = known.role.endsWith("labels");
  const sink = new IdxSink(
    path,
    labels
      ? { ndim: 1, innerDims: [], what: "MNIST labels" }
      : { ndim: 3, innerDims: [28, 28], what: "MNIST images" },
    (dims) => {
      const bytes = sizeFromShape(dims);
      return dest !== undefined && dims[0] === known.records && dest.length === bytes
        ? dest
        : new Uint8Array(bytes);
    },
  );
  const file = await streamDataFile(path, sink.push, verify);
  const idx = sink.finish();
  const count = idx.dims[0]!;
  if (labels) checkLabels(idx.data, 10, path);
  let verification: FileReport["verification"] = "skipped";
  if (verify) {
    checkChecksum(file, known);
    verification = "checksum";
  }
  return {
    data: idx.data,
    count,
    report: {
      role: known.role,
      path,
      bytes: file.diskBytes,
      gzip: file.gzip,
      rawBytes: file.rawBytes,
      records: count,
      expectedRecords: known.records,
      partial: count !== known.records,
      sha256: file.sha256,
      verification,
    },
  };
}

/**
 * Decodes and verifies the four MNIST files as one Dataset of 70,000 [28, 28, 1] samples (training
 * images, then test images). Throws a DataError naming the file when it is missing, has a bad IDX
 * header or size, a label outside 0..9 or a checksum mismatch (unless verifyChecksums is false), or
 * when image and label counts differ.
 */
export async function loadMnist(paths: MnistPaths, opts: DecodeOptions = {}): Promise<Dataset> {
  const verify = opts.verifyChecksums ?? true;
  // Images stream straight into their place in the combined array (train, then test).
  const trainBytes = MNIST_FILES.trainImages.records * 784;
  let pixels = new Uint8Array(trainBytes + MNIST_FILES.testImages.records * 784);
  const trI = await decodeMnistFile(
    paths.trainImages,
    MNIST_FILES.trainImages,
    verify,
    pixels.subarray(0, trainBytes),
  );
  const trL = await decodeMnistFile(paths.trainLabels, MNIST_FILES.trainLabels, verify);
  const teI = await decodeMnistFile(
    paths.testImages,
    MNIST_FILES.testImages,
    verify,
    pixels.subarray(trainBytes),
  );
  const teL = await decodeMnistFile(paths.testLabels, MNIST_FILES.testLabels, verify);
  for (const [img, lab] of [
    [trI, trL],
    [teI, teL],
  ] as const) {
    if (img.count !== lab.count) {
      throw new DataError(
        `holds ${lab.count} labels but ${img.report.path} holds ${img.count} images; expected equal counts`,
        lab.report.path,
      );
    }
  }
  const count = trI.count + teI.count;
  if (trI.count !== MNIST_FILES.trainImages.records || teI.count !== MNIST_FILES.testImages.records) {
    // Non-standard counts (possible only without checksum verification): assemble a fresh array.
    pixels = new Uint8Array(count * 784);
    pixels.set(trI.data, 0);
    pixels.set(teI.data, trI.count * 784);
  }
  const labels = new Uint8Array(count);
  labels.set(trL.data, 0);
  labels.set(teL.data, trL.count);
  const files = [trI.report, trL.report, teI.report, teL.report];
  const warnings = files
    .filter((f) => f.partial)
    .map(
      (f) => `${f.path}: partial, ${f.records} of ${f.expectedRecords} records (checksums were not verified)`,
    );
  return mnistDataset(pixels, labels, files, warnings, `(${paths.trainImages} ...)`);
}

/** MNIST's Dataset from its decoded pixels and labels (train then test), normalised as the authors' code does. */
export function mnistDataset(
  pixels: Uint8Array,
  labels: Uint8Array,
  files: FileReport[],
  warnings: string[],
  where: string,
): Dataset {
  return makeImageDataset({
    name: "mnist",
    numClasses: 10,
    classNames: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
    sampleShape: [28, 28, 1],
    pixels,
    labels,
    mean: [MNIST_MEAN],
    std: [MNIST_STD],
    normDescription: `(x/255 - ${MNIST_MEAN}) / ${MNIST_STD} (authors' code)`,
    files,
    warnings,
    source: `MNIST IDX files: 60,000 training images then 10,000 test images ${where}`,
  });
}
