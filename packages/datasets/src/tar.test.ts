/**
 * Tar reader: round trip with the writer, the same entries whatever the chunking of the stream,
 * GNU long names and pax paths (headers built here by hand), and errors for corrupt or cut archives.
 */

import { describe, expect, test } from "bun:test";
import { DataError } from "./errors.ts";
import { readTar, TarParser, writeTar } from "./tar.ts";

const enc = new TextEncoder();
const files = [
  { name: "dir/a.bin", data: Uint8Array.from({ length: 1300 }, (_, i) => (i * 7) & 255) },
  { name: "dir/empty", data: new Uint8Array(0) },
  { name: "b.txt", data: enc.encode("hello") },
];

/** A header block for `name` of `size` bytes with type `flag`, checksum filled in. */
function header(name: string, size: number, flag: string): Uint8Array {
  const h = writeTar([{ name, data: new Uint8Array(size) }]).slice(0, 512);
  h[156] = flag.charCodeAt(0);
  h.fill(0x20, 148, 156);
  const sum = h.reduce((a, b) => a + b, 0);
  h.set(enc.encode(`${sum.toString(8).padStart(6, "0")}\0 `), 148);
  return h;
}
const pad = (b: Uint8Array) => {
  const out = new Uint8Array(Math.ceil(b.length / 512) * 512);
  out.set(b);
  return out;
};
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

describe("tar", () => {
  test("round trip", () => {
    const entries = readTar(writeTar(files), "t");
    expect(entries.map((e) => [e.name, e.type, e.size])).toEqual(
      files.map((f) => [f.name, "file", f.data.length]),
    );
    expect([...entries[0]!.data]).toEqual([...files[0]!.data]);
    expect(new TextDecoder().decode(entries[2]!.data)).toBe("hello");
  });

  test("any chunking gives the same bodies", () => {
    const tar = writeTar(files);
    for (const step of [1, 7, 511, 512, 513, 4096]) {
      const got = new Map<string, number[]>();
      const p = new TarParser("t", (h) => {
        const body: number[] = [];
        got.set(h.name, body);
        return (c) => body.push(...c);
      });
      for (let i = 0; i < tar.length; i += step) p.push(tar.subarray(i, i + step));
      p.end();
      expect(got.get("dir/a.bin")).toEqual([...files[0]!.data]);
      expect(got.get("b.txt")).toEqual([...enc.encode("hello")]);
      expect(got.get("dir/empty")).toEqual([]);
    }
  });

  test("GNU long names and pax paths", () => {
    const long = `${"x".repeat(120)}/data_batch_1.bin`;
    const body = enc.encode("abc");
    const paxRecord = "31 path=pax/dir/test_batch.bin\n";
    expect(paxRecord.length).toBe(31);
    const tar = concat(
      header("././@LongLink", long.length + 1, "L"),
      pad(enc.encode(`${long}\0`)),
      header("short", body.length, "0"),
      pad(body),
      header("PaxHeader", paxRecord.length, "x"),
      pad(enc.encode(paxRecord)),
      header("ignored-name", body.length, "0"),
      pad(body),
      new Uint8Array(1024),
    );
    expect(readTar(tar, "t").map((e) => e.name)).toEqual([long, "pax/dir/test_batch.bin"]);
  });

  test("corrupt header and truncated archive", () => {
    const tar = writeTar(files);
    const bad = tar.slice();
    bad[3]! ^= 1;
    expect(() => readTar(bad, "arch.tar")).toThrow(DataError);
    expect(() => readTar(bad, "arch.tar")).toThrow(
      /^arch\.tar: tar header checksum \d+, computed \d+: archive corrupt$/,
    );
    expect(() => readTar(tar.subarray(0, 1000), "arch.tar")).toThrow(
      "arch.tar: truncated tar: the archive ends after 1000 bytes, inside an entry",
    );
  });
});
