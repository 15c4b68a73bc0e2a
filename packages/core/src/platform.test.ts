import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  fileSink,
  fileStream,
  hasher,
  hashHex,
  moduleDir,
  readBytes,
  runtimeName,
  runtimeVersion,
  writeBody,
} from "./platform.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ul-platform-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function randomFile(name: string, bytes: number): { file: string; data: Uint8Array<ArrayBuffer> } {
  const data = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) data[i] = Math.floor(Math.random() * 256);
  const file = path.join(tmp, name);
  fs.writeFileSync(file, data);
  return { file, data };
}

describe("runtime facts", () => {
  test("under bun test the runtime is Bun, with Bun's version", () => {
    expect(runtimeName()).toBe("bun");
    expect(runtimeVersion()).toEqual({ name: "bun", version: Bun.version });
  });

  test("moduleDir is the module's folder", () => {
    expect(moduleDir(import.meta.url)).toBe(import.meta.dir);
  });
});

describe("hashes against published test vectors", () => {
  test("sha256 and md5 of 'abc' and of the empty string (FIPS 180-2, RFC 1321)", () => {
    const abc = new TextEncoder().encode("abc");
    expect(hashHex("sha256", abc)).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(hashHex("md5", abc)).toBe("900150983cd24fb0d6963f7d28e17f72");
    expect(hashHex("md5", new Uint8Array(0))).toBe("d41d8cd98f00b204e9800998ecf8427e");
  });

  test("incremental updates give the one-shot digest", () => {
    const { data } = randomFile("h.bin", 10_007);
    const h = hasher("sha256");
    for (let i = 0; i < data.length; i += 1000) h.update(data.subarray(i, i + 1000));
    expect(h.digest()).toBe(new Bun.CryptoHasher("sha256").update(data).digest("hex"));
  });
});

describe("file reads and writes", () => {
  test("readBytes returns each slice that readFileSync's buffer holds", async () => {
    const { file, data } = randomFile("r.bin", 5000);
    expect(await readBytes(file)).toEqual(data);
    for (const [a, b] of [
      [0, 2],
      [4996, 5000],
      [1234, 4321],
      [4990, 9999],
      [6000, 7000],
    ] as const) {
      expect(await readBytes(file, a, b)).toEqual(data.subarray(Math.min(a, 5000), Math.min(b, 5000)));
    }
    expect(await readBytes(file, 4998)).toEqual(data.subarray(4998));
  });

  test("fileStream yields the file in chunks of the given size", async () => {
    const { file, data } = randomFile("s.bin", 10_000);
    const sizes: number[] = [];
    const parts: Uint8Array[] = [];
    for await (const c of fileStream(file, 4096)) {
      sizes.push(c.length);
      parts.push(c);
    }
    expect(sizes).toEqual([4096, 4096, 1808]);
    expect(Buffer.concat(parts)).toEqual(Buffer.from(data));
  });

  test("fileStream of a missing file fails with the file's name", async () => {
    const read = async () => {
      for await (const _ of fileStream(path.join(tmp, "missing.bin"))) {
        // nothing
      }
    };
    await expect(read()).rejects.toThrow("missing.bin");
  });

  test("fileSink and writeBody write what they are given", async () => {
    const { data } = randomFile("w.src", 70_001);
    const out = path.join(tmp, "w.bin");
    const sink = fileSink(out);
    sink.write(data.subarray(0, 100));
    sink.write(data.subarray(100));
    sink.end();
    expect(new Uint8Array(fs.readFileSync(out))).toEqual(data);
    expect(() => sink.write(data)).toThrow("write after end");
    const body = new Response(data).body!;
    const out2 = path.join(tmp, "w2.bin");
    expect(await writeBody(out2, body)).toBe(data.length);
    expect(new Uint8Array(fs.readFileSync(out2))).toEqual(data);
  });
});
