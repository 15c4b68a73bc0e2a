/**
 * CIFAR-10 on the real files, found as a user's run finds them (test-support.ts `realFiles`): counts,
 * label histograms, whatever test batch was found (the whole published one, or a partial one under
 * its published name), the NHWC layout against the planar records, normalisation; and crafted bad
 * batches (partial, not whole records, bad label, wrong checksum, too long, fake or cut .gz).
 */

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { readDataFile } from "./bytes.ts";
import { CIFAR10_MEAN, CIFAR10_STD, decodeCifarBatch, loadCifar10 } from "./cifar10.ts";
import { labelHistogram } from "./dataset.ts";
import { DataError } from "./errors.ts";
import { CIFAR10_TEST_FILE, CIFAR10_TEST_FIRST1000_FILE, CIFAR10_TRAIN_FILES } from "./known-files.ts";
import { loadDataset } from "./load.ts";
import { errorOf, realDataset, realFiles, tempDir } from "./test-support.ts";
import type { Dataset } from "./types.ts";

// Real files of tens of MB on a shared 2-core machine: allow more than the 5 s default.
setDefaultTimeout(600_000); // npm test's limit: a loaded machine runs these many times slower

const BATCH_COUNTS = [
  [1005, 974, 1032, 1016, 999, 937, 1030, 1001, 1025, 981],
  [984, 1007, 1010, 995, 1010, 988, 1008, 1026, 987, 985],
  [994, 1042, 965, 997, 990, 1029, 978, 1015, 961, 1029],
  [1003, 963, 1041, 976, 1004, 1021, 1004, 981, 1024, 983],
  [1014, 1014, 952, 1016, 997, 1025, 980, 977, 1003, 1022],
];
/** Labels of the first 1,000 records of the published test_batch.bin. */
const TEST_COUNTS_FIRST1000 = [103, 89, 100, 103, 90, 86, 112, 102, 106, 109];

let ds: Dataset;
let files: Readonly<Record<string, string>>; // role -> path of the real files
let testRaw: Uint8Array; // the test batch found, decompressed (records 50,000.. of the data set)
let testN: number; // its records
let first1000: Uint8Array; // its first 1,000 records
const tmp = tempDir("cifar");

beforeAll(async () => {
  files = await realFiles("cifar10");
  ds = await realDataset("cifar10");
  testRaw = (await readDataFile(files.test_batch!)).data;
  testN = testRaw.length / 3073;
  if (testN < 1000) {
    throw new Error(
      `${files.test_batch}: ${testN} records; these tests need at least the first 1,000 of test_batch.bin`,
    );
  }
  first1000 = testRaw.subarray(0, 1000 * 3073);
});
afterAll(() => tmp.cleanup());

describe("real CIFAR-10: counts, labels and file reports", () => {
  test("counts, shape and label histograms per batch; every test record found is used", () => {
    expect(ds.name).toBe("cifar10");
    expect(ds.count).toBe(50_000 + testN);
    expect(ds.sampleShape).toEqual([32, 32, 3]);
    expect(ds.classNames[3]).toBe("cat");
    for (let b = 0; b < 5; b++) {
      expect([...labelHistogram(ds.labels.subarray(b * 10_000, (b + 1) * 10_000), 10)]).toEqual(
        BATCH_COUNTS[b]!,
      );
    }
    expect([...labelHistogram(ds.labels.subarray(0, 50_000), 10)]).toEqual(new Array(10).fill(5000));
    expect([...labelHistogram(ds.labels.subarray(50_000, 51_000), 10)]).toEqual(TEST_COUNTS_FIRST1000);
    if (testN === 10_000) {
      // The published test batch: 1,000 images per class.
      expect([...labelHistogram(ds.labels.subarray(50_000), 10)]).toEqual(new Array(10).fill(1000));
    }
    expect([...ds.labels.subarray(50_000, 50_010)]).toEqual([3, 8, 8, 0, 6, 6, 1, 6, 3, 1]);
  });

  test("every file verified; a partial test batch is reported, not silent", () => {
    const test = ds.files[5]!;
    expect(ds.files.map((f) => f.path)).toEqual(
      [1, 2, 3, 4, 5].map((k) => files[`data_batch_${k}`]!).concat(files.test_batch!),
    );
    expect(ds.files.slice(0, 5).map((f) => f.verification)).toEqual(new Array(5).fill("checksum"));
    expect(ds.files.slice(0, 5).map((f) => f.sha256)).toEqual(CIFAR10_TRAIN_FILES.map((k) => k.rawSha256));
    expect([test.partial, test.records, test.expectedRecords]).toEqual([testN !== 10_000, testN, 10_000]);
    if (testN === 10_000) {
      expect([test.verification, test.sha256]).toEqual(["checksum", CIFAR10_TEST_FILE.rawSha256]);
      expect(ds.warnings).toEqual([]);
    } else {
      // A recognised prefix is checked against its checksum; another part by structure only.
      expect([test.verification, test.sha256 === CIFAR10_TEST_FIRST1000_FILE.rawSha256]).toEqual(
        testN === 1000 ? ["checksum", true] : ["structure-only", false],
      );
      expect(ds.warnings).toHaveLength(1);
      expect(ds.warnings[0]).toContain(
        `partial test_batch, read ${testN.toLocaleString("en-US")} of 10,000 records`,
      );
    }
  });
});

describe("real CIFAR-10: a partial test batch, a record cap and the layout", () => {
  test("a partial test_batch.bin (300 records) and a cap on test records", async () => {
    const dir = join(tmp.dir, "partial", "cifar10");
    mkdirSync(dir, { recursive: true });
    for (let k = 1; k <= 5; k++) {
      const src = files[`data_batch_${k}`]!;
      symlinkSync(src, join(dir, `data_batch_${k}.bin${src.endsWith(".gz") ? ".gz" : ""}`));
    }
    writeFileSync(join(dir, "test_batch.bin"), testRaw.subarray(0, 300 * 3073));
    const part = await loadDataset("cifar10", { dataDir: join(tmp.dir, "partial"), download: false });
    expect(part.count).toBe(50_300);
    expect([part.files[5]!.partial, part.files[5]!.records, part.files[5]!.verification]).toEqual([
      true,
      300,
      "structure-only",
    ]);
    expect(part.warnings).toEqual([
      `${join(dir, "test_batch.bin")}: partial test_batch, read 300 of 10,000 records (no published checksum for this part: structure checked only)`,
    ]);
    // Reference: the label bytes of the records written.
    expect([...part.labels.subarray(50_000, 50_300)]).toEqual(
      Array.from({ length: 300 }, (_, i) => testRaw[i * 3073]!),
    );
    const trainPaths = [1, 2, 3, 4, 5].map((k) => files[`data_batch_${k}`]!);
    const capped = await loadCifar10({ train: trainPaths, test: files.test_batch! }, { testRecords: 20 });
    expect(capped.count).toBe(50_020);
    expect([...capped.labels.subarray(50_000)]).toEqual(
      Array.from({ length: 20 }, (_, i) => testRaw[i * 3073]!),
    );
  });

  test("NHWC layout and normalisation match the planar records", () => {
    const recs = [0, 7, testN - 1];
    const idx = recs.map((r) => 50_000 + r); // records of the test batch
    const g = ds.gather(idx);
    const unit = ds.gatherUnit(idx);
    const back = ds.toUnit(g.x);
    let maxErr = 0;
    for (let j = 0; j < recs.length; j++) {
      const s = recs[j]! * 3073;
      expect(g.labels[j]).toBe(testRaw[s]!);
      for (let y = 0; y < 32; y += 3) {
        for (let x = 0; x < 32; x += 5) {
          for (let c = 0; c < 3; c++) {
            const v = testRaw[s + 1 + c * 1024 + y * 32 + x]!;
            const k = j * 3072 + (y * 32 + x) * 3 + c;
            maxErr = Math.max(
              maxErr,
              Math.abs(g.x[k]! - (v / 255 - CIFAR10_MEAN[c]!) / CIFAR10_STD[c]!),
              Math.abs(unit[k]! - v / 255),
              Math.abs(back[k]! - v / 255),
            );
          }
        }
      }
    }
    expect(maxErr).toBeLessThan(1e-5);
  });
});

// Helpers of the crafted-batch tests: an output buffer for one batch, a file written under tmp.
const out = () => ({
  pixels: new Uint8Array(10_001 * 3072),
  labels: new Uint8Array(10_001),
  at: 0,
  limit: 10_001,
});
const write = (name: string, data: Uint8Array) => {
  const p = join(tmp.dir, name);
  writeFileSync(p, data);
  return p;
};
const b2 = CIFAR10_TRAIN_FILES[1]!;

describe("crafted bad CIFAR-10 batches: partial and malformed records", () => {
  test("a partial batch of whole records is accepted and reported", async () => {
    const p = write("partial.bin", testRaw.subarray(0, 500 * 3073));
    const o = out();
    const r = await decodeCifarBatch(p, "data_batch_2", [b2], true, o);
    expect([r.records, r.stored, r.report.partial, r.report.verification]).toEqual([
      500,
      500,
      true,
      "structure-only",
    ]);
    expect(r.warning).toBe(
      `${p}: partial data_batch_2, read 500 of 10,000 records (no published checksum for this part: structure checked only)`,
    );
    expect(o.labels[499]).toBe(testRaw[499 * 3073]!);
  });

  test("not a whole number of records", async () => {
    const p = write("ragged.bin", testRaw.subarray(0, 3 * 3073 + 100));
    const e = await errorOf(() => decodeCifarBatch(p, "data_batch_2", [b2], true, out()));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toBe(
      `${p}: not a whole number of CIFAR-10 records: 9,319 bytes = 3 records of 3073 bytes + 100 bytes; ` +
        "expected 30,730,000 bytes (10,000 records) or a whole number of records",
    );
  });

  test("label out of range", async () => {
    const bad = testRaw.slice(0, 5 * 3073);
    bad[2 * 3073] = 12;
    const p = write("label.bin", bad);
    const e = await errorOf(() => decodeCifarBatch(p, "data_batch_2", [b2], true, out()));
    expect(e.message).toBe(`${p}: label out of range: record 2 has label 12, expected 0..9`);
  });
});

describe("crafted bad CIFAR-10 batches: checksums, length and gzip", () => {
  test("wrong checksum: a recognised prefix's size with one byte changed", async () => {
    const bad = first1000.slice();
    bad[123_456]! ^= 0x40;
    const p = write("test_batch.bin", bad);
    const e = await errorOf(() =>
      decodeCifarBatch(p, "test_batch", [CIFAR10_TEST_FILE, CIFAR10_TEST_FIRST1000_FILE], true, out()),
    );
    expect(e.message).toBe(
      `${p}: checksum mismatch: sha256 of the contents is ${new Bun.CryptoHasher("sha256").update(bad).digest("hex")}, ` +
        `expected ${CIFAR10_TEST_FIRST1000_FILE.rawSha256} (records 0-999 of the published test_batch.bin, 3,073,000 bytes)`,
    );
  });

  test("wrong checksum: a file of the whole published size must be the published file", async () => {
    // 10,000 valid records (the first 1,000 ten times): right size and structure, wrong contents.
    const full = new Uint8Array(10_000 * 3073);
    for (let i = 0; i < 10; i++) full.set(first1000, i * first1000.length);
    const p = write("full.bin.gz", Bun.gzipSync(full));
    const e = await errorOf(() =>
      decodeCifarBatch(p, "test_batch", [CIFAR10_TEST_FILE, CIFAR10_TEST_FIRST1000_FILE], true, out()),
    );
    expect(e.message).toBe(
      `${p}: checksum mismatch: sha256 of the decompressed contents is ${new Bun.CryptoHasher("sha256").update(full).digest("hex")}, ` +
        `expected ${CIFAR10_TEST_FILE.rawSha256} (the published test_batch.bin, 30,730,000 bytes)`,
    );
  });

  test("longer than the complete file", async () => {
    const long = new Uint8Array(first1000.length + 3073);
    long.set(first1000);
    const p = write("long.bin", long);
    const e = await errorOf(() =>
      decodeCifarBatch(p, "test_batch", [CIFAR10_TEST_FIRST1000_FILE], true, out()),
    );
    expect(e.message).toBe(
      `${p}: too long: 1,001 records (3,076,073 bytes), expected at most 1,000 for test_batch.bin`,
    );
  });

  test("a .gz name without gzip contents, and a truncated gzip file", async () => {
    const p = write("fake.bin.gz", testRaw.subarray(0, 3073));
    const e = await errorOf(() => decodeCifarBatch(p, "data_batch_2", [b2], true, out()));
    expect(e.message).toBe(
      `${p}: name ends in .gz but the file does not start with the gzip magic bytes 1f 8b`,
    );
    const gz = Bun.gzipSync(first1000 as Uint8Array<ArrayBuffer>);
    const p2 = write("cut.bin.gz", gz.subarray(0, 100_000));
    const e2 = await errorOf(() => decodeCifarBatch(p2, "test_batch", [CIFAR10_TEST_FILE], true, out()));
    expect(e2.message).toContain(`${p2}: gzip data is corrupt or truncated (unexpected end of file)`);
  });
});
