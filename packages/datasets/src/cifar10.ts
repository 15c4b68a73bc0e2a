/**
 * CIFAR-10 binary-version decoder. Each record is 1 label byte then 3,072 pixel bytes in channel
 * planes (1,024 R, 1,024 G, 1,024 B, each 32 x 32 row-major); records are transposed to NHWC bytes.
 *
 * The data set is the 50,000 training images (data_batch_1..5, in order) followed by every record of
 * the test batch that was found (10,000 for the official test_batch.bin), or at most `testRecords`.
 *
 * A file of the standard size must match the published sha256. A shorter file is accepted only if it
 * holds a whole number of records; it is reported as partial with a warning, and checked against the
 * sha256 of a recognised prefix (records 0-999 of test_batch.bin) when it has that size.
 */

import { statSync } from "node:fs";
import { readBytes } from "@updates-leak/core/platform";
import { isGzip, streamDataFile } from "./bytes.ts";
import { makeImageDataset } from "./dataset.ts";
import { DataError } from "./errors.ts";
import {
  CIFAR10_CLASS_NAMES,
  CIFAR10_RECORD_BYTES,
  CIFAR10_TEST_FILE,
  CIFAR10_TEST_FIRST1000_FILE,
  CIFAR10_TRAIN_FILES,
  describeKnown,
  type KnownFile,
} from "./known-files.ts";
import type { DecodeOptions } from "./mnist.ts";
import type { Dataset, FileReport } from "./types.ts";
import { checkChecksum } from "./verify.ts";

/** Per-channel (R, G, B) mean of pixels scaled to [0, 1], subtracted in CIFAR-10's normalisation. */
export const CIFAR10_MEAN: readonly number[] = [0.4914, 0.4822, 0.4465];
/** Per-channel (R, G, B) std the centred [0, 1] pixels are divided by: (x / 255 - mean) / std. */
export const CIFAR10_STD: readonly number[] = [0.247, 0.2435, 0.2616];
/** Records of the official test batch: the most `testRecords` can ask for. */
export const CIFAR10_TEST_RECORDS = 10_000;

/** Paths of the CIFAR-10 binary batch files for `loadCifar10` (each raw or gzip). */
export interface Cifar10Paths {
  /** data_batch_1 .. data_batch_5, in this order. */
  readonly train: readonly string[];
  /** test_batch.bin, whole or partial (raw or gzip); needed unless testRecords is 0. */
  readonly test?: string;
}

/** Options of `loadCifar10`: checksum verification (default on) and the number of test records. */
export interface Cifar10Options extends DecodeOptions {
  /** At most this many leading test-batch records after the training images (default: all found; 0 = none). */
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
        ? ` (matches ${describeKnown(known)})`
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

/**
 * Records a batch file holds, from its size (raw) or its gzip trailer's ISIZE (gzip): a capacity hint
 * only (ISIZE is that of the last gzip member), so the decode checks it.
 */
async function recordsHint(path: string): Promise<number> {
  try {
    const size = statSync(path).size;
    if (!isGzip(await readBytes(path, 0, 2))) return Math.floor(size / CIFAR10_RECORD_BYTES);
    const tail = await readBytes(path, Math.max(0, size - 4));
    if (tail.length < 4) return CIFAR10_TEST_RECORDS;
    return Math.floor(new DataView(tail.buffer, tail.byteOffset).getUint32(0, true) / CIFAR10_RECORD_BYTES);
  } catch {
    return CIFAR10_TEST_RECORDS; // unreadable: the decode reports it
  }
}

/**
 * Decodes and verifies CIFAR-10: the 50,000 training images, then up to `testRecords` test records,
 * as a Dataset of [32, 32, 3] samples (stored as bytes, normalised per channel with CIFAR10_MEAN/STD).
 * Throws a DataError for a bad option, or naming the file that is malformed, has a label outside 0..9,
 * is longer than the published file, or fails its checksum; partial files are accepted with a warning.
 */
export async function loadCifar10(paths: Cifar10Paths, opts: Cifar10Options = {}): Promise<Dataset> {
  const verify = opts.verifyChecksums ?? true;
  const cap = opts.testRecords ?? CIFAR10_TEST_RECORDS;
  if (!Number.isInteger(cap) || cap < 0 || cap > CIFAR10_TEST_RECORDS) {
    throw new DataError(`option testRecords: expected an integer in [0, 10000], got ${cap}`);
  }
  const testRecords = cap;
  if (paths.train.length !== CIFAR10_TRAIN_FILES.length) {
    throw new DataError(`CIFAR-10: expected 5 training batch paths, got ${paths.train.length}`);
  }
  if (testRecords > 0 && paths.test === undefined) {
    throw new DataError(`CIFAR-10: testRecords is ${testRecords} but no test batch path was given`);
  }
  // Room for the test records the file holds (its size says how many), at most the cap.
  const hint =
    testRecords > 0 && paths.test !== undefined
      ? Math.min(testRecords, Math.max(0, Math.min(await recordsHint(paths.test), CIFAR10_TEST_RECORDS)))
      : 0;
  let capacity = 50_000 + hint;
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
    const decodeTest = () =>
      decodeCifarBatch(paths.test!, "test_batch", [CIFAR10_TEST_FILE, CIFAR10_TEST_FIRST1000_FILE], verify, {
        pixels,
        labels,
        at,
        limit: capacity - at,
      });
    test = await decodeTest();
    if (test.stored < Math.min(test.records, testRecords)) {
      // The size hint was short (a multi-member gzip file): grow to the cap and decode again.
      capacity = 50_000 + testRecords;
      const more = new Uint8Array(capacity * 3072);
      more.set(pixels.subarray(0, at * 3072));
      const moreLabels = new Uint8Array(capacity);
      moreLabels.set(labels.subarray(0, at));
      pixels = more;
      labels = moreLabels;
      test = await decodeTest();
    }
    if (test.warning) warnings.push(test.warning);
    if (opts.testRecords !== undefined && test.stored < opts.testRecords) {
      warnings.push(`${paths.test}: only ${test.records} test records, ${opts.testRecords} requested`);
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
    source:
      `CIFAR-10 binary: ${trainCount.toLocaleString("en-US")} training images then ` +
      `${test === undefined ? "no" : test.stored === test.records ? `all ${test.stored.toLocaleString("en-US")}` : `the first ${test.stored.toLocaleString("en-US")} of ${test.records.toLocaleString("en-US")}`} test records`,
  });
}
