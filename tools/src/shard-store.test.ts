import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ShardData } from "@updates-leak/attacks/store";
import { type FileOps, nodeFileOps } from "./atomic.ts";
import { configHash, dataFields } from "./config-hash.ts";
import {
  ConfigMismatchError,
  decodeShard,
  encodeShard,
  FileShardStore,
  type FileShardStoreOptions,
  SHARD_HEADER_BYTES,
  ShardWriteError,
  shardFileName,
} from "./shard-store.ts";

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), "ul-shards-"));
afterAll(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

let dir = "";
let n = 0;
beforeEach(() => {
  dir = path.join(tmpRoot, `s${n++}`);
});

const baseConfig = { attack: "label", dataset: "mnist", seed: 1, shadowModels: 50, threads: 2 };

function opts(extra: Partial<FileShardStoreOptions> = {}): FileShardStoreOptions {
  return {
    dir,
    role: "shadow",
    configHash: configHash(baseConfig),
    config: dataFields(baseConfig),
    ...extra,
  };
}

/** Deterministic shard content that differs per index. */
function makeShard(index: number, count = 3, deltaSize = 5, truthSize = 2): ShardData {
  const deltas = new Float32Array(count * deltaSize);
  const truth = new Float32Array(count * truthSize);
  for (let i = 0; i < deltas.length; i++) deltas[i] = Math.sin(index * 100 + i) * 1e-3;
  for (let i = 0; i < truth.length; i++) truth[i] = (index * 7 + i) % 10;
  return { count, deltaSize, truthSize, deltas, truth };
}

function expectSame(a: ShardData, b: ShardData): void {
  expect(a.count).toBe(b.count);
  expect(a.deltaSize).toBe(b.deltaSize);
  expect(a.truthSize).toBe(b.truthSize);
  expect(Array.from(a.deltas)).toEqual(Array.from(b.deltas));
  expect(Array.from(a.truth)).toEqual(Array.from(b.truth));
}

describe("shard file format", () => {
  test("encode/decode round trip is bit-exact and the header is as documented", () => {
    const s = makeShard(4, 2, 3, 1);
    s.deltas[0] = -0;
    s.deltas[1] = Number.NaN;
    s.deltas[2] = 3.4028234663852886e38;
    const bytes = encodeShard(4, s);
    expect(bytes.length).toBe(SHARD_HEADER_BYTES + 4 * (2 * 3 + 2 * 1));
    expect(new TextDecoder().decode(bytes.subarray(0, 7))).toBe("ULSHARD");
    const v = new DataView(bytes.buffer);
    expect([v.getUint32(8, true), v.getUint32(12, true), v.getUint32(16, true)]).toEqual([1, 4, 2]);
    expect([v.getUint32(20, true), v.getUint32(24, true)]).toEqual([3, 1]);
    expect(v.getFloat32(32 + 8, true)).toBe(s.deltas[2]!);
    const d = decodeShard(bytes, "x.bin", 4);
    expect(Object.is(d.deltas[0], -0)).toBe(true);
    expect(Number.isNaN(d.deltas[1]!)).toBe(true);
    expect(Array.from(d.deltas.subarray(2))).toEqual(Array.from(s.deltas.subarray(2)));
    expect(Array.from(d.truth)).toEqual(Array.from(s.truth));
  });

  test("decode rejects bad magic, version, index, and length, naming the file", () => {
    const good = encodeShard(2, makeShard(2));
    const bad = (mut: (b: Uint8Array) => Uint8Array) => () => decodeShard(mut(good.slice()), "f.bin", 2);
    const setU32 = (offset: number, v: number) => (b: Uint8Array) => {
      new DataView(b.buffer).setUint32(offset, v, true);
      return b;
    };
    const zeroFirst = (b: Uint8Array) => {
      b[0] = 0;
      return b;
    };
    expect(bad(zeroFirst)).toThrow("f.bin: not a shard file (bad magic)");
    expect(bad(setU32(8, 9))).toThrow("version 9");
    expect(bad(setU32(12, 3))).toThrow("header says shard 3");
    expect(bad((b) => b.subarray(0, b.length - 4))).toThrow("f.bin:");
    expect(bad((b) => b.subarray(0, 10))).toThrow("shorter than the 32-byte shard header");
  });

  test("encode rejects arrays that do not match count x size", () => {
    const s = makeShard(0);
    expect(() => encodeShard(0, { ...s, count: 4 })).toThrow("arrays do not match count x size");
  });
});

describe("FileShardStore: resume", () => {
  test("resume: write 3 of 5, reopen, completed() is those 3 and reads are exact", async () => {
    const a = FileShardStore.open(opts());
    for (const i of [0, 2, 4]) await a.write(i, makeShard(i));
    const b = FileShardStore.open(opts());
    expect([...(await b.completed())]).toEqual([0, 2, 4]);
    for (const i of [0, 2, 4]) expectSame(await b.read(i), makeShard(i));
    await expect(b.read(1)).rejects.toThrow("shadow shard 1 is not in");
    await b.write(1, makeShard(1));
    await b.write(3, makeShard(3));
    expect([...(await FileShardStore.open(opts()).completed())]).toEqual([0, 1, 2, 3, 4]);
  });

  test("a corrupt shard (flipped byte) or truncated shard is not completed and read refuses it", async () => {
    const a = FileShardStore.open(opts());
    for (let i = 0; i < 3; i++) await a.write(i, makeShard(i));
    const f1 = path.join(dir, shardFileName(1));
    const bytes = fs.readFileSync(f1);
    bytes[SHARD_HEADER_BYTES + 5]! ^= 0x01;
    fs.writeFileSync(f1, bytes);
    fs.truncateSync(path.join(dir, shardFileName(2)), 40);
    const warnings: string[] = [];
    const b = FileShardStore.open(opts({ onWarn: (m) => warnings.push(m) }));
    expect([...(await b.completed())]).toEqual([0]);
    expect(warnings.join("\n")).toContain("fails its sha256 check");
    expect(warnings.join("\n")).toContain("has 40 bytes");
    await expect(b.read(1)).rejects.toThrow("sha256 does not match");
    // Regenerating repairs it.
    await b.write(1, makeShard(1));
    expect([...(await b.completed())]).toEqual([0, 1]);
    expectSame(await b.read(1), makeShard(1));
  });

  test("stray temp files and shard files missing from the manifest are ignored", async () => {
    const a = FileShardStore.open(opts());
    await a.write(0, makeShard(0));
    fs.writeFileSync(path.join(dir, `${shardFileName(1)}.tmp-123-deadbeef`), encodeShard(1, makeShard(1)));
    fs.writeFileSync(path.join(dir, shardFileName(2)), encodeShard(2, makeShard(2)));
    expect([...(await FileShardStore.open(opts()).completed())]).toEqual([0]);
  });
});

describe("FileShardStore: failed writes", () => {
  test("a write that fails midway leaves no shard, no temp file, and the old content", async () => {
    const a = FileShardStore.open(opts());
    await a.write(0, makeShard(0));
    const manifestBefore = fs.readFileSync(path.join(dir, "manifest.json"), "utf8");
    let writes = 0;
    const failing: FileOps = {
      ...nodeFileOps,
      writeSync: (fd, data) => {
        writes++;
        // Write half, then fail: a crash-like partial write.
        nodeFileOps.writeSync(fd, data.subarray(0, data.length >> 1));
        throw Object.assign(new Error("EIO: i/o error, write"), { code: "EIO" });
      },
    };
    const b = FileShardStore.open(opts({ ops: failing }));
    await expect(b.write(0, makeShard(9))).rejects.toThrow(ShardWriteError);
    await expect(b.write(1, makeShard(1))).rejects.toThrow(`could not write shadow shard 1 to ${dir}`);
    expect(writes).toBe(2);
    expect(fs.readdirSync(dir).sort()).toEqual(["manifest.json", shardFileName(0)]);
    expect(fs.readFileSync(path.join(dir, "manifest.json"), "utf8")).toBe(manifestBefore);
    const c = FileShardStore.open(opts());
    expect([...(await c.completed())]).toEqual([0]);
    expectSame(await c.read(0), makeShard(0));
  });

  test("injected ENOSPC: clear error naming shard and file; finished shards stay valid", async () => {
    let left = 3 * (SHARD_HEADER_BYTES + 4 * (15 + 6)) + 2000; // room for 3 shards and manifests
    const smallDisk: FileOps = {
      ...nodeFileOps,
      writeSync: (fd, data) => {
        if (data.length > left)
          throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
        left -= data.length;
        return nodeFileOps.writeSync(fd, data);
      },
    };
    const a = FileShardStore.open(opts({ ops: smallDisk }));
    let err: unknown = null;
    let i = 0;
    try {
      for (; i < 10; i++) await a.write(i, makeShard(i));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ShardWriteError);
    expect((err as ShardWriteError).diskFull).toBe(true);
    expect((err as Error).message).toMatch(/^disk full while (writing|recording) shadow shard \d+ /);
    expect((err as Error).message).toContain(dir);
    expect(i).toBeGreaterThanOrEqual(2);
    const done = [...(await FileShardStore.open(opts()).completed())];
    expect(done).toEqual(Array.from({ length: i }, (_, k) => k));
    expect(fs.readdirSync(dir).some((f) => f.includes(".tmp-"))).toBe(false);
  });
});

describe("FileShardStore: configs and slices", () => {
  test("a store made for another config is refused, with the fix in the message", async () => {
    const a = FileShardStore.open(opts());
    await a.write(0, makeShard(0));
    const other = { ...baseConfig, seed: 2 };
    const open = () =>
      FileShardStore.open(opts({ configHash: configHash(other), config: dataFields(other) }));
    expect(open).toThrow(ConfigMismatchError);
    expect(open).toThrow("seed: 1 -> 2");
    expect(open).toThrow("--fresh");
    expect(open).toThrow("new --run-dir");
    // threads is not a data field: same hash, opens fine.
    const threads = { ...baseConfig, threads: 8 };
    expect(configHash(threads)).toBe(configHash(baseConfig));
    // Nor is targetSetSizes (each extra size has its own store folder): adding sizes on resume is fine.
    for (const targetSetSizes of [[10], [10, 50], []])
      expect(configHash({ ...baseConfig, targetSetSizes })).toBe(configHash(baseConfig));
    expect(dataFields({ ...baseConfig, targetSetSizes: [10] })).toEqual(dataFields(baseConfig));
    // shadowOriginals came later: at its default 1 it leaves the hash of older runs as it was.
    expect(configHash({ ...baseConfig, shadowOriginals: 1 })).toBe(configHash(baseConfig));
    const three = { ...baseConfig, shadowOriginals: 3 };
    expect(configHash(three)).not.toBe(configHash(baseConfig));
    const openThree = () =>
      FileShardStore.open(opts({ configHash: configHash(three), config: dataFields(three) }));
    expect(openThree).toThrow("shadowOriginals: 1 -> 3");
    expect([...(await FileShardStore.open(opts()).completed())]).toEqual([0]);
  });

  test("job-array slices write part manifests; opening without a slice merges them", async () => {
    const p1 = FileShardStore.open(opts({ slice: { part: 1, of: 2 } }));
    const p2 = FileShardStore.open(opts({ slice: { part: 2, of: 2 } }));
    await expect(p1.write(1, makeShard(1))).rejects.toThrow("not in --shard 1/2");
    for (const i of [0, 2, 4]) await p1.write(i, makeShard(i));
    for (const i of [1, 3]) await p2.write(i, makeShard(i));
    expect(fs.existsSync(path.join(dir, "manifest.json"))).toBe(false);
    expect([...(await p2.completed())]).toEqual([1, 3]);
    const warnings: string[] = [];
    const all = FileShardStore.open(opts({ onWarn: (m) => warnings.push(m) }));
    expect([...(await all.completed())]).toEqual([0, 1, 2, 3, 4]);
    expect(warnings[0]).toContain("merged 2 part manifest(s), 5 new shard(s)");
    expect(fs.readdirSync(dir).filter((f) => f.startsWith("manifest"))).toEqual(["manifest.json"]);
    for (let i = 0; i < 5; i++) expectSame(await all.read(i), makeShard(i));
  });

  test("bad slices are rejected", () => {
    expect(() => FileShardStore.open(opts({ slice: { part: 3, of: 2 } }))).toThrow("1 <= K <= N");
    expect(() => FileShardStore.open(opts({ slice: { part: 0, of: 2 } }))).toThrow("1 <= K <= N");
  });
});

// A real full disk: a 64 KiB tmpfs. Needs root and permission to mount; skipped (with a note) otherwise.
const mountDir = fs.mkdtempSync(path.join(os.tmpdir(), "ul-enospc-"));
const mounted =
  process.platform === "linux" &&
  spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mountDir], { stdio: "ignore" }).status === 0;
if (!mounted) console.warn("shard-store.test: cannot mount a tmpfs here; real-ENOSPC test skipped");
afterAll(() => {
  if (mounted) spawnSync("umount", [mountDir], { stdio: "ignore" });
  fs.rmSync(mountDir, { recursive: true, force: true });
});

describe.skipIf(!mounted)("real ENOSPC on a 64 KiB tmpfs", () => {
  test("the failing shard is named, earlier shards verify, no temp file is left", async () => {
    const d = path.join(mountDir, "shards");
    const o = () => opts({ dir: d });
    const store = FileShardStore.open(o());
    const shard = (i: number) => makeShard(i, 10, 250, 2); // 10,112 bytes each
    let err: unknown = null;
    let i = 0;
    try {
      for (; i < 20; i++) await store.write(i, shard(i));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ShardWriteError);
    expect((err as ShardWriteError).diskFull).toBe(true);
    expect((err as Error).message).toContain(`shadow shard ${i}`);
    expect((err as Error).message).toContain(d);
    expect(i).toBeGreaterThanOrEqual(3);
    expect(fs.readdirSync(d).some((f) => f.includes(".tmp-"))).toBe(false);
    const again = FileShardStore.open(o());
    const done = [...(await again.completed())];
    expect(done).toEqual(Array.from({ length: i }, (_, k) => k));
    for (const k of done) expectSame(await again.read(k), shard(k));
  });
});
