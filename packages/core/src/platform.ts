/**
 * The runtime seam: the one module that knows which JavaScript runtime runs the code (Bun, Deno or
 * Node) and the only place in `src/` where the `Bun` global may be named (`test/seam.test.ts`
 * checks). Everything else reads files, hashes and finds its own folder through these functions,
 * which use `node:` APIs that all three runtimes implement, so one source runs on each of them.
 *
 * Bun-only facilities (its version and revision, `gc`, `gunzipSync` for the loader benchmark) are
 * reached through `bun`, which is null under Deno and Node.
 */
import { createHash } from "node:crypto";
import { closeSync, openSync, writeSync } from "node:fs";
import { type FileHandle, open } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The runtimes this project runs on. */
export type RuntimeName = "bun" | "deno" | "node";

/** The parts of Bun's global this project uses. */
export interface BunGlobal {
  readonly version: string;
  readonly revision: string;
  gc(force?: boolean): void;
  gunzipSync(data: Uint8Array): Uint8Array;
}

interface DenoGlobal {
  readonly version: { readonly deno: string; readonly v8: string; readonly typescript: string };
}

const globals = globalThis as { Bun?: BunGlobal; Deno?: DenoGlobal };

/** Bun's global under Bun, null under Deno and Node. */
export const bun: BunGlobal | null = globals.Bun ?? null;

/** Which runtime runs this process. */
export function runtimeName(): RuntimeName {
  if (globals.Bun !== undefined) return "bun";
  if (globals.Deno !== undefined) return "deno";
  return "node";
}

/**
 * Whether this code runs in a web page (a browser window, as bundled by tools/build-web.ts), where
 * no `node:` API works; false under Bun, Deno and Node.
 */
export function inBrowser(): boolean {
  const g = globalThis as { window?: unknown; document?: unknown };
  return g.window !== undefined && g.window === globalThis && g.document !== undefined;
}

/** The running runtime's name and version, e.g. `{ name: "deno", version: "2.9.6" }`. */
export function runtimeVersion(): { name: RuntimeName; version: string } {
  const name = runtimeName();
  if (name === "bun") return { name, version: globals.Bun!.version };
  if (name === "deno") return { name, version: globals.Deno!.version.deno };
  return { name, version: process.versions.node ?? "" };
}

/** The folder of the module whose `import.meta.url` is given (Bun's `import.meta.dir`, portably). */
export function moduleDir(importMetaUrl: string): string {
  return path.dirname(fileURLToPath(importMetaUrl));
}

/** An incremental hash with a hex digest. */
export interface Hasher {
  update(data: Uint8Array): Hasher;
  /** The hex digest; the hasher cannot be used after it. */
  digest(): string;
}

/** A streaming sha256 or md5 hasher. */
export function hasher(algorithm: "sha256" | "md5"): Hasher {
  const h = createHash(algorithm);
  const self: Hasher = {
    update(data) {
      h.update(data);
      return self;
    },
    digest: () => h.digest("hex"),
  };
  return self;
}

/** The hex sha256 or md5 of `data`. */
export function hashHex(algorithm: "sha256" | "md5", data: Uint8Array): string {
  return hasher(algorithm).update(data).digest();
}

/** Bytes [start, end) of a file (to its end when `end` is left out, fewer when it is shorter). */
export async function readBytes(file: string, start = 0, end?: number): Promise<Uint8Array> {
  const handle = await open(file, "r");
  try {
    const stop = end ?? (await handle.stat()).size;
    const out = new Uint8Array(Math.max(0, stop - start));
    let n = 0;
    while (n < out.length) {
      const { bytesRead } = await handle.read(out, n, out.length - n, start + n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    return n === out.length ? out : out.subarray(0, n);
  } finally {
    await handle.close();
  }
}

/** A file's bytes as a stream of chunks of `chunkBytes` (the last one shorter). */
export function fileStream(file: string, chunkBytes = 1 << 18): ReadableStream<Uint8Array<ArrayBuffer>> {
  let handle: FileHandle | null = null;
  const close = async () => {
    const h = handle;
    handle = null;
    await h?.close();
  };
  return new ReadableStream<Uint8Array<ArrayBuffer>>({
    async pull(ctrl) {
      try {
        handle ??= await open(file, "r");
        const buf = new Uint8Array(chunkBytes);
        const { bytesRead } = await handle.read(buf, 0, chunkBytes, null);
        if (bytesRead === 0) {
          await close();
          ctrl.close();
        } else ctrl.enqueue(bytesRead === chunkBytes ? buf : buf.subarray(0, bytesRead));
      } catch (e) {
        await close();
        throw e;
      }
    },
    cancel: close,
  });
}

/** Writes chunks to a new file in order; `end` closes it. */
export interface FileSink {
  write(chunk: Uint8Array): void;
  end(): void;
}

/** A sink that creates (or truncates) `file` and writes each chunk at once. */
export function fileSink(file: string): FileSink {
  let fd: number | null = openSync(file, "w", 0o644);
  return {
    write(chunk) {
      if (fd === null) throw new Error(`${file}: write after end`);
      let n = 0;
      while (n < chunk.length) n += writeSync(fd, chunk, n, chunk.length - n);
    },
    end() {
      if (fd !== null) closeSync(fd);
      fd = null;
    },
  };
}

/** Streams a response's body into `file`; returns the bytes written. */
export async function writeBody(file: string, body: ReadableStream<Uint8Array>): Promise<number> {
  const sink = fileSink(file);
  let bytes = 0;
  try {
    for await (const chunk of body) {
      sink.write(chunk);
      bytes += chunk.length;
    }
  } finally {
    sink.end();
  }
  return bytes;
}
