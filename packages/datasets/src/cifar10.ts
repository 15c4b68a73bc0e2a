/**
 * CIFAR-10 binary-version decoder. Each record is 1 label byte then 3,072 pixel bytes in channel
 * planes (1,024 R, 1,024 G, 1,024 B, each 32 x 32 row-major); records are transposed to NHWC bytes.
 *
 * The data set is the 50,000 training images (data_batch_1..5, in order) followed by the first
 * `testRecords` (default 1,000) records of the test batch, so it is the same on a machine with the full
 * test_batch.bin and on one with only the shared partial `test_batch_first1000.bin`.
 *
 * A file of the standard size must match the published sha256 (or the partial test batch's). A shorter
 * file is accepted only if it holds a whole number of records; it is reported as partial with a warning.
 */

import { streamDataFile } from "./bytes.ts";
import { makeImageDataset } from "./dataset.ts";
import { DataError } from "./errors.ts";
import {
  CIFAR10_CLASS_NAMES,
  CIFAR10_RECORD_BYTES,
  CIFAR10_TEST_FILE,
  CIFAR10_TEST_FIRST1000_FILE,
  CIFAR10_TRAIN_FILES,
  type KnownFile,
} from "./known-files.ts";
import type { DecodeOptions } from "./mnist.ts";
import type { Dataset, FileReport } from "./types.ts";
import { checkChecksum } from "./verify.ts";

export const CIFAR10_MEAN: readonly number[] = [0.4914, 0.4822, 0.4465];
export const CIFAR10_STD: readonly number[] = [0.247, 0.2435, 0.2616];
/** Test records included by default (those the shared partial test batch holds). */
export const CIFAR10_DEFAULT_TEST_RECORDS = 1_000;

export interface Cifar10Paths {
  /** data_batch_1 .. data_batch_5, in this order. */
  readonly train: readonly string[];
  /** test_batch.bin or test_batch_first1000.bin (raw or gzip); needed when testRecords > 0. */
  readonly test?: string;
}

export interface Cifar10Options extends DecodeOptions {
  /** Leading test-batch records to include after the training images (default 1,000; 0 = none). */
  readonly testRecords?: number;
}

export interface CifarBatch {
  readonly records: number;
  /** Records written into the output arrays (at most the requested limit). */
  readonly stored: number;
  readonly report: FileReport;
  readonly warning?: string;
}

/**
 * Receives decompressed chunks of one batch file, splits them into records across chunk boundaries,
 * checks every label, and transposes the first `limit` records to NHWC at sample `at` of the outputs.
 */
class RecordSink {
  records = 0;
  stored = 0;
  private readonly carry = new Uint8Array(CIFAR10_RECORD_BYTES);
  private carried = 0;
  badLabel: { record: number; label: number } | null = null;

  constructor(
    private readonly pixels: Uint8Array,
    private readonly labels: Uint8Array,
    private readonly at: number,
    private readonly limit: number,
  ) {}

  private record(src: Uint8Array, s: number): void {
    const label = src[s]!;
    if (label > 9 && this.badLabel === null) this.badLabel = { record: this.records, label };
    if (this.stored < this.limit) {
      const i = this.at + this.stored;
      this.labels[i] = label;
      const px = this.pixels;
      let d = i * 3072;
      const red = s + 1;
      const green = s + 1025;
      const blue = s + 2049;
      for (let p = 0; p < 1024; p++, d += 3) {
        px[d] = src[red + p]!;
        px[d + 1] = src[green + p]!;
        px[d + 2] = src[blue + p]!;
      }
      this.stored++;
    }
    this.records++;
  }

  readonly push = (chunk: Uint8Array): void => {
    let off = 0;
    if (this.carried > 0) {
      const take = Math.min(CIFAR10_RECORD_BYTES - this.carried, chunk.length);
      this.carry.set(chunk.subarray(0, take), this.carried);
      this.carried += take;
      off = take;
      if (this.carried < CIFAR10_RECORD_BYTES) return;
      this.record(this.carry, 0);
      this.carried = 0;
    }
    while (off + CIFAR10_RECORD_BYTES <= chunk.length) {
      this.record(chunk, off);
      off += CIFAR10_RECORD_BYTES;
    }
    if (off < chunk.length) {
      this.carry.set(chunk.subarray(off), 0);
      this.carried = chunk.length - off;
    }
  };
}

/**
 * Decodes one batch file into `pixels`/`labels` from sample `at` (at most `limit` records) and checks
 * it: whole records, labels 0..9, not longer than the complete file, and the checksum of the known file
 * of the same size among `candidates` (the first candidate is the complete file). A shorter
 * whole-record file with no known checksum is partial: structure-checked only, with a warning.
 */
export async function decodeCifarBatch(
  path: string,
  role: string,
  candidates: readonly KnownFile[],
  verify: boolean,
  out: {
    readonly pixels: Uint8Array;
    readonly labels: Uint8Array;
    readonly at: number;
    readonly limit: number;
  },
): Promise<CifarBatch> {
  const sink = new RecordSink(out.pixels, out.labels, out.at, out.limit);
  const file = await streamDataFile(path, sink.push, verify);
  const n = file.rawBytes;
  const full = candidates[0]!;
  const fmt = (v: number) => v.toLocaleString("en-US");
  if (n === 0 || n % CIFAR10_RECORD_BYTES !== 0) {
    const whole = Math.floor(n / CIFAR10_RECORD_BYTES);
    throw new DataError(
      `not a whole number of CIFAR-10 records: ${fmt(n)} bytes = ${whole} records of ${CIFAR10_RECORD_BYTES} ` +
        `bytes + ${n - whole * CIFAR10_RECORD_BYTES} bytes; expected ${fmt(full.rawBytes)} bytes ` +
        `(${fmt(full.records)} records) or a whole number of records`,
      path,
    );
  }
  if (sink.badLabel !== null) {
    const { record, label } = sink.badLabel;
    throw new DataError(`label out of range: record ${record} has label ${label}, expected 0..9`, path);
  }
  const records = sink.records;
  if (records > full.records) {
    throw new DataError(
      `too long: ${fmt(records)} records (${fmt(n)} bytes), expected at most ${fmt(full.records)} for ${full.name}`,
      path,
    );
  }
  const known = candidates.find((k) => k.rawBytes === n);
  let verification: FileReport["verification"] = verify ? "structure-only" : "skipped";
  if (known !== undefined && verify) {
    checkChecksum(file, known);
    verification = "checksum";
  }
  const partial = records !== full.records;
  const warning = partial
    ? `${path}: partial ${role}, read ${fmt(records)} of ${fmt(full.records)} records` +
      (verification === "checksum" && known
        ? ` (matches the published ${known.name})`
        : " (no published checksum for this part: structure checked only)")
    : undefined;
  return {
    records,
    stored: sink.stored,
    report: {
      role,
      path,
      bytes: file.diskBytes,
      gzip: file.gzip,
      rawBytes: n,
      records,
      expectedRecords: full.records,
      partial,
      sha256: file.sha256,
      verification,
    },
    ...(warning === undefined ? {} : { warning }),
  };
}

export async function loadCifar10(paths: Cifar10Paths, opts: Cifar10Options = {}): Promise<Dataset> {
  const verify = opts.verifyChecksums ?? true;
  const testRecords = opts.testRecords ?? CIFAR10_DEFAULT_TEST_RECORDS;
  if (!Number.isInteger(testRecords) || testRecords < 0 || testRecords > 10_000) {
    throw new DataError(`option testRecords: expected an integer in [0, 10000], got ${testRecords}`);
  }
  if (paths.train.length !== CIFAR10_TRAIN_FILES.length) {
    throw new DataError(`CIFAR-10: expected 5 training batch paths, got ${paths.train.length}`);
  }
  if (testRecords > 0 && paths.test === undefined) {
    throw new DataError(`CIFAR-10: testRecords is ${testRecords} but no test batch path was given`);
  }
  const capacity = 50_000 + testRecords;
  let pixels = new Uint8Array(capacity * 3072);
  let labels = new Uint8Array(capacity);
  const batches: CifarBatch[] = [];
  let at = 0;
  for (let k = 0; k < paths.train.length; k++) {
    const known = CIFAR10_TRAIN_FILES[k]!;
    const b = await decodeCifarBatch(paths.train[k]!, known.role, [known], verify, {
      pixels,
      labels,
      at,
      limit: 10_000,
    });
    batches.push(b);
    at += b.stored;
  }
  const trainCount = at;
  const warnings = batches.flatMap((b) => (b.warning ? [b.warning] : []));
  let test: CifarBatch | undefined;
  if (testRecords > 0 && paths.test !== undefined) {
    test = await decodeCifarBatch(
      paths.test,
      "test_batch",
      [CIFAR10_TEST_FILE, CIFAR10_TEST_FIRST1000_FILE],
      verify,
      { pixels, labels, at, limit: testRecords },
    );
    if (test.warning) warnings.push(test.warning);
    if (test.stored < testRecords) {
      warnings.push(`${paths.test}: only ${test.records} test records, ${testRecords} requested`);
    }
    at += test.stored;
  }
  if (at < capacity) {
    pixels = pixels.slice(0, at * 3072);
    labels = labels.slice(0, at);
  }
  const files = [...batches.map((b) => b.report), ...(test ? [test.report] : [])];
  return makeImageDataset({
    name: "cifar10",
    numClasses: 10,
    classNames: CIFAR10_CLASS_NAMES,
    sampleShape: [32, 32, 3],
    pixels,
    labels,
    mean: CIFAR10_MEAN,
    std: CIFAR10_STD,
    normDescription: `per channel (x/255 - mean) / std, mean ${CIFAR10_MEAN.join(",")}, std ${CIFAR10_STD.join(",")}`,
    files,
    warnings,
    source: `CIFAR-10 binary: ${trainCount.toLocaleString("en-US")} training images then the first ${test?.stored ?? 0} test records`,
  });
}
