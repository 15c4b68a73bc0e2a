/**
 * File reading: raw and gzip (also multi-member gzip, which Bun.gunzipSync would cut short), with a
 * wrong ISIZE capacity hint; streamed sha256 against a one-shot hash; the IDX sink under any chunking.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { sizeFromShape } from "@updates-leak/core/shape";
import { readDataFile, sha256Hex, streamDataFile } from "./bytes.ts";
import { IdxSink } from "./idx.ts";
import { errorOf, tempDir } from "./test-support.ts";

const tmp = tempDir("bytes");
afterAll(() => tmp.cleanup());

const big = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 31 + (i >> 9)) & 255);
const small = new TextEncoder().encode("tail member");

describe("readDataFile / streamDataFile", () => {
  test("raw, gzip, and multi-member gzip give the exact contents", async () => {
    const whole = new Uint8Array(big.length + small.length);
    whole.set(big);
    whole.set(small, big.length);
    const raw = join(tmp.dir, "raw.bin");
    writeFileSync(raw, whole);
    const gz = join(tmp.dir, "one.gz");
    writeFileSync(gz, Bun.gzipSync(whole));
    // Two members; the trailer's ISIZE (of the last, small member) underestimates the total.
    const multi = join(tmp.dir, "two.gz");
    writeFileSync(multi, Buffer.concat([Bun.gzipSync(big), Bun.gzipSync(small)]));
    for (const [p, gzip] of [
      [raw, false],
      [gz, true],
      [multi, true],
    ] as const) {
      const f = await readDataFile(p);
      expect([f.gzip, f.data.length]).toEqual([gzip, whole.length]);
      expect(Buffer.from(f.data).equals(Buffer.from(whole))).toBe(true);
      let n = 0;
      const s = await streamDataFile(p, (c) => (n += c.length), true);
      expect([s.rawBytes, n, s.sha256]).toEqual([whole.length, whole.length, sha256Hex(whole)]);
    }
  });

  test("missing file", async () => {
    const p = join(tmp.dir, "nope.gz");
    expect((await errorOf(() => readDataFile(p))).message).toBe(`${p}: file not found or not readable`);
  });
});

describe("IdxSink", () => {
  // A 3 x 2 x 2 IDX file.
  const file = Uint8Array.from([
    0,
    0,
    8,
    3,
    0,
    0,
    0,
    3,
    0,
    0,
    0,
    2,
    0,
    0,
    0,
    2,
    ...Array.from({ length: 12 }, (_, i) => i + 1),
  ]);
  const expect3 = { ndim: 3, innerDims: [2, 2], what: "test images" };

  test("any chunking places the same data", () => {
    for (const step of [1, 3, 4, 5, 16, 17, 100]) {
      const sink = new IdxSink("f", expect3, (dims) => new Uint8Array(sizeFromShape(dims)));
      for (let i = 0; i < file.length; i += step) sink.push(file.subarray(i, i + step));
      const out = sink.finish();
      expect(out.dims).toEqual([3, 2, 2]);
      expect([...out.data]).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    }
  });

  test("a wrong magic number is reported from the first 4 bytes; a short header at the end", () => {
    const sink = new IdxSink("f", { ...expect3, ndim: 1 }, () => new Uint8Array(0));
    expect(() => sink.push(file.subarray(0, 4))).toThrow(
      "f: wrong magic number 0x00000803; expected 0x00000801 (IDX, unsigned byte, 1 dimension) for test images",
    );
    const short = new IdxSink("f", expect3, () => new Uint8Array(0));
    short.push(file.subarray(0, 10));
    expect(() => short.finish()).toThrow(
      "f: truncated: 10 bytes, shorter than the 16-byte IDX header of test images",
    );
  });
});
