/**
 * File-backed `ShardStore`: one binary file per shard, a JSON manifest, atomic writes, resume.
 *
 * Layout of a store folder (one per side: shards/shadow, shards/target):
 *   manifest.json                  config hash, data fields, and per shard: file, bytes, sha256
 *   manifest.part-K-of-N.json      written instead by `--shard K/N` job-array processes; folded
 *                                  into manifest.json by the next store opened without a slice
 *                                  (`leak merge` does exactly that)
 *   shard-000012.bin               one shard (format below)
 *   *.tmp-PID-XXXXXXXX             a write in progress (or a crash's leftover): always ignored
 *
 * A shard is written under a temporary name, fsynced and renamed; only then is the manifest updated
 * (atomically). `completed()` lists manifest entries whose file is present with the recorded size
 * and sha256, so a partial, corrupt or unlisted shard counts as missing and gets regenerated.
 *
 * Shard file format, little-endian:
 *   0  magic "ULSHARD\0" (8 bytes)   8  version u32 = 1   12 index u32   16 count u32
 *   20 deltaSize u32   24 truthSize u32   28 reserved u32 = 0
 *   32 deltas float32[count * deltaSize], then truth float32[count * truthSize]
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ShardData, ShardStore } from "@updates-leak/attacks/store";
import {
  AtomicWriteError,
  type FileOps,
  nodeFileOps,
  readJsonIfExists,
  toJson,
  writeFileAtomic,
} from "./atomic.ts";
import { describeDataDifference } from "./config-hash.ts";

export const SHARD_MAGIC = "ULSHARD\0";
export const SHARD_VERSION = 1;
export const SHARD_HEADER_BYTES = 32;
const MANIFEST_FORMAT = "updates-leak-shards";
const MANIFEST_VERSION = 1;

export interface ShardEntry {
  file: string;
  bytes: number;
  sha256: string;
  count: number;
  deltaSize: number;
  truthSize: number;
}

export interface ShardManifest {
  format: typeof MANIFEST_FORMAT;
  version: number;
  role: string;
  configHash: string;
  /** The data fields the hash was made from, to say which differ when a resume is refused. */
  config: Record<string, unknown>;
  shards: Record<string, ShardEntry>;
}

/** `--shard K/N`: this process generates only shards with index % N === K - 1 (K is 1-based). */
export interface ShardSlice {
  part: number;
  of: number;
}

export function inSlice(index: number, slice: ShardSlice | undefined): boolean {
  return slice === undefined || index % slice.of === slice.part - 1;
}

export interface FileShardStoreOptions {
  dir: string;
  /** "shadow" or "target"; recorded and checked. */
  role: string;
  configHash: string;
  /** Data fields behind `configHash`, stored in the manifest for error messages. */
  config: Record<string, unknown>;
  slice?: ShardSlice;
  /** Warnings (a corrupt shard that will be regenerated, a merged part manifest). */
  onWarn?: (message: string) => void;
  /** Injectable for fault tests (ENOSPC). */
  ops?: FileOps;
}

/** Opening a store made for different data; the message says how to start fresh. */
export class ConfigMismatchError extends Error {
  constructor(file: string, stored: ShardManifest, wantHash: string, wantConfig: Record<string, unknown>) {
    const diff = describeDataDifference(stored.config ?? {}, wantConfig);
    super(
      `${file} holds shards for another config (hash ${stored.configHash.slice(0, 12)}, this run ${wantHash.slice(0, 12)})` +
        (diff.length ? `; differing fields: ${diff.join(", ")}` : "") +
        ". Resume only with the same data settings, or start fresh: add --fresh (deletes the shards in this run folder) or pick a new --run-dir.",
    );
    this.name = "ConfigMismatchError";
  }
}

/** A shard could not be written; `diskFull` when the cause was ENOSPC/EDQUOT. */
export class ShardWriteError extends Error {
  readonly diskFull: boolean;
  constructor(message: string, diskFull: boolean, cause: unknown) {
    super(message, { cause });
    this.name = "ShardWriteError";
    this.diskFull = diskFull;
  }
}

export function shardFileName(index: number): string {
  return `shard-${String(index).padStart(6, "0")}.bin`;
}

export function partManifestName(slice: ShardSlice): string {
  return `manifest.part-${slice.part}-of-${slice.of}.json`;
}

function checkLittleEndian(): void {
  if (os.endianness() !== "LE") throw new Error("shard files are little-endian; this host is big-endian");
}

function validateData(index: number, data: ShardData): void {
  const { count, deltaSize, truthSize } = data;
  for (const [name, v] of [
    ["count", count],
    ["deltaSize", deltaSize],
    ["truthSize", truthSize],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new Error(`shard ${index}: ${name} must be an integer in 0..2^32-1, got ${v}`);
    }
  }
  if (data.deltas.length !== count * deltaSize || data.truth.length !== count * truthSize) {
    throw new Error(
      `shard ${index}: arrays do not match count x size (deltas ${data.deltas.length} vs ${count}x${deltaSize}, truth ${data.truth.length} vs ${count}x${truthSize})`,
    );
  }
}

/** Encode a shard to its file bytes. */
export function encodeShard(index: number, data: ShardData): Uint8Array {
  checkLittleEndian();
  validateData(index, data);
  const dBytes = data.deltas.length * 4;
  const out = new Uint8Array(SHARD_HEADER_BYTES + dBytes + data.truth.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = SHARD_MAGIC.charCodeAt(i);
  view.setUint32(8, SHARD_VERSION, true);
  view.setUint32(12, index, true);
  view.setUint32(16, data.count, true);
  view.setUint32(20, data.deltaSize, true);
  view.setUint32(24, data.truthSize, true);
  view.setUint32(28, 0, true);
  out.set(new Uint8Array(data.deltas.buffer, data.deltas.byteOffset, dBytes), SHARD_HEADER_BYTES);
  out.set(
    new Uint8Array(data.truth.buffer, data.truth.byteOffset, data.truth.length * 4),
    SHARD_HEADER_BYTES + dBytes,
  );
  return out;
}

/** Decode and validate shard file bytes; errors name `file` and the field that is wrong. */
export function decodeShard(
  bytes: Uint8Array,
  file: string,
  expectIndex?: number,
): ShardData & { index: number } {
  checkLittleEndian();
  if (bytes.length < SHARD_HEADER_BYTES) {
    throw new Error(
      `${file}: ${bytes.length} bytes, shorter than the ${SHARD_HEADER_BYTES}-byte shard header`,
    );
  }
  for (let i = 0; i < 8; i++) {
    if (bytes[i] !== SHARD_MAGIC.charCodeAt(i)) throw new Error(`${file}: not a shard file (bad magic)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const version = view.getUint32(8, true);
  if (version !== SHARD_VERSION)
    throw new Error(`${file}: shard format version ${version}, expected ${SHARD_VERSION}`);
  const index = view.getUint32(12, true);
  if (expectIndex !== undefined && index !== expectIndex) {
    throw new Error(`${file}: header says shard ${index}, expected shard ${expectIndex}`);
  }
  const count = view.getUint32(16, true);
  const deltaSize = view.getUint32(20, true);
  const truthSize = view.getUint32(24, true);
  const want = SHARD_HEADER_BYTES + 4 * (count * deltaSize + count * truthSize);
  if (bytes.length !== want) {
    throw new Error(
      `${file}: ${bytes.length} bytes, header (count ${count}, deltaSize ${deltaSize}, truthSize ${truthSize}) needs ${want}`,
    );
  }
  // Copy into fresh, aligned buffers (the file buffer may not be 4-byte aligned).
  const dEnd = SHARD_HEADER_BYTES + 4 * count * deltaSize;
  const deltas = new Float32Array(count * deltaSize);
  new Uint8Array(deltas.buffer).set(bytes.subarray(SHARD_HEADER_BYTES, dEnd));
  const truth = new Float32Array(count * truthSize);
  new Uint8Array(truth.buffer).set(bytes.subarray(dEnd));
  return { index, count, deltaSize, truthSize, deltas, truth };
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function isEntry(e: unknown): e is ShardEntry {
  if (!e || typeof e !== "object") return false;
  const r = e as Record<string, unknown>;
  return (
    typeof r.file === "string" &&
    typeof r.sha256 === "string" &&
    typeof r.bytes === "number" &&
    typeof r.count === "number" &&
    typeof r.deltaSize === "number" &&
    typeof r.truthSize === "number"
  );
}

/** Read and validate a manifest file; null if absent. */
export function readManifest(file: string): ShardManifest | null {
  const raw = readJsonIfExists(file);
  if (raw === null) return null;
  const m = raw as Partial<ShardManifest>;
  const fix = "delete the run folder's shards with --fresh, or pick a new --run-dir";
  if (m.format !== MANIFEST_FORMAT || typeof m.version !== "number") {
    throw new Error(`${file}: not a shard manifest (format field should be "${MANIFEST_FORMAT}"); ${fix}`);
  }
  if (m.version !== MANIFEST_VERSION) {
    throw new Error(`${file}: manifest version ${m.version}, this program reads ${MANIFEST_VERSION}; ${fix}`);
  }
  if (
    typeof m.configHash !== "string" ||
    typeof m.role !== "string" ||
    !m.shards ||
    typeof m.shards !== "object"
  ) {
    throw new Error(`${file}: manifest lacks configHash, role or shards; ${fix}`);
  }
  for (const [k, e] of Object.entries(m.shards)) {
    if (!/^\d+$/.test(k) || !isEntry(e)) throw new Error(`${file}: bad entry for shard "${k}"; ${fix}`);
  }
  return { ...(m as ShardManifest), config: m.config ?? {} };
}

interface Verified {
  sha256: string;
  size: number;
  mtimeMs: number;
}

export class FileShardStore implements ShardStore {
  readonly dir: string;
  readonly role: string;
  readonly slice: ShardSlice | undefined;
  /** The manifest this process writes: manifest.json, or its part manifest under a slice. */
  readonly manifestFile: string;
  private readonly configHash: string;
  private readonly config: Record<string, unknown>;
  private readonly ops: FileOps;
  private readonly warn: (m: string) => void;
  /** Entries this process writes (to `manifestFile`). */
  private readonly own: Map<number, ShardEntry>;
  /** Entries of manifest.json, read-only under a slice. */
  private readonly base: Map<number, ShardEntry>;
  private readonly verified = new Map<number, Verified>();

  private constructor(
    opts: FileShardStoreOptions,
    own: Map<number, ShardEntry>,
    base: Map<number, ShardEntry>,
  ) {
    this.dir = opts.dir;
    this.role = opts.role;
    this.slice = opts.slice;
    this.configHash = opts.configHash;
    this.config = opts.config;
    this.ops = opts.ops ?? nodeFileOps;
    this.warn = opts.onWarn ?? (() => {});
    this.own = own;
    this.base = base;
    this.manifestFile = path.join(opts.dir, opts.slice ? partManifestName(opts.slice) : "manifest.json");
  }

  /**
   * Open (creating if needed) the store in `opts.dir`. Refuses, with `ConfigMismatchError`, a folder
   * whose manifest was made for another config hash. Without a slice, folds any part manifests into
   * manifest.json (and removes them).
   */
  static open(opts: FileShardStoreOptions): FileShardStore {
    if (opts.slice) {
      const { part, of } = opts.slice;
      if (!Number.isInteger(of) || of < 1 || !Number.isInteger(part) || part < 1 || part > of) {
        throw new Error(`shard slice ${part}/${of}: expected K/N with 1 <= K <= N`);
      }
    }
    fs.mkdirSync(opts.dir, { recursive: true });
    const mainFile = path.join(opts.dir, "manifest.json");
    const check = (file: string, m: ShardManifest | null): Map<number, ShardEntry> => {
      if (!m) return new Map();
      if (m.configHash !== opts.configHash)
        throw new ConfigMismatchError(file, m, opts.configHash, opts.config);
      if (m.role !== opts.role) {
        throw new Error(`${file}: manifest is for the ${m.role} side, opened as ${opts.role}`);
      }
      return new Map(Object.entries(m.shards).map(([k, e]) => [Number(k), e]));
    };
    const base = check(mainFile, readManifest(mainFile));
    const partFiles = fs
      .readdirSync(opts.dir)
      .filter((n) => /^manifest\.part-\d+-of-\d+\.json$/.test(n))
      .sort();
    if (opts.slice) {
      const mine = partManifestName(opts.slice);
      const ownFile = path.join(opts.dir, mine);
      const own = check(ownFile, readManifest(ownFile));
      // Check the other parts too, so a job array with mixed configs fails early.
      for (const n of partFiles)
        if (n !== mine) check(path.join(opts.dir, n), readManifest(path.join(opts.dir, n)));
      return new FileShardStore(opts, own, base);
    }
    const store = new FileShardStore(opts, base, new Map());
    if (partFiles.length > 0) store.mergeParts(partFiles);
    return store;
  }

  /** Fold part manifests into manifest.json; on conflicts keep the entry that matches the file. */
  private mergeParts(partFiles: string[]): void {
    let added = 0;
    for (const n of partFiles) {
      const file = path.join(this.dir, n);
      const m = readManifest(file);
      if (!m) continue;
      for (const [k, e] of Object.entries(m.shards)) {
        const index = Number(k);
        const cur = this.own.get(index);
        if (cur && cur.sha256 !== e.sha256) {
          // Two records of one file: keep whichever matches what is on disk.
          if (this.verify(index, e)) this.own.set(index, e);
          continue;
        }
        if (!cur) added++;
        this.own.set(index, e);
      }
    }
    this.saveManifest();
    for (const n of partFiles) {
      try {
        fs.unlinkSync(path.join(this.dir, n));
      } catch {
        // another process may have merged it already
      }
    }
    this.warn(
      `${this.role} shards: merged ${partFiles.length} part manifest(s), ${added} new shard(s), into ${this.manifestFile}`,
    );
  }

  private entry(index: number): ShardEntry | undefined {
    return this.own.get(index) ?? this.base.get(index);
  }

  /** Whether the file of `e` is present with the recorded size and sha256 (cached by size+mtime). */
  private verify(index: number, e: ShardEntry): boolean {
    const file = path.join(this.dir, e.file);
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch {
      this.warn(`${this.role} shard ${index}: ${file} is missing; it will be regenerated`);
      return false;
    }
    const v = this.verified.get(index);
    if (v && v.sha256 === e.sha256 && v.size === st.size && v.mtimeMs === st.mtimeMs) return true;
    if (st.size !== e.bytes) {
      this.warn(
        `${this.role} shard ${index}: ${file} has ${st.size} bytes, manifest says ${e.bytes}; it will be regenerated`,
      );
      return false;
    }
    const sum = sha256Hex(fs.readFileSync(file));
    if (sum !== e.sha256) {
      this.warn(`${this.role} shard ${index}: ${file} fails its sha256 check; it will be regenerated`);
      return false;
    }
    this.verified.set(index, { sha256: e.sha256, size: st.size, mtimeMs: st.mtimeMs });
    return true;
  }

  async completed(): Promise<Set<number>> {
    const out = new Set<number>();
    const indices = new Set([...this.base.keys(), ...this.own.keys()]);
    for (const i of [...indices].sort((a, b) => a - b)) {
      const e = this.entry(i);
      if (e && this.verify(i, e)) out.add(i);
    }
    return out;
  }

  async read(index: number): Promise<ShardData> {
    const e = this.entry(index);
    if (!e) throw new Error(`${this.role} shard ${index} is not in ${this.manifestFile}`);
    const file = path.join(this.dir, e.file);
    let bytes: Uint8Array;
    try {
      bytes = fs.readFileSync(file);
    } catch (err) {
      throw new Error(`could not read ${this.role} shard ${index} from ${file}: ${(err as Error).message}`);
    }
    if (!this.verified.has(index) || this.verified.get(index)?.sha256 !== e.sha256) {
      if (sha256Hex(bytes) !== e.sha256) {
        throw new Error(
          `${file}: sha256 does not match ${this.manifestFile}; rerun to regenerate this shard`,
        );
      }
    }
    const d = decodeShard(bytes, file, index);
    if (d.count !== e.count || d.deltaSize !== e.deltaSize || d.truthSize !== e.truthSize) {
      throw new Error(`${file}: header sizes differ from the manifest entry`);
    }
    return {
      count: d.count,
      deltaSize: d.deltaSize,
      truthSize: d.truthSize,
      deltas: d.deltas,
      truth: d.truth,
    };
  }

  async write(index: number, data: ShardData): Promise<void> {
    if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) {
      throw new Error(`${this.role} shard index must be a non-negative integer, got ${index}`);
    }
    if (!inSlice(index, this.slice)) {
      throw new Error(
        `${this.role} shard ${index} is not in --shard ${this.slice?.part}/${this.slice?.of} (this process owns indices i with i % ${this.slice?.of} = ${(this.slice?.part ?? 1) - 1})`,
      );
    }
    const bytes = encodeShard(index, data);
    const name = shardFileName(index);
    const file = path.join(this.dir, name);
    try {
      writeFileAtomic(file, bytes, this.ops);
    } catch (err) {
      const full = err instanceof AtomicWriteError && err.diskFull;
      const tmp = err instanceof AtomicWriteError ? err.tempFile : `${file}.tmp-*`;
      const done = this.own.size + this.base.size;
      throw new ShardWriteError(
        full
          ? `disk full while writing ${this.role} shard ${index} to ${file} (temporary ${tmp} removed). ` +
              `The ${done} shard(s) listed in ${this.manifestFile} stay valid; free space and rerun with the same --run-dir to resume.`
          : `could not write ${this.role} shard ${index} to ${file}: ${(err as Error).message}`,
        full,
        err,
      );
    }
    const entry: ShardEntry = {
      file: name,
      bytes: bytes.length,
      sha256: sha256Hex(bytes),
      count: data.count,
      deltaSize: data.deltaSize,
      truthSize: data.truthSize,
    };
    const before = this.own.get(index);
    this.own.set(index, entry);
    try {
      this.saveManifest();
    } catch (err) {
      if (before) this.own.set(index, before);
      else this.own.delete(index);
      // The shard is not listed, so it would be regenerated anyway: free its space now.
      try {
        fs.unlinkSync(file);
      } catch {
        // best effort
      }
      const full = err instanceof AtomicWriteError && err.diskFull;
      throw new ShardWriteError(
        `${full ? "disk full" : (err as Error).message} while recording ${this.role} shard ${index} (${file}, removed) in ${this.manifestFile}. ` +
          `The manifest keeps its previous content and the ${this.own.size + this.base.size} shard(s) it lists stay valid; free space and rerun with the same --run-dir to resume.`,
        full,
        err,
      );
    }
    const st = fs.statSync(file);
    this.verified.set(index, { sha256: entry.sha256, size: st.size, mtimeMs: st.mtimeMs });
  }

  private saveManifest(): void {
    const shards: Record<string, ShardEntry> = {};
    for (const [i, e] of [...this.own.entries()].sort((a, b) => a[0] - b[0])) shards[String(i)] = e;
    const m: ShardManifest = {
      format: MANIFEST_FORMAT,
      version: MANIFEST_VERSION,
      role: this.role,
      configHash: this.configHash,
      config: this.config,
      shards,
    };
    writeFileAtomic(this.manifestFile, toJson(m), this.ops);
  }
}
