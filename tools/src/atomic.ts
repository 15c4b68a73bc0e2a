/**
 * Atomic file writes: write a temporary file in the same folder, fsync it, rename it over the
 * target, fsync the folder. A reader sees either the old file or the complete new one, never a
 * partial one, even after a crash or a full disk.
 *
 * The low-level operations are injectable (`FileOps`), so tests can make a write fail with ENOSPC
 * without a full disk. Errors name the file being written.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

/** The file operations an atomic write uses; `nodeFileOps` in production. */
export interface FileOps {
  openSync(file: string, flags: string, mode?: number): number;
  writeSync(fd: number, data: Uint8Array): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  unlinkSync(file: string): void;
}

export const nodeFileOps: FileOps = {
  openSync: (f, flags, mode) => fs.openSync(f, flags, mode),
  writeSync: (fd, data) => fs.writeSync(fd, data),
  fsyncSync: (fd) => fs.fsyncSync(fd),
  closeSync: (fd) => fs.closeSync(fd),
  renameSync: (a, b) => fs.renameSync(a, b),
  unlinkSync: (f) => fs.unlinkSync(f),
};

/** Error codes that mean "the disk (or quota) is full". */
export function isDiskFull(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === "ENOSPC" || code === "EDQUOT";
}

/** The temporary name used for `file` while it is written: same folder, so rename is atomic. */
export function tempNameFor(file: string): string {
  return `${file}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`;
}

/** True for names made by `tempNameFor`. */
export function isTempName(name: string): boolean {
  return /\.tmp-\d+-[0-9a-f]{8}$/.test(name);
}

/** Write all of `data` to `fd` (writeSync may write less than asked). */
function writeAll(ops: FileOps, fd: number, data: Uint8Array): void {
  let off = 0;
  while (off < data.length) {
    const n = ops.writeSync(fd, data.subarray(off));
    if (n <= 0) throw new Error(`write returned ${n}`);
    off += n;
  }
}

/** fsync a folder so a rename inside it survives a crash. Best effort: some filesystems refuse. */
export function fsyncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // Folders cannot be fsynced everywhere (some network filesystems); the rename still happened.
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/** An error raised while writing `file`; `diskFull` tells ENOSPC/EDQUOT apart from other causes. */
export class AtomicWriteError extends Error {
  readonly file: string;
  readonly tempFile: string;
  readonly diskFull: boolean;
  readonly code: string | undefined;
  constructor(file: string, tempFile: string, cause: unknown) {
    const code = (cause as { code?: string } | null)?.code;
    const full = isDiskFull(cause);
    const why = full
      ? `disk full (${code}) while writing ${tempFile}`
      : `${(cause as Error)?.message ?? String(cause)} (temporary file ${tempFile})`;
    super(`could not write ${file}: ${why}`, { cause });
    this.name = "AtomicWriteError";
    this.file = file;
    this.tempFile = tempFile;
    this.diskFull = full;
    this.code = code;
  }
}

/**
 * Atomically replace `file` with `data`. On failure the temporary file is removed (best effort),
 * `file` keeps its previous content, and an `AtomicWriteError` naming `file` is thrown.
 */
export function writeFileAtomic(file: string, data: Uint8Array | string, ops: FileOps = nodeFileOps): void {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const tmp = tempNameFor(file);
  let fd: number | null = null;
  try {
    fd = ops.openSync(tmp, "wx", 0o644);
    writeAll(ops, fd, bytes);
    ops.fsyncSync(fd);
    ops.closeSync(fd);
    fd = null;
    ops.renameSync(tmp, file);
  } catch (err) {
    if (fd !== null) {
      try {
        ops.closeSync(fd);
      } catch {
        // already failing; the original error is the one to report
      }
    }
    try {
      ops.unlinkSync(tmp);
    } catch {
      // the temporary file may not exist
    }
    throw new AtomicWriteError(file, tmp, err);
  }
  fsyncDir(path.dirname(file));
}

/** JSON with a trailing newline; typed arrays become plain arrays, bigints strings. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, jsonReplacer, 2)}\n`;
}

export function jsonReplacer(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number>);
  }
  return value;
}

export function writeJsonAtomic(file: string, value: unknown, ops: FileOps = nodeFileOps): void {
  writeFileAtomic(file, toJson(value), ops);
}

/** Read and parse a JSON file; errors name the file. Returns null when it does not exist. */
export function readJsonIfExists(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return null;
    throw new Error(`could not read ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
}
