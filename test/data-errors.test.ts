/**
 * A damaged data file, end to end with the real CLI (`--data-dir` on a temp folder holding the
 * four MNIST file names, the training images damaged): the run stops with exit status 1 (it
 * failed while working; the flags were fine), the message on stderr names the file and what is
 * wrong with it, and the run folder records the error in metrics.jsonl with no shards and no
 * result. Only headers and a little data are written, so no real MNIST is needed: a second each.
 * (Bad flags, exit 2 with nothing written, are covered by test/cli.test.ts and
 * tools/src/cli.test.ts.)
 */
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readMetrics } from "../tools/src/run-folder.ts";
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

describe("a damaged MNIST file in --data-dir", () => {
  for (const [name, bytes, message] of cases) {
    test(`${name}: exit 1, the file named, the error recorded`, () => {
      const dir = dataDir(name.replace(/\W+/g, "-"), bytes);
      const runs = path.join(tmp, `runs-${path.basename(dir)}`);
      const r = leak(
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
          "--data-dir",
          dir,
          "--runs-dir",
          runs,
          "--no-model-cache",
        ],
        tmp,
      );
      expect(r.code).toBe(1);
      const file = path.join(dir, IMAGES);
      const line = r.stderr.split("\n").find((l) => l.startsWith("error: "));
      expect(line).toStartWith(`error: ${file}: `);
      expect(line).toMatch(message);
      expect(r.stdout).not.toContain("result:");
      // The run folder says what happened; nothing was generated.
      const [run] = fs.readdirSync(runs);
      const base = path.join(runs, run!);
      expect(fs.existsSync(path.join(base, "result.json"))).toBe(false);
      for (const side of ["shadow", "target"]) {
        const d = path.join(base, "shards", side);
        expect(fs.existsSync(d) ? fs.readdirSync(d) : []).toEqual([]);
      }
      const last = readMetrics(path.join(base, "metrics.jsonl")).at(-1);
      expect(last?.stage).toBe("run-error");
      expect(`error: ${last?.message}`).toBe(line!);
    });
  }
});
