/**
 * Download-and-verify, from the data sets' own hosts, into a folder: the --data-dir folder when one
 * is given (like torchvision's `root`), else the cache (see locate.ts `downloadTarget`):
 * - MNIST: each official .gz from the mirrors in order (torchvision's, then TensorFlow Datasets');
 *   a file is kept only if its gz md5 and sha256 and the sha256 of its decompressed contents match the
 *   published values; a failing mirror (HTTP error, stall, bad checksum) passes to the next.
 * - CIFAR-10: the official cifar-10-binary.tar.gz (170 MB, with a progress bar on stderr); its md5 is
 *   checked when it comes from the official URL (a custom URL may serve a repacked archive, so then
 *   only the members are checked); the archive is streamed through gunzip and a tar parser, the six
 *   .bin members are written to temporary names and each must match a published sha256 (the test
 *   batch: the whole file, or a recognised prefix) before any is renamed into place; they are stored
 *   raw under their published names (loading them then needs no inflating).
 * Every file is written under a unique temporary name, verified, then renamed (atomic), so a folder
 * holds only verified files; and the whole download runs under a lock file (lock.ts), so the jobs of
 * one job array started together download once: the others wait, then find the files. The base URLs
 * are options, so tests can serve files from a loopback server.
 */

import { existsSync, mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import {
  type FileSink,
  fileSink,
  type Hasher,
  hasher,
  readBytes,
  writeBody,
} from "@updates-leak/core/platform";
import { gunzip, md5Hex, sha256Hex } from "./bytes.ts";
import { DataError } from "./errors.ts";
import {
  CIFAR10_ARCHIVE,
  CIFAR10_TEST_FILE,
  CIFAR10_TEST_FIRST1000_FILE,
  CIFAR10_TRAIN_FILES,
  type KnownFile,
  MNIST_FILES,
  MNIST_MIRRORS,
} from "./known-files.ts";
import { type LockOptions, withLock } from "./lock.ts";
import { ProgressBar, type ProgressBarOptions } from "./progress-bar.ts";
import { TarParser } from "./tar.ts";

/** Options of `downloadMnist` and `downloadCifar10` (and of LoadOptions' `download`); all optional. */
export interface DownloadOptions {
  /**
   * Base URLs tried in order for MNIST's four .gz files (default: $UPDATES_LEAK_MNIST_MIRRORS, comma
   * separated, else MNIST_MIRRORS).
   */
  readonly mnistMirrors?: readonly string[];
  /** URL of cifar-10-binary.tar.gz (default: $UPDATES_LEAK_CIFAR10_URL, else the official one). */
  readonly cifar10Url?: string;
  /** md5 the archive must have; default the official md5 for the official URL, none for a custom URL. */
  readonly cifar10ArchiveMd5?: string | null;
  /** Abort when no data arrives for this long (default 30 s). */
  readonly stallTimeoutMs?: number;
  /** Progress messages (default: stderr). */
  readonly log?: (message: string) => void;
  /** The CIFAR-10 archive's progress bar (default: on stderr; a bar on a TTY, else a line every 10 s); false: none. */
  readonly progress?: ProgressBarOptions | false;
  /** Lock file timing (tests). */
  readonly lock?: LockOptions;
  /** Called once per file actually fetched over the network, with its URL (tests count downloads). */
  readonly onFetch?: (url: string) => void;
}

const defaultLog = (m: string) => console.error(m);

const fromEnv = (name: string): string | undefined => {
  const v = process.env[name]?.trim();
  return v === undefined || v === "" ? undefined : v;
};

function tempName(dest: string): string {
  return `${dest}.part-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
}

/** Streams `url` into `file`; returns the byte count. Aborts when the file stops growing for `stallMs`. */
async function fetchToFile(url: string, file: string, stallMs: number): Promise<number> {
  const ctrl = new AbortController();
  let size = -1;
  let changed = Date.now();
  const watch = setInterval(
    () => {
      let now = -1;
      try {
        now = statSync(file).size;
      } catch {}
      if (now !== size) {
        size = now;
        changed = Date.now();
      } else if (Date.now() - changed > stallMs) ctrl.abort();
    },
    Math.min(1000, Math.max(10, stallMs / 4)),
  );
  try {
    const res = await fetch(url, { signal: ctrl.signal, redirect: "follow" });
    if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
    return await writeBody(file, res.body);
  } catch (e) {
    if (ctrl.signal.aborted) throw new Error(`no data for ${stallMs / 1000} s`);
    throw e;
  } finally {
    clearInterval(watch);
  }
}

function verifyMnistGz(gz: Uint8Array, known: KnownFile, what: string): void {
  const fileName = `${known.name}.gz`;
  const expected = known.gz!;
  if (gz.length !== expected.bytes) {
    throw new DataError(`${gz.length} bytes, expected ${expected.bytes} (the published ${fileName})`, what);
  }
  const md5 = md5Hex(gz);
  if (md5 !== expected.md5) {
    throw new DataError(
      `checksum mismatch: md5 ${md5}, expected ${expected.md5} (the published ${fileName})`,
      what,
    );
  }
  const sha = sha256Hex(gz);
  if (sha !== expected.sha256) {
    throw new DataError(`checksum mismatch: sha256 ${sha}, expected ${expected.sha256} (${fileName})`, what);
  }
  const raw = sha256Hex(gunzip(gz, what));
  if (raw !== known.rawSha256) {
    throw new DataError(`checksum mismatch: decompressed sha256 ${raw}, expected ${known.rawSha256}`, what);
  }
}

const present = (dir: string, name: string) =>
  existsSync(join(dir, name)) || existsSync(join(dir, `${name}.gz`));

/** Downloads whatever of MNIST's four files is missing into `<base>/mnist`; returns that folder. */
export async function downloadMnist(base: string, opts: DownloadOptions = {}): Promise<string> {
  const log = opts.log ?? defaultLog;
  const dir = join(base, "mnist");
  mkdirSync(dir, { recursive: true });
  await withLock(dir, "mnist-download", () => fetchMnist(dir, opts), { log, ...opts.lock });
  return dir;
}

async function fetchMnist(dir: string, opts: DownloadOptions): Promise<void> {
  const mirrors = opts.mnistMirrors ?? fromEnv("UPDATES_LEAK_MNIST_MIRRORS")?.split(",") ?? MNIST_MIRRORS;
  const log = opts.log ?? defaultLog;
  const stall = opts.stallTimeoutMs ?? 30_000;
  for (const known of Object.values(MNIST_FILES)) {
    const fileName = `${known.name}.gz`;
    const dest = join(dir, fileName);
    if (present(dir, known.name)) continue; // there already (another job may have fetched it)
    const failures: string[] = [];
    let done = false;
    for (const mirror of mirrors) {
      const url = new URL(fileName, mirror.endsWith("/") ? mirror : `${mirror}/`).href;
      const tmp = tempName(dest);
      try {
        log(`downloading ${url}`);
        opts.onFetch?.(url);
        await fetchToFile(url, tmp, stall);
        verifyMnistGz(await readBytes(tmp), known, url);
        renameSync(tmp, dest);
        done = true;
        break;
      } catch (e) {
        failures.push(`  ${url}: ${e instanceof DataError ? e.message.replace(`${url}: `, "") : String(e)}`);
      } finally {
        rmSync(tmp, { force: true });
      }
    }
    if (!done) {
      throw new DataError(`could not download a verified ${fileName} into ${dir}:\n${failures.join("\n")}`);
    }
  }
}

interface MemberFile {
  readonly member: string;
  readonly candidates: readonly KnownFile[];
  tmp?: string;
  writer?: FileSink;
  hasher?: Hasher;
  bytes: number;
}

/**
 * Downloads cifar-10-binary.tar.gz and keeps its six verified .bin members in `<base>/cifar10` (unless
 * all six are there already). The archive is streamed: md5 of the compressed bytes, inflating, tar
 * parsing and per-member sha256 happen on the fly while members are written to temporary names, so
 * memory stays small.
 */
export async function downloadCifar10(base: string, opts: DownloadOptions = {}): Promise<string> {
  const log = opts.log ?? defaultLog;
  const dir = join(base, "cifar10");
  mkdirSync(dir, { recursive: true });
  await withLock(
    dir,
    "cifar10-download",
    async () => {
      const names = [...CIFAR10_TRAIN_FILES.map((k) => k.name), CIFAR10_TEST_FILE.name];
      if (names.every((n) => present(dir, n))) return; // another job fetched it meanwhile
      await fetchCifar10(dir, opts);
    },
    { log, ...opts.lock },
  );
  return dir;
}

async function fetchCifar10(dir: string, opts: DownloadOptions): Promise<void> {
  const url = opts.cifar10Url ?? fromEnv("UPDATES_LEAK_CIFAR10_URL") ?? CIFAR10_ARCHIVE.url;
  const md5 =
    opts.cifar10ArchiveMd5 !== undefined
      ? opts.cifar10ArchiveMd5
      : url === CIFAR10_ARCHIVE.url
        ? CIFAR10_ARCHIVE.md5
        : null;
  const log = opts.log ?? defaultLog;
  const wanted: MemberFile[] = [
    ...CIFAR10_TRAIN_FILES.map((k) => ({ member: k.name, candidates: [k], bytes: 0 })),
    {
      member: CIFAR10_TEST_FILE.name,
      candidates: [CIFAR10_TEST_FILE, CIFAR10_TEST_FIRST1000_FILE],
      bytes: 0,
    },
  ];
  const seen: string[] = [];
  try {
    const got = await streamArchive(url, opts, memberParser(url, dir, wanted, seen), wanted);
    if (md5 !== null && got !== md5) {
      throw new DataError(`checksum mismatch: archive md5 ${got}, expected ${md5}`, url);
    }
    const keep = verifiedMembers(url, dir, wanted, seen);
    for (const k of keep) renameSync(k.tmp, k.dest);
    log(`CIFAR-10: ${keep.length} verified files in ${dir}`);
  } finally {
    for (const w of wanted) if (w.tmp !== undefined) rmSync(w.tmp, { force: true });
  }
}

/**
 * A tar parser that writes each wanted member (its first copy) to a temporary name in `dir`,
 * hashing it on the way; every file member's name is added to `seen`.
 */
function memberParser(url: string, dir: string, wanted: MemberFile[], seen: string[]): TarParser {
  return new TarParser(url, (h) => {
    if (h.type !== "file") return null;
    seen.push(basename(h.name));
    const w = wanted.find((m) => m.member === basename(h.name));
    if (w === undefined || w.tmp !== undefined) return null;
    w.tmp = tempName(join(dir, w.member));
    w.writer = fileSink(w.tmp);
    w.hasher = hasher("sha256");
    return (chunk) => {
      w.writer!.write(chunk);
      w.hasher!.update(chunk);
      w.bytes += chunk.length;
    };
  });
}

/**
 * Streams the archive at `url` through gunzip into `parser`, with a progress bar, aborting when no
 * data comes for the stall timeout; closes the members' writers. Returns the archive's md5.
 */
async function streamArchive(
  url: string,
  opts: DownloadOptions,
  parser: TarParser,
  wanted: readonly MemberFile[],
): Promise<string> {
  const stallMs = opts.stallTimeoutMs ?? 30_000;
  const archiveMd5 = hasher("md5");
  const ctrl = new AbortController();
  let timer = setTimeout(() => ctrl.abort(), stallMs);
  const bump = () => {
    clearTimeout(timer);
    timer = setTimeout(() => ctrl.abort(), stallMs);
  };
  (opts.log ?? defaultLog)(`downloading ${url}`);
  opts.onFetch?.(url);
  try {
    const res = await fetch(url, { signal: ctrl.signal, redirect: "follow" });
    if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
    const length = Number(res.headers.get("content-length"));
    const bar =
      opts.progress === false
        ? null
        : new ProgressBar("CIFAR-10", Number.isFinite(length) && length > 0 ? length : null, opts.progress);
    const hashing = new TransformStream<Uint8Array, Uint8Array<ArrayBuffer>>({
      transform(chunk, out) {
        bump();
        archiveMd5.update(chunk);
        bar?.add(chunk.length);
        out.enqueue(chunk as Uint8Array<ArrayBuffer>);
      },
    });
    const tar = res.body.pipeThrough(hashing).pipeThrough(new DecompressionStream("gzip"));
    for await (const chunk of tar) parser.push(chunk);
    parser.end();
    bar?.finish();
  } catch (e) {
    if (e instanceof DataError) throw e;
    const why = ctrl.signal.aborted
      ? `no data for ${stallMs / 1000} s`
      : e instanceof Error
        ? e.message
        : String(e);
    throw new DataError(`download failed: ${why}`, url);
  } finally {
    clearTimeout(timer);
    for (const w of wanted) w.writer?.end();
  }
  return archiveMd5.digest();
}

/** Each wanted member's temporary file and published name, once its sha256 and size are checked. */
function verifiedMembers(
  url: string,
  dir: string,
  wanted: readonly MemberFile[],
  seen: readonly string[],
): { tmp: string; dest: string }[] {
  const keep: { tmp: string; dest: string }[] = [];
  for (const w of wanted) {
    if (w.tmp === undefined) {
      throw new DataError(`archive has no member ${w.member}; members: ${seen.join(", ")}`, url);
    }
    const sha = w.hasher!.digest();
    const known = w.candidates.find((k) => k.rawSha256 === sha && k.rawBytes === w.bytes);
    if (known === undefined) {
      const exp = w.candidates[0]!;
      throw new DataError(
        `member ${w.member}: checksum mismatch: sha256 ${sha} (${w.bytes} bytes), expected ${exp.rawSha256} (${exp.rawBytes} bytes)`,
        url,
      );
    }
    keep.push({ tmp: w.tmp, dest: join(dir, w.member) }); // the published name, also for a prefix
  }
  return keep;
}
