/**
 * CIFAR-10 on the real files in <repo>/../shared/data: counts, label histograms (SOURCES.md), the
 * partial test batch, the NHWC layout against the planar records, normalisation; and crafted bad
 * batches (partial, not whole records, bad label, wrong checksum, too long, fake or cut .gz).
 */

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CIFAR10_MEAN, CIFAR10_STD, decodeCifarBatch } from "./cifar10.ts";
import { labelHistogram } from "./dataset.ts";
import { DataError } from "./errors.ts";
import { CIFAR10_TEST_FILE, CIFAR10_TEST_FIRST1000_FILE, CIFAR10_TRAIN_FILES } from "./known-files.ts";
import { loadDataset } from "./load.ts";
import { errorOf, REPO_ROOT, SHARED_DATA, tempDir } from "./test-support.ts";
import type { Dataset } from "./types.ts";

// Real files of tens of MB on a shared 2-core machine: allow more than the 5 s default.
setDefaultTimeout(60_000);

const BATCH_COUNTS = [
  [1005, 974, 1032, 1016, 999, 937, 1030, 1001, 1025, 981],
  [984, 1007, 1010, 995, 1010, 988, 1008, 1026, 987, 985],
  [994, 1042, 965, 997, 990, 1029, 978, 1015, 961, 1029],
  [1003, 963, 1041, 976, 1004, 1021, 1004, 981, 1024, 983],
  [1014, 1014, 952, 1016, 997, 1025, 980, 977, 1003, 1022],
];
const TEST_COUNTS = [103, 89, 100, 103, 90, 86, 112, 102, 106, 109];

let ds: Dataset;
let testRaw: Uint8Array; // raw test_batch_first1000.bin (records 50,000.. of the data set)
const tmp = tempDir("cifar");

beforeAll(async () => {
  ds = await loadDataset("cifar10", {
    cwd: REPO_ROOT,
    env: {},
    cacheDir: join(tmp.dir, "cache"),
    download: false,
  });
  testRaw = Bun.gunzipSync(await Bun.file(join(SHARED_DATA, "cifar10/test_batch_first1000.bin.gz")).bytes());
});
afterAll(() => tmp.cleanup());

describe("real CIFAR-10", () => {
  test("counts, shape and label histograms per batch", () => {
    expect(ds.name).toBe("cifar10");
    expect(ds.count).toBe(51_000);
    expect(ds.sampleShape).toEqual([32, 32, 3]);
    expect(ds.classNames[3]).toBe("cat");
    for (let b = 0; b < 5; b++) {
      expect([...labelHistogram(ds.labels.subarray(b * 10_000, (b + 1) * 10_000), 10)]).toEqual(
        BATCH_COUNTS[b]!,
      );
    }
    expect([...labelHistogram(ds.labels.subarray(0, 50_000), 10)]).toEqual(new Array(10).fill(5000));
    expect([...labelHistogram(ds.labels.subarray(50_000), 10)]).toEqual(TEST_COUNTS);
    expect([...ds.labels.subarray(50_000, 50_010)]).toEqual([3, 8, 8, 0, 6, 6, 1, 6, 3, 1]);
  });

  test("every file verified; the partial test batch is reported, not silent", () => {
    expect(ds.files.map((f) => f.verification)).toEqual(new Array(6).fill("checksum"));
    expect(ds.files.map((f) => f.sha256)).toEqual([
      ...CIFAR10_TRAIN_FILES.map((k) => k.rawSha256),
      CIFAR10_TEST_FIRST1000_FILE.rawSha256,
    ]);
    const test = ds.files[5]!;
    expect(test.path).toBe(join(SHARED_DATA, "cifar10/test_batch_first1000.bin.gz"));
    expect([test.partial, test.records, test.expectedRecords]).toEqual([true, 1000, 10_000]);
    expect(ds.warnings).toHaveLength(1);
    expect(ds.warnings[0]).toContain("partial test_batch, read 1,000 of 10,000 records");
  });

  test("NHWC layout and normalisation match the planar records", () => {
    const recs = [0, 7, 999];
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

describe("crafted bad CIFAR-10 batches", () => {
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

  test("wrong checksum: a file of the published size with one byte changed", async () => {
    const bad = testRaw.slice();
    bad[123_456]! ^= 0x40;
    const p = write("test_batch.bin", bad);
    const e = await errorOf(() =>
      decodeCifarBatch(p, "test_batch", [CIFAR10_TEST_FILE, CIFAR10_TEST_FIRST1000_FILE], true, out()),
    );
    expect(e.message).toBe(
      `${p}: checksum mismatch: sha256 of the contents is ${new Bun.CryptoHasher("sha256").update(bad).digest("hex")}, ` +
        `expected ${CIFAR10_TEST_FIRST1000_FILE.rawSha256} (the published test_batch_first1000.bin, 3,073,000 bytes)`,
    );
  });

  test("longer than the complete file", async () => {
    const long = new Uint8Array(testRaw.length + 3073);
    long.set(testRaw);
    const p = write("long.bin", long);
    const e = await errorOf(() =>
      decodeCifarBatch(p, "test_batch", [CIFAR10_TEST_FIRST1000_FILE], true, out()),
    );
    expect(e.message).toBe(
      `${p}: too long: 1,001 records (3,076,073 bytes), expected at most 1,000 for test_batch_first1000.bin`,
    );
  });

  test("a .gz name without gzip contents, and a truncated gzip file", async () => {
    const p = write("fake.bin.gz", testRaw.subarray(0, 3073));
    const e = await errorOf(() => decodeCifarBatch(p, "data_batch_2", [b2], true, out()));
    expect(e.message).toBe(
      `${p}: name ends in .gz but the file does not start with the gzip magic bytes 1f 8b`,
    );
    const gz = await Bun.file(join(SHARED_DATA, "cifar10/test_batch_first1000.bin.gz")).bytes();
    const p2 = write("cut.bin.gz", gz.subarray(0, 100_000));
    const e2 = await errorOf(() => decodeCifarBatch(p2, "test_batch", [CIFAR10_TEST_FILE], true, out()));
    expect(e2.message).toContain(`${p2}: gzip data is corrupt or truncated (unexpected end of file)`);
  });
});
