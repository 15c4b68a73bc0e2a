/**
 * A damaged or missing data file, end to end with the real CLI (`--data-dir` on a temp folder holding
 * the four MNIST file names, the training images damaged; or only some of the files; or none with
 * --offline): the run stops with exit status 1 (it failed while working; the flags were fine), the
 * message on stderr names the file and what is wrong with it (or the files missing and how to
 * provide them), and NO run folder is made: the data are found and verified before anything is
 * written. Only headers and a little data are written, so no real MNIST is needed: a second each.
 * (Bad flags, exit 2 with nothing written, are covered by test/cli.test.ts and
 * tools/src/cli.test.ts.)
 */
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { leak } from "./run-support.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ul-data-errors-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** An IDX header (big-endian magic and dimensions) followed by `bytes` bytes of data. */
function idx(magic: number, dims: number[], bytes: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(4 + 4 * dims.length + bytes);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic);
  for (const [i, d] of dims.entries()) view.setUint32(4 + 4 * i, d);
  for (let i = 4 + 4 * dims.length; i < out.length; i++) out[i] = (i * 2654435761) >>> 24;
  return out;
}

const IMAGES = "train-images-idx3-ubyte.gz";

/** A --data-dir with the four MNIST names; the training images are `images`, the rest empty. */
function dataDir(name: string, images: Uint8Array): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  for (const f of ["train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]) {
    fs.writeFileSync(path.join(dir, f), "");
  }
  fs.writeFileSync(path.join(dir, IMAGES), images);
  return dir;
}

const gzipped = (b: Uint8Array<ArrayBuffer>) => Bun.gzipSync(b);
const images = idx(0x00000803, [60_000, 28, 28], 200_000);
const whole = gzipped(images);

const cases: [string, Uint8Array, RegExp][] = [
  [
    "a gzip stream cut short",
    whole.subarray(0, whole.length >> 1),
    /gzip data is corrupt or truncated \(unexpected end of file\); expected a complete gzip file/,
  ],
  [
    "a complete gzip holding a truncated IDX file",
    whole,
    /truncated: header dimensions 60000 x 28 x 28 need 47,040,000 data bytes .* the file has 200,000/,
  ],
  [
    "a labels file under the images name",
    gzipped(idx(0x00000801, [60_000], 100)),
    /wrong magic number 0x00000801; expected 0x00000803 \(IDX, unsigned byte, 3 dimensions\) for MNIST images/,
  ],
];

/** `leak label` on MNIST with `extra` flags and runs under `runs`. */
function label(runs: string, extra: string[]) {
  return leak(
    [
      "label",
      "--dataset",
      "mnist",
      "--shadow-models",
      "20",
      "--target-models",
      "10",
      "--backend",
      "cpu",
      "--runs-dir",
      runs,
      "--no-model-cache",
      ...extra,
    ],
    tmp,
  );
}

/** Nothing was written: no runs folder at all (so no run folder, no config.json). */
function expectNothingWritten(runs: string): void {
  expect(fs.existsSync(runs) ? fs.readdirSync(runs) : []).toEqual([]);
}

describe("a damaged MNIST file in --data-dir", () => {
  for (const [name, bytes, message] of cases) {
    test(`${name}: exit 1, the file named, no run folder made`, () => {
      const dir = dataDir(name.replace(/\W+/g, "-"), bytes);
      const runs = path.join(tmp, `runs-${path.basename(dir)}`);
      const r = label(runs, ["--data-dir", dir]);
      expect(r.code).toBe(1);
      const file = path.join(dir, IMAGES);
      const line = r.stderr.split("\n").find((l) => l.startsWith("error: "));
      expect(line).toStartWith(`error: ${file}: `);
      expect(line).toMatch(message);
      expect(r.stdout).not.toContain("result:");
      expectNothingWritten(runs);
    });
  }
});

describe("missing MNIST files", () => {
  test("--data-dir holding part of MNIST: exit 1, the missing files named, no run folder", () => {
    const dir = path.join(tmp, "part");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "train-labels-idx1-ubyte.gz"), "");
    const runs = path.join(tmp, "runs-part");
    const r = label(runs, ["--data-dir", dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `error: mnist: --data-dir ${dir} holds only part of the data set: missing train-images-idx3-ubyte or ` +
        "train-images-idx3-ubyte.gz, t10k-images-idx3-ubyte or t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte or " +
        "t10k-labels-idx1-ubyte.gz",
    );
    expectNothingWritten(runs);
  });

  test("an empty --data-dir with --offline: exit 1, how to provide the data, no run folder", () => {
    const dir = path.join(tmp, "empty");
    fs.mkdirSync(dir);
    const runs = path.join(tmp, "runs-empty");
    const r = label(runs, ["--data-dir", dir, "--offline"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `error: mnist: data files not found. Places tried, in order:\n  --data-dir         ${dir}: missing train-images, ` +
        "train-labels, test-images, test-labels\nDownloading is turned off (--offline).\nTo provide the data: set " +
        "UPDATES_LEAK_DATA to a folder holding the files, pass --data-dir DIR, or download them with " +
        "`npm run leak -- data fetch --dataset mnist`.",
    );
    expectNothingWritten(runs);
  });
});

describe("set sizes against the data found", () => {
  test("--set-size within the flag's limit but above the pool of the data found: exit 2, no run folder", () => {
    // 2,000 probes leave (70,000 - 2,000) / 2 - 10,000 = 24,000 per side's pool, below the 24,950
    // the flag allows; only the loaded data can tell. Real MNIST is found through the search order.
    const runs = path.join(tmp, "runs-set-size");
    const r = label(runs, ["--probe-count", "2000", "--set-size", "24500"]);
    expect(r.stderr).toContain(
      "error: --set-size 24500 is larger than the update pool of the mnist data found (70000 records, 24000 per side); allowed: 1 to 24000",
    );
    expect(r.code).toBe(2);
    expectNothingWritten(runs);
  });
});
