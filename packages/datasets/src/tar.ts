/**
 * A small tar reader (ustar, GNU long names and base-256 sizes, pax path records), enough for the
 * CIFAR-10 archive: `TarParser` consumes the archive in chunks of any size and hands each entry's body
 * to a per-entry sink (so a 170 MB download is never held in memory); `readTar` parses a whole archive
 * held in memory. `writeTar` writes plain ustar archives, used to build archives in tests.
 */

import { DataError } from "./errors.ts";

export type TarEntryType = "file" | "directory" | "other";

export interface TarHeader {
  readonly name: string;
  readonly type: TarEntryType;
  readonly size: number;
}

const BLOCK = 512;
const decoder = new TextDecoder();

function cString(b: Uint8Array, off: number, len: number): string {
  const field = b.subarray(off, off + len);
  const end = field.indexOf(0);
  return decoder.decode(end < 0 ? field : field.subarray(0, end));
}

function octal(b: Uint8Array, off: number, len: number, what: string): number {
  if ((b[off]! & 0x80) !== 0) {
    // GNU base-256 for large values.
    let v = b[off]! & 0x7f;
    for (let i = 1; i < len; i++) v = v * 256 + b[off + i]!;
    return v;
  }
  const s = cString(b, off, len).trim();
  if (s === "") return 0;
  if (!/^[0-7]+$/.test(s)) throw new DataError(`bad octal field "${s}" in a tar header`, what);
  return Number.parseInt(s, 8);
}

function paxPath(data: Uint8Array): string | undefined {
  const text = decoder.decode(data);
  let i = 0;
  while (i < text.length) {
    const sp = text.indexOf(" ", i);
    const len = Number.parseInt(text.slice(i, sp), 10);
    if (sp < 0 || !Number.isFinite(len) || len <= 0) break;
    const rec = text.slice(sp + 1, i + len - 1);
    if (rec.startsWith("path=")) return rec.slice(5);
    i += len;
  }
  return undefined;
}

/** Receives one entry's body in order, in chunks (views valid only during the call). */
export type EntrySink = (chunk: Uint8Array) => void;

/**
 * Streaming tar parser. `onEntry` is called for every file, directory or other entry and returns a
 * sink for its body, or null to skip it. Call `end()` after the last chunk: it checks that the archive
 * did not stop inside an entry.
 */
export class TarParser {
  private readonly header = new Uint8Array(BLOCK);
  private headerFill = 0;
  /** Body bytes still to deliver, then padding bytes to skip. */
  private remaining = 0;
  private padding = 0;
  private sink: EntrySink | null = null;
  private meta: { kind: "L" | "x"; parts: Uint8Array[] } | null = null;
  private longName: string | undefined;
  private offset = 0;
  private done = false;
  entries = 0;

  constructor(
    private readonly what: string,
    private readonly onEntry: (h: TarHeader) => EntrySink | null,
  ) {}

  push(chunk: Uint8Array): void {
    let i = 0;
    while (i < chunk.length && !this.done) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - i);
        const part = chunk.subarray(i, i + n);
        if (this.meta) this.meta.parts.push(part.slice());
        else this.sink?.(part);
        this.remaining -= n;
        i += n;
        if (this.remaining === 0) this.finishBody();
      } else if (this.padding > 0) {
        const n = Math.min(this.padding, chunk.length - i);
        this.padding -= n;
        i += n;
      } else {
        const n = Math.min(BLOCK - this.headerFill, chunk.length - i);
        this.header.set(chunk.subarray(i, i + n), this.headerFill);
        this.headerFill += n;
        i += n;
        if (this.headerFill === BLOCK) {
          this.headerFill = 0;
          this.parseHeader();
        }
      }
    }
    this.offset += chunk.length;
  }

  end(): void {
    if (!this.done && (this.remaining > 0 || this.headerFill > 0 || this.entries === 0)) {
      throw new DataError(
        `truncated tar: the archive ends after ${this.offset} bytes, inside ${this.remaining > 0 ? "an entry" : "a header"}`,
        this.what,
      );
    }
  }

  private finishBody(): void {
    if (this.meta) {
      const total = this.meta.parts.reduce((a, p) => a + p.length, 0);
      const all = new Uint8Array(total);
      let o = 0;
      for (const p of this.meta.parts) {
        all.set(p, o);
        o += p.length;
      }
      this.longName = this.meta.kind === "L" ? cString(all, 0, all.length) : (paxPath(all) ?? this.longName);
      this.meta = null;
    }
    this.sink = null;
  }

  private parseHeader(): void {
    const h = this.header;
    if (h.every((v) => v === 0)) {
      this.done = true;
      return;
    }
    const stored = octal(h, 148, 8, this.what);
    let sum = 0;
    for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : h[i]!;
    if (sum !== stored) {
      throw new DataError(`tar header checksum ${stored}, computed ${sum}: archive corrupt`, this.what);
    }
    const size = octal(h, 124, 12, this.what);
    const flag = String.fromCharCode(h[156]!);
    this.remaining = size;
    this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (flag === "L" || flag === "x") {
      this.meta = { kind: flag, parts: [] };
    } else if (flag === "g") {
      this.sink = null;
    } else {
      let name = cString(h, 0, 100);
      if (decoder.decode(h.subarray(257, 262)) === "ustar") {
        const prefix = cString(h, 345, 155);
        if (prefix !== "") name = `${prefix}/${name}`;
      }
      if (this.longName !== undefined) {
        name = this.longName;
        this.longName = undefined;
      }
      const type: TarEntryType =
        flag === "0" || flag === "\0" ? "file" : flag === "5" ? "directory" : "other";
      this.entries++;
      this.sink = this.onEntry({ name, type, size });
    }
    if (size === 0) this.finishBody();
  }
}

export interface TarEntry extends TarHeader {
  /** The body (a view into the input). */
  readonly data: Uint8Array;
}

/** Parses a whole (uncompressed) tar archive held in memory; `what` names it in errors. */
export function readTar(bytes: Uint8Array, what: string): TarEntry[] {
  const entries: TarEntry[] = [];
  const parser = new TarParser(what, (h) => {
    const entry: { -readonly [K in keyof TarEntry]: TarEntry[K] } = { ...h, data: new Uint8Array(0) };
    entries.push(entry);
    // One push: the body arrives as one view into `bytes`.
    return (chunk) => {
      entry.data = chunk;
    };
  });
  parser.push(bytes);
  parser.end();
  return entries;
}

/** A ustar header block for a regular file `name` (up to 100 bytes) of `size` bytes. */
export function tarHeader(name: string, size: number): Uint8Array<ArrayBuffer> {
  const enc = new TextEncoder();
  const h = new Uint8Array(BLOCK);
  const bytes = enc.encode(name);
  if (bytes.length > 100) throw new DataError(`tar: name longer than 100 bytes: ${name}`);
  h.set(bytes, 0);
  h.set(enc.encode("0000644\0"), 100);
  h.set(enc.encode("0000000\0"), 108);
  h.set(enc.encode("0000000\0"), 116);
  h.set(enc.encode(`${size.toString(8).padStart(11, "0")}\0`), 124);
  h.set(enc.encode("00000000000\0"), 136);
  h[156] = "0".charCodeAt(0);
  h.set(enc.encode("ustar\0"), 257);
  h.set(enc.encode("00"), 263);
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += h[i]!;
  h.set(enc.encode(`${sum.toString(8).padStart(6, "0")}\0 `), 148);
  return h;
}

/** Bytes of zero padding after a body of `size` bytes. */
export function tarPadding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

/** Writes regular files as a ustar archive, ending with the two zero blocks. */
export function writeTar(files: readonly { name: string; data: Uint8Array }[]): Uint8Array<ArrayBuffer> {
  const size = files.reduce((a, f) => a + BLOCK + f.data.length + tarPadding(f.data.length), 0) + 2 * BLOCK;
  const out = new Uint8Array(size);
  let off = 0;
  for (const f of files) {
    out.set(tarHeader(f.name, f.data.length), off);
    out.set(f.data, off + BLOCK);
    off += BLOCK + f.data.length + tarPadding(f.data.length);
  }
  return out;
}
