/**
 * MNIST on the real files, found as a user's run finds them (test-support.ts `realFiles`): counts,
 * shape, label histograms and published checksums, normalisation against the formula, and one crafted
 * bad file per failure mode.
 */

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { md5Hex, readDataFile, sha256Hex } from "./bytes.ts";
import { labelHistogram } from "./dataset.ts";
import { DataError } from "./errors.ts";
import { MNIST_FILES } from "./known-files.ts";
import { decodeMnistFile } from "./mnist.ts";
import { errorOf, realDataset, realFiles, tempDir } from "./test-support.ts";
import type { Dataset } from "./types.ts";

// Real files of tens of MB on a shared 2-core machine: allow more than the 5 s default.
setDefaultTimeout(600_000); // npm test's limit: a loaded machine runs these many times slower

const TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

let ds: Dataset;
let files: Readonly<Record<string, string>>; // role -> path of the real files
const tmp = tempDir("mnist");

beforeAll(async () => {
  files = await realFiles("mnist");
  ds = await realDataset("mnist");
});
afterAll(() => tmp.cleanup());

describe("real MNIST", () => {
  test("counts, shape, label histograms", () => {
    expect(ds.name).toBe("mnist");
    expect(ds.count).toBe(70_000);
    expect(ds.sampleShape).toEqual([28, 28, 1]);
    expect(ds.sampleSize).toBe(784);
    expect(ds.numClasses).toBe(10);
    expect([...labelHistogram(ds.labels.subarray(0, 60_000), 10)]).toEqual(TRAIN_COUNTS);
    expect([...labelHistogram(ds.labels.subarray(60_000), 10)]).toEqual(TEST_COUNTS);
    expect(ds.warnings).toEqual([]);
  });

  test("the files found are the ones loaded, each verified by checksum", () => {
    expect(ds.files.map((f) => f.role)).toEqual([
      "train-images",
      "train-labels",
      "test-images",
      "test-labels",
    ]);
    for (const f of ds.files) {
      expect(f.path).toBe(files[f.role]!);
      expect(f.gzip).toBe(f.path.endsWith(".gz"));
      expect(f.verification).toBe("checksum");
      expect(f.partial).toBe(false);
    }
    expect(ds.files[0]!.sha256).toBe(MNIST_FILES.trainImages.rawSha256);
  });

  test("files match the published sizes and checksums (the official .gz: its md5 and sha256 too)", async () => {
    for (const known of Object.values(MNIST_FILES)) {
      const path = files[known.role]!;
      const disk = await Bun.file(path).bytes();
      if (path.endsWith(".gz")) {
        expect([disk.length, md5Hex(disk), sha256Hex(disk)]).toEqual([
          known.gz.bytes,
          known.gz.md5,
          known.gz.sha256,
        ]);
      }
      const raw = (await readDataFile(path)).data;
      expect([raw.length, sha256Hex(raw)]).toEqual([known.rawBytes, known.rawSha256]);
    }
  });

  test("normalisation, its inverse and the [0,1] view agree with the formula on raw bytes", async () => {
    const raw = (await readDataFile(files["test-images"]!)).data;
    const idx = [60_000, 69_999, 61_234, 65_432];
    const g = ds.gather(idx);
    const unit = ds.gatherUnit(idx);
    const back = ds.toUnit(g.x);
    const again = ds.fromUnit(unit);
    let maxErr = 0;
    for (let j = 0; j < idx.length; j++) {
      for (let p = 0; p < 784; p += 7) {
        const i = idx[j]!;
        // Reference: the pixel in the raw IDX file (test images follow the 60,000 training images).
        const v = raw[16 + (i - 60_000) * 784 + p]!;
        const k = j * 784 + p;
        maxErr = Math.max(
          maxErr,
          Math.abs(g.x[k]! - (v / 255 - 0.1307) / 0.3081),
          Math.abs(unit[k]! - v / 255),
          Math.abs(back[k]! - v / 255),
          Math.abs(again[k]! - g.x[k]!),
        );
      }
    }
    expect(maxErr).toBeLessThan(1e-5);
    expect([...g.labels]).toEqual(idx.map((i) => ds.labels[i]!));
    expect(() => ds.gather([70_000])).toThrow(/index 70000 out of range/);
  });
});

describe("crafted bad MNIST files", () => {
  let labels: Uint8Array; // raw t10k labels, 10,008 bytes
  let images: Uint8Array; // raw t10k images, 7,840,016 bytes
  const write = (name: string, data: Uint8Array) => {
    const p = join(tmp.dir, name);
    writeFileSync(p, data);
    return p;
  };
  beforeAll(async () => {
    labels = (await readDataFile(files["test-labels"]!)).data;
    images = (await readDataFile(files["test-images"]!)).data;
  });

  test("the raw (uncompressed) originals pass", async () => {
    const part = await decodeMnistFile(write("t10k-labels-idx1-ubyte", labels), MNIST_FILES.testLabels);
    expect(part.count).toBe(10_000);
    expect(part.report.gzip).toBe(false);
    expect(part.report.verification).toBe("checksum");
  });

  test("truncated file", async () => {
    const p = write("trunc-images", images.subarray(0, 5_000_000));
    const e = await errorOf(() => decodeMnistFile(p, MNIST_FILES.testImages));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toContain(p);
    expect(e.message).toMatch(/truncated: header dimensions 10000 x 28 x 28 need 7,840,000 data bytes/);
  });

  test("truncated gzip file", async () => {
    const gz = Bun.gzipSync(labels as Uint8Array<ArrayBuffer>);
    const p = write("trunc-labels.gz", gz.subarray(0, 3000));
    const e = await errorOf(() => decodeMnistFile(p, MNIST_FILES.testLabels));
    expect(e.message).toContain(p);
    expect(e.message).toMatch(/gzip data is corrupt or truncated \(unexpected end of file\)/);
  });

  test("wrong magic number (labels file given as images)", async () => {
    const p = write("swapped", labels);
    const e = await errorOf(() => decodeMnistFile(p, MNIST_FILES.testImages));
    expect(e.message).toBe(
      `${p}: wrong magic number 0x00000801; expected 0x00000803 (IDX, unsigned byte, 3 dimensions) for MNIST images`,
    );
  });

  test("header dimensions disagree with the file size", async () => {
    // Header says 10 images, the file holds 11.
    const more = images.slice(0, 16 + 784 * 11);
    new DataView(more.buffer).setUint32(4, 10);
    const p1 = write("dims-too-long", more);
    const e1 = await errorOf(() => decodeMnistFile(p1, MNIST_FILES.testImages));
    expect(e1.message).toBe(
      `${p1}: too long: header dimensions 10 x 28 x 28 need 7,840 data bytes (7,856 in all), the file has 8,624 (8,640 in all)`,
    );
    const odd = images.slice(0, 16 + 27 * 28 * 10);
    new DataView(odd.buffer).setUint32(4, 10);
    new DataView(odd.buffer).setUint32(8, 27);
    const p2 = write("dims-27", odd);
    const e2 = await errorOf(() => decodeMnistFile(p2, MNIST_FILES.testImages));
    expect(e2.message).toContain(
      "header dimensions 10 x 27 x 28 disagree with MNIST images: expected n x 28 x 28",
    );
  });

  test("label out of range", async () => {
    const bad = labels.slice();
    bad[8 + 1234] = 10;
    const p = write("bad-label", bad);
    const e = await errorOf(() => decodeMnistFile(p, MNIST_FILES.testLabels));
    expect(e.message).toBe(`${p}: label out of range: record 1234 has label 10, expected 0..9`);
  });

  test("wrong checksum (one pixel changed), and no check when verification is off", async () => {
    const bad = images.slice();
    bad[16 + 500]! ^= 1;
    const p = write("bad-pixel", bad);
    const e = await errorOf(() => decodeMnistFile(p, MNIST_FILES.testImages));
    expect(e.message).toContain(`${p}: checksum mismatch: sha256 of the contents is `);
    expect(e.message).toContain(`expected ${MNIST_FILES.testImages.rawSha256}`);
    const unchecked = await decodeMnistFile(p, MNIST_FILES.testImages, false);
    expect(unchecked.report.verification).toBe("skipped");
  });
});
