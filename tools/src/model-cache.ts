/**
 * File-backed `ModelCache`: trained original models' parameters and A_SSR's autoencoder
 * (Float32Array[]) saved under `<dir>/<key>.bin`, so a second attack on the same data set does not
 * train them again.
 * Default folder: `<cache root>/models`, the cache root shared with downloaded data (datasets'
 * `cacheDir`): `$UPDATES_LEAK_CACHE`, else `$XDG_CACHE_HOME/updates-leak`, else
 * `~/.cache/updates-leak`. The CLI's `--model-cache-dir` overrides it.
 *
 * Keys made of [A-Za-z0-9._-] (at most 100 characters) are used as file names; any other key is
 * replaced by its sha256. The key is also stored inside the file and compared on read.
 *
 * File format, little-endian:
 *   0 magic "ULMODEL\0"   8 version u32 = 1   12 keyBytes u32   16 arrays u32   20 reserved u32
 *   24 key (UTF-8), padded with zeros to a multiple of 4
 *   then `arrays` lengths u32, then each array's float32 data, then sha256 of all bytes before it
 *   (32 bytes).
 * Writes are atomic; a file that fails any check reads as a miss (null) with a warning, so a
 * corrupt cache entry costs a retrain, never a wrong model.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { ModelCache } from "@updates-leak/attacks/context";
import { cacheDir } from "@updates-leak/datasets";
import { type FileOps, nodeFileOps, writeFileAtomic } from "./atomic.ts";

const MAGIC = "ULMODEL\0";
const VERSION = 1;
const HEADER = 24;

/** `<cache root>/models`; `env` defaults to process.env. */
export function defaultModelCacheDir(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  return path.join(cacheDir({ env }), "models");
}

export function cacheFileName(key: string): string {
  if (key.length === 0) throw new Error("model cache key must not be empty");
  if (/^[A-Za-z0-9._-]{1,100}$/.test(key) && !key.startsWith(".")) return `${key}.bin`;
  return `${createHash("sha256").update(key).digest("hex")}.bin`;
}

export function encodeParams(key: string, params: Float32Array[]): Uint8Array {
  const keyBytes = new TextEncoder().encode(key);
  const keyPadded = Math.ceil(keyBytes.length / 4) * 4;
  let floats = 0;
  for (const p of params) floats += p.length;
  const body = HEADER + keyPadded + 4 * params.length + 4 * floats;
  const out = new Uint8Array(body + 32);
  const view = new DataView(out.buffer);
  for (let i = 0; i < 8; i++) out[i] = MAGIC.charCodeAt(i);
  view.setUint32(8, VERSION, true);
  view.setUint32(12, keyBytes.length, true);
  view.setUint32(16, params.length, true);
  out.set(keyBytes, HEADER);
  let off = HEADER + keyPadded;
  for (const p of params) {
    view.setUint32(off, p.length, true);
    off += 4;
  }
  for (const p of params) {
    out.set(new Uint8Array(p.buffer, p.byteOffset, p.length * 4), off);
    off += p.length * 4;
  }
  out.set(createHash("sha256").update(out.subarray(0, body)).digest(), body);
  return out;
}

/** Decode and check a cache file; throws with the reason (the caller turns it into a miss). */
export function decodeParams(bytes: Uint8Array, key: string): Float32Array[] {
  if (bytes.length < HEADER + 32) throw new Error("file too short");
  for (let i = 0; i < 8; i++) if (bytes[i] !== MAGIC.charCodeAt(i)) throw new Error("bad magic");
  const body = bytes.length - 32;
  const sum = createHash("sha256").update(bytes.subarray(0, body)).digest();
  if (!sum.equals(bytes.subarray(body))) throw new Error("checksum mismatch");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  const version = view.getUint32(8, true);
  if (version !== VERSION) throw new Error(`format version ${version}, expected ${VERSION}`);
  const keyLen = view.getUint32(12, true);
  const n = view.getUint32(16, true);
  if (HEADER + keyLen > body) throw new Error("key length past the end");
  const stored = new TextDecoder().decode(bytes.subarray(HEADER, HEADER + keyLen));
  if (stored !== key) throw new Error(`file holds key "${stored}", not "${key}"`);
  let off = HEADER + Math.ceil(keyLen / 4) * 4;
  if (off + 4 * n > body) throw new Error("array table past the end");
  const lengths: number[] = [];
  for (let i = 0; i < n; i++) lengths.push(view.getUint32(off + 4 * i, true));
  off += 4 * n;
  const total = lengths.reduce((a, b) => a + b, 0);
  if (off + 4 * total !== body)
    throw new Error(`size mismatch: arrays need ${4 * total} bytes, file has ${body - off}`);
  return lengths.map((len) => {
    const a = new Float32Array(len);
    new Uint8Array(a.buffer).set(bytes.subarray(off, off + 4 * len));
    off += 4 * len;
    return a;
  });
}

export interface FileModelCacheOptions {
  dir?: string;
  onWarn?: (message: string) => void;
  ops?: FileOps;
}

export class FileModelCache implements ModelCache {
  readonly dir: string;
  private readonly warn: (m: string) => void;
  private readonly ops: FileOps;

  constructor(opts: FileModelCacheOptions = {}) {
    this.dir = opts.dir ?? defaultModelCacheDir();
    this.warn = opts.onWarn ?? (() => {});
    this.ops = opts.ops ?? nodeFileOps;
  }

  fileFor(key: string): string {
    return path.join(this.dir, cacheFileName(key));
  }

  async get(key: string): Promise<Float32Array[] | null> {
    const file = this.fileFor(key);
    let bytes: Uint8Array;
    try {
      bytes = fs.readFileSync(file);
    } catch (err) {
      if ((err as { code?: string }).code !== "ENOENT") {
        this.warn(`model cache: cannot read ${file} (${(err as Error).message}); training again`);
      }
      return null;
    }
    try {
      return decodeParams(bytes, key);
    } catch (err) {
      this.warn(`model cache: ignoring ${file}: ${(err as Error).message}; training again`);
      return null;
    }
  }

  async put(key: string, params: Float32Array[]): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true });
    writeFileAtomic(this.fileFor(key), encodeParams(key, params), this.ops);
  }
}
