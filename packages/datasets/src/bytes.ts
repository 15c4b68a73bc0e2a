/**
 * Reading data files: raw or gzip (detected by the gzip magic bytes, not by the name; multi-member gzip
 * files too), streamed through DecompressionStream in chunks, with errors that name the file; plus the
 * hash helpers used for verification (node:crypto through the runtime seam: sha256 runs at about 1 GB/s
 * here, so the decompressed contents are hashed on every load instead of caching verdicts).
 */

import { statSync } from "node:fs";
import { gunzipSync as zlibGunzipSync } from "node:zlib";
import { fileStream, hasher, hashHex, readBytes } from "@updates-leak/core/platform";
import { DataError } from "./errors.ts";

export interface FileBytes {
  readonly path: string;
  /** Decompressed contents. */
  readonly data: Uint8Array;
  readonly gzip: boolean;
  /** Size on disk. */
  readonly diskBytes: number;
}

export function isGzip(data: Uint8Array): boolean {
  return data.length >= 2 && data[0] === 0x1f && data[1] === 0x8b;
}

/**
 * Gunzips `data` in one call, with node:zlib, which (unlike Bun's gunzipSync, which silently stops after
 * the first member) reads every member of a multi-member gzip file. For small files; big ones stream.
 */
export function gunzip(data: Uint8Array, path: string): Uint8Array {
  try {
    return zlibGunzipSync(data);
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    throw new DataError(`gzip data is corrupt or truncated (${reason}); expected a complete gzip file`, path);
  }
}

function statSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    throw new DataError("file not found or not readable", path);
  }
}

/** Decompressed contents of `path` (raw or gzip, any number of gzip members) in one buffer. */
export async function readDataFile(path: string): Promise<FileBytes> {
  const diskBytes = statSize(path);
  const head = await readBytes(path, 0, 2);
  if (!isGzip(head)) {
    if (path.endsWith(".gz")) {
      throw new DataError(
        "name ends in .gz but the file does not start with the gzip magic bytes 1f 8b",
        path,
      );
    }
    return { path, data: await readBytes(path), gzip: false, diskBytes };
  }
  // The gzip trailer's ISIZE (size mod 2^32 of the last member) is only a capacity hint.
  const tail = await readBytes(path, Math.max(0, diskBytes - 4));
  const hint = tail.length === 4 ? new DataView(tail.buffer, tail.byteOffset).getUint32(0, true) : 0;
  // Deflate expands at most about 1032:1; a corrupt ISIZE must not allocate more than that.
  let buf = new Uint8Array(Math.max(Math.min(hint, diskBytes * 1032, 2 ** 31), 1 << 16));
  let n = 0;
  const streamed = await streamDataFile(
    path,
    (chunk) => {
      if (n + chunk.length > buf.length) {
        const bigger = new Uint8Array(Math.max(buf.length * 2, n + chunk.length));
        bigger.set(buf.subarray(0, n));
        buf = bigger;
      }
      buf.set(chunk, n);
      n += chunk.length;
    },
    false,
  );
  return { path, data: n === buf.length ? buf : buf.subarray(0, n), gzip: streamed.gzip, diskBytes };
}

export function sha256Hex(data: Uint8Array): string {
  return hashHex("sha256", data);
}

export function md5Hex(data: Uint8Array): string {
  return hashHex("md5", data);
}

export interface StreamedFile {
  readonly path: string;
  readonly gzip: boolean;
  readonly diskBytes: number;
  /** Decompressed size. */
  readonly rawBytes: number;
  /** sha256 of the decompressed contents, or "" when not requested. */
  readonly sha256: string;
}

/**
 * Streams the decompressed contents of `path` (raw or gzip) through `sink` in chunks of a few hundred
 * KB, hashing them on the way when `hash` is set. Streaming avoids holding the whole decompressed file:
 * on this machine touching fresh memory costs about 4 ms per MB, more than inflating it.
 */
export async function streamDataFile(
  path: string,
  sink: (chunk: Uint8Array) => void,
  hash: boolean,
): Promise<StreamedFile> {
  const diskBytes = statSize(path);
  const gzip = isGzip(await readBytes(path, 0, 2));
  if (!gzip && path.endsWith(".gz")) {
    throw new DataError("name ends in .gz but the file does not start with the gzip magic bytes 1f 8b", path);
  }
  const h = hash ? hasher("sha256") : null;
  let rawBytes = 0;
  const raw = fileStream(path);
  const stream = gzip ? raw.pipeThrough(new DecompressionStream("gzip")) : raw;
  try {
    for await (const chunk of stream) {
      rawBytes += chunk.length;
      h?.update(chunk);
      sink(chunk);
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    if (gzip) gunzip(await readBytes(path), path); // throws a DataError with zlib's diagnosis
    throw new DataError(`read failed: ${e instanceof Error ? e.message : String(e)}`, path);
  }
  return { path, gzip, diskBytes, rawBytes, sha256: h ? h.digest() : "" };
}
