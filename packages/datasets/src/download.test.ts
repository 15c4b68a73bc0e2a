/**
 * Download path against a loopback HTTP server (Bun.serve on 127.0.0.1, port 0) serving the real MNIST
 * .gz files (found as a user's run finds them), a CIFAR-10 tar.gz assembled here from the real
 * batches, and corrupted copies: mirror fallback, checksum errors, nothing unverified left behind,
 * downloads into --data-dir or the cache, one download (not two) when two calls or two processes
 * start together, stale lock files taken over, and loadDataset reading what was downloaded.
 */

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { md5Hex, readDataFile } from "./bytes.ts";
import { labelHistogram } from "./dataset.ts";
import { downloadCifar10, downloadMnist } from "./download.ts";
import { DataError } from "./errors.ts";
import { CIFAR10_TEST_FIRST1000_FILE, CIFAR10_TRAIN_FILES, MNIST_FILES } from "./known-files.ts";
import { loadDataset } from "./load.ts";
import { locateDataset } from "./locate.ts";
import { ProgressBar } from "./progress-bar.ts";
import { tarHeader, tarPadding, writeTar } from "./tar.ts";
import { errorOf, realFiles, tempDir } from "./test-support.ts";

// Real files of tens of MB on a shared 2-core machine: allow more than the 5 s default.
setDefaultTimeout(120_000);

const tmp = tempDir("download");
const routes = new Map<string, Uint8Array>();
const requests: string[] = [];
let server: ReturnType<typeof Bun.serve> | undefined;
let base = "";
/** The /hold/ route answers once `release` is called. */
let held: Promise<void>;
let release: () => void = () => {};
const quiet = { log: () => {}, progress: false as const };
const MNIST_GZ = Object.values(MNIST_FILES).map((k) => `${k.name}.gz`);

beforeAll(async () => {
  const files = await realFiles("mnist");
  for (const k of Object.values(MNIST_FILES)) {
    const path = files[k.role]!;
    // The mirrors serve the official .gz files; a raw copy found locally is not one (its md5 differs).
    if (!path.endsWith(".gz"))
      throw new Error(`${path}: these tests serve the official ${k.name}.gz; found a raw copy`);
    const gz = await Bun.file(path).bytes();
    routes.set(`/good/${k.name}.gz`, gz);
    const bad = gz.slice();
    bad[Math.floor(bad.length / 2)]! ^= 0x01;
    routes.set(`/bad/${k.name}.gz`, bad);
  }
  held = new Promise((r) => {
    release = r;
  });
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      let path = new URL(req.url).pathname;
      requests.push(path);
      if (path.startsWith("/slow/")) {
        // Long enough that a second caller arrives while the first is still downloading.
        await Bun.sleep(300);
        path = path.replace("/slow/", "/good/");
      }
      if (path.startsWith("/hold/")) {
        // Held until the test releases it: a downloader stays mid-download as long as needed.
        await held;
        path = path.replace("/hold/", "/good/");
      }
      const body = routes.get(path);
      return body ? new Response(body) : new Response("not here", { status: 404 });
    },
  });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => {
  server?.stop(true);
  tmp.cleanup();
});

const leftovers = (dir: string) =>
  readdirSync(dir).filter((f) => f.includes(".part-") || f.endsWith(".lock"));
const count = (prefix: string) => requests.filter((r) => r.startsWith(prefix)).length;

/** The four files in `dir` are the published ones (md5 of each .gz against MNIST_FILES). */
async function mnistIntact(dir: string): Promise<boolean> {
  for (const k of Object.values(MNIST_FILES)) {
    if (md5Hex(await Bun.file(join(dir, `${k.name}.gz`)).bytes()) !== k.gz.md5) return false;
  }
  return true;
}

describe("MNIST download: mirrors, checksums and loadDataset", () => {
  test("falls back past a missing mirror, verifies, and keeps the files where the search finds them", async () => {
    const cache = join(tmp.dir, "cache-mnist");
    const dir = await downloadMnist(cache, { mnistMirrors: [`${base}/missing/`, `${base}/good`], ...quiet });
    expect(dir).toBe(join(cache, "mnist"));
    expect(readdirSync(dir).sort()).toEqual([...MNIST_GZ].sort());
    expect(await mnistIntact(dir)).toBe(true);
    expect(requests).toContain("/missing/train-images-idx3-ubyte.gz");
    // Already there: nothing fetched again.
    const before = requests.length;
    await downloadMnist(cache, { mnistMirrors: [`${base}/good/`], ...quiet });
    expect(requests.length).toBe(before);
    const loc = locateDataset("mnist", { env: {}, cwd: join(tmp.dir, "w", "r"), cacheDir: cache });
    expect(loc.chosen?.dir).toBe(dir);
  });

  test("a corrupted file is a checksum error and is not kept", async () => {
    const cache = join(tmp.dir, "cache-bad");
    const e = await errorOf(() => downloadMnist(cache, { mnistMirrors: [`${base}/bad/`], ...quiet }));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toContain(
      `could not download a verified train-images-idx3-ubyte.gz into ${join(cache, "mnist")}`,
    );
    expect(e.message).toContain(`${base}/bad/train-images-idx3-ubyte.gz: checksum mismatch: md5 `);
    expect(e.message).toContain(`expected ${MNIST_FILES.trainImages.gz.md5}`);
    expect(readdirSync(join(cache, "mnist"))).toEqual([]);
  });

  test("loadDataset downloads into the cache when nothing is found, into --data-dir when given", async () => {
    const cache = join(tmp.dir, "cache-load");
    const where = { env: {}, cwd: join(tmp.dir, "w", "r"), cacheDir: cache };
    const ds = await loadDataset("mnist", {
      ...where,
      download: { mnistMirrors: [`${base}/good/`], ...quiet },
    });
    expect([...labelHistogram(ds.labels, 10)]).toEqual([
      6903, 7877, 6990, 7141, 6824, 6313, 6876, 7293, 6825, 6958,
    ]);
    expect(ds.files[0]!.path).toBe(join(cache, "mnist", "train-images-idx3-ubyte.gz"));
    // --data-dir, an empty folder: the files go there (like torchvision's root), not into the cache.
    const own = join(tmp.dir, "own-data");
    mkdirSync(own);
    const ds2 = await loadDataset("mnist", {
      ...where,
      cacheDir: join(tmp.dir, "cache-unused"),
      dataDir: own,
      download: { mnistMirrors: [`${base}/good/`], ...quiet },
    });
    expect(ds2.files.map((f) => f.path)).toEqual(
      [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
        "t10k-labels-idx1-ubyte.gz",
      ].map((f) => join(own, "mnist", f)),
    );
    expect(existsSync(join(tmp.dir, "cache-unused"))).toBe(false);
    const e = await errorOf(() =>
      loadDataset("mnist", {
        ...where,
        cacheDir: join(tmp.dir, "c-x"),
        download: { mnistMirrors: [`${base}/none/`], ...quiet },
      }),
    );
    expect(e.message).toContain("mnist: data files not found. Places tried, in order:");
    expect(e.message).toContain(`Download into ${join(tmp.dir, "c-x")} failed: could not download`);
    expect(e.message).toContain("HTTP 404");
    expect(e.message).toEndWith("`npm run leak -- data fetch --dataset mnist`.");
  });
});

describe("MNIST download: concurrent calls and lock files", () => {
  test("two calls started together: one download of each file, intact files, no lock or temp left", async () => {
    const target = join(tmp.dir, "together");
    const before = count("/slow/");
    const logs: string[] = [];
    const opts = {
      mnistMirrors: [`${base}/slow/`],
      progress: false as const,
      log: (m: string) => logs.push(m),
    };
    const [a, b] = await Promise.all([downloadMnist(target, opts), downloadMnist(target, opts)]);
    expect(a).toBe(b);
    expect(count("/slow/") - before).toBe(4);
    expect(logs.filter((l) => l.startsWith("downloading "))).toHaveLength(4);
    expect(logs.filter((l) => l.startsWith("waiting for "))).toHaveLength(1);
    expect(await mnistIntact(a)).toBe(true);
    expect(leftovers(a)).toEqual([]);
  });
});

describe("MNIST download: two processes and one lock file", () => {
  test("two processes started together: one download of each file, intact files", async () => {
    const target = join(tmp.dir, "two-procs");
    const before = count("/hold/");
    const script = join(tmp.dir, "fetch-mnist.ts");
    writeFileSync(
      script,
      `import { downloadMnist } from ${JSON.stringify(join(import.meta.dir, "download.ts"))};\n` +
        `await downloadMnist(process.argv[2], { mnistMirrors: [process.argv[3]], progress: false });\n`,
    );
    const spawn = () =>
      Bun.spawn([process.execPath, script, target, `${base}/hold/`], { stdout: "pipe", stderr: "pipe" });
    const procs = [spawn(), spawn()];
    // The downloads are held until the other process says it waits for the lock (or 60 s pass, and
    // the checks below fail): the two overlap however slowly either starts.
    const timer = setTimeout(() => release(), 60_000);
    const errs = await Promise.all(
      procs.map(async (p) => {
        let text = "";
        for await (const chunk of p.stderr) {
          text += new TextDecoder().decode(chunk);
          if (/^waiting for process \d+ on /m.test(text)) release();
        }
        return text;
      }),
    );
    clearTimeout(timer);
    const codes = await Promise.all(procs.map((p) => p.exited));
    expect(codes).toEqual([0, 0]);
    expect(count("/hold/") - before).toBe(4);
    // One process downloaded, the other waited for it.
    expect(errs.join("").match(/^downloading /gm)).toHaveLength(4);
    expect(errs.join("").match(/^waiting for process \d+ on /gm)).toHaveLength(1);
    expect(await mnistIntact(join(target, "mnist"))).toBe(true);
    expect(leftovers(join(target, "mnist"))).toEqual([]);
  });
});

describe("MNIST download: stale and live locks", () => {
  test("a stale lock (its process gone) is taken over; a live one is waited for", async () => {
    const target = join(tmp.dir, "stale");
    const dir = join(target, "mnist");
    mkdirSync(dir, { recursive: true });
    const gone = Bun.spawn(["true"]);
    await gone.exited;
    const lock = join(dir, ".mnist-download.lock");
    writeFileSync(lock, JSON.stringify({ pid: gone.pid, host: hostname(), started: "then" }));
    const logs: string[] = [];
    await downloadMnist(target, {
      mnistMirrors: [`${base}/good/`],
      progress: false,
      log: (m) => logs.push(m),
    });
    expect(logs[0]).toBe(`taking over the stale lock ${lock} (its process ${gone.pid} is gone)`);
    expect(await mnistIntact(dir)).toBe(true);

    // A live lock of another host: waited for until it goes (here: removed after 400 ms).
    const target2 = join(tmp.dir, "live");
    mkdirSync(join(target2, "mnist"), { recursive: true });
    const lock2 = join(target2, "mnist", ".mnist-download.lock");
    writeFileSync(lock2, JSON.stringify({ pid: 1, host: "elsewhere", started: "now" }));
    setTimeout(() => Bun.file(lock2).delete(), 400);
    const logs2: string[] = [];
    const t0 = performance.now();
    await downloadMnist(target2, {
      mnistMirrors: [`${base}/good/`],
      progress: false,
      log: (m) => logs2.push(m),
    });
    expect(performance.now() - t0).toBeGreaterThan(350);
    expect(logs2[0]).toBe(
      `waiting for process 1 on elsewhere, which is downloading mnist-download (lock file ${lock2})`,
    );
    expect(await mnistIntact(join(target2, "mnist"))).toBe(true);
  });
});

describe("progress bar", () => {
  test("throttled lines when not a terminal, a bar redrawn in place on one", () => {
    let t = 0;
    const lines: string[] = [];
    const bar = new ProgressBar("CIFAR-10", 200e6, {
      tty: false,
      write: (s) => lines.push(s),
      now: () => t,
      everyMs: 10_000,
    });
    for (let i = 0; i < 20; i++) {
      t += 1_000;
      bar.add(10e6); // 10 MB a second
    }
    bar.finish();
    expect(lines).toEqual([
      "CIFAR-10   5% 10.0/200.0 MB, 10.0 MB/s\n",
      "CIFAR-10  55% 110.0/200.0 MB, 10.0 MB/s\n",
      "CIFAR-10 100% 200.0/200.0 MB, 10.0 MB/s\n", // finish(): the final state, always
    ]);
    const out: string[] = [];
    let t2 = 0;
    const tty = new ProgressBar("CIFAR-10", 100e6, { tty: true, write: (s) => out.push(s), now: () => t2 });
    t2 = 2_000;
    tty.add(50e6);
    expect(out).toEqual([
      `\rCIFAR-10 [${"#".repeat(15)}${".".repeat(15)}]  50% 50.0/100.0 MB, 25.0 MB/s\x1b[K`,
    ]);
  });
});

const SOURCES = [1, 2, 3, 4, 5].map((k) => `data_batch_${k}.bin`);
const meta = {
  name: "cifar-10-batches-bin/batches.meta.txt",
  data: new TextEncoder().encode("airplane\n"),
};

/** Serves a CIFAR-10 archive built from the real batches, a corrupted one and one with no batches. */
async function serveCifarArchives(): Promise<void> {
  const files = await realFiles("cifar10");
  // The official archive's layout, as a multi-member gzip file (valid per RFC 1952): the real
  // batches' own gzip files are the members' bodies (a raw batch is gzipped here). The test batch
  // member is the first 1,000 records of the test batch found (a recognised prefix).
  const first1000: Uint8Array<ArrayBuffer> = (await readDataFile(files.test_batch!)).data.slice(
    0,
    1000 * 3073,
  );
  const gzOf = async (p: string) =>
    p.endsWith(".gz") ? await Bun.file(p).bytes() : Bun.gzipSync(await Bun.file(p).bytes());
  const members = [
    ...SOURCES.map((f, k) => ({ member: f, gz: () => gzOf(files[`data_batch_${k + 1}`]!) })),
    { member: "test_batch.bin", gz: async () => Bun.gzipSync(first1000) },
  ];
  const parts: Uint8Array[] = [];
  let pad = writeTar([meta]).subarray(0, 1024); // header + padded body of batches.meta.txt
  for (const m of members) {
    const gz = await m.gz();
    const size = new DataView(gz.buffer, gz.byteOffset + gz.length - 4).getUint32(0, true);
    const head = new Uint8Array(pad.length + 512);
    head.set(pad);
    head.set(tarHeader(`cifar-10-batches-bin/${m.member}`, size), pad.length);
    parts.push(Bun.gzipSync(head), gz);
    pad = new Uint8Array(tarPadding(size));
  }
  const end = new Uint8Array(pad.length + 1024);
  parts.push(Bun.gzipSync(end));
  routes.set("/cifar/cifar-10-binary.tar.gz", Buffer.concat(parts));
  const bad = first1000.slice();
  bad[777]! ^= 0x10;
  routes.set(
    "/cifar-bad/cifar-10-binary.tar.gz",
    Bun.gzipSync(writeTar([{ name: "cifar-10-batches-bin/data_batch_1.bin", data: bad }])),
  );
  routes.set("/cifar-meta/a.tar.gz", Bun.gzipSync(writeTar([meta])));
}

let cifarArchives: Promise<void> | undefined;
/** The archives are built once, by whichever CIFAR-10 describe runs first. */
function cifarArchivesServed(): Promise<void> {
  cifarArchives ??= serveCifarArchives();
  return cifarArchives;
}

describe("CIFAR-10 download: extraction and verification", () => {
  beforeAll(cifarArchivesServed);

  test("extracts and verifies the members, stores them raw under published names, with progress", async () => {
    const cache = join(tmp.dir, "cache-cifar");
    const lines: string[] = [];
    const url = `${base}/cifar/cifar-10-binary.tar.gz`;
    const dir = await downloadCifar10(cache, {
      cifar10Url: url,
      log: () => {},
      progress: { tty: false, write: (s) => lines.push(s) },
    });
    expect(dir).toBe(join(cache, "cifar10"));
    expect(readdirSync(dir).sort()).toEqual([...SOURCES, "test_batch.bin"]);
    // Reference: the published sha256 and size of every stored file, hashed here from disk.
    for (const known of [...CIFAR10_TRAIN_FILES, CIFAR10_TEST_FIRST1000_FILE]) {
      const hasher = new Bun.CryptoHasher("sha256");
      let n = 0;
      for await (const c of Bun.file(join(dir, known.name)).stream()) {
        hasher.update(c);
        n += c.length;
      }
      expect([known.name, n, hasher.digest("hex")]).toEqual([known.name, known.rawBytes, known.rawSha256]);
    }
    const mb = (routes.get("/cifar/cifar-10-binary.tar.gz")!.length / 1e6).toFixed(1);
    expect(lines.at(-1)).toStartWith(`CIFAR-10 100% ${mb}/${mb} MB, `);
    const loc = locateDataset("cifar10", { env: {}, cwd: join(tmp.dir, "w", "r"), cacheDir: cache });
    expect(loc.chosen?.found.test_batch).toBe(join(dir, "test_batch.bin"));
    // All six there: a second call fetches nothing.
    const before = count("/cifar/");
    await downloadCifar10(cache, { cifar10Url: url, ...quiet });
    expect(count("/cifar/")).toBe(before);
  });
});

describe("CIFAR-10 download: errors", () => {
  beforeAll(cifarArchivesServed);

  test("a corrupted member, a missing member, or a wrong archive md5 are errors and nothing is kept", async () => {
    const cache = join(tmp.dir, "cache-cifar-bad");
    const url = `${base}/cifar-bad/cifar-10-binary.tar.gz`;
    const e = await errorOf(() => downloadCifar10(cache, { cifar10Url: url, ...quiet }));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toContain(`${url}: member data_batch_1.bin: checksum mismatch: sha256 `);
    expect(readdirSync(join(cache, "cifar10"))).toEqual([]);
    const e2 = await errorOf(() =>
      downloadCifar10(cache, { cifar10Url: `${base}/cifar-meta/a.tar.gz`, ...quiet }),
    );
    expect(e2.message).toBe(
      `${base}/cifar-meta/a.tar.gz: archive has no member data_batch_1.bin; members: batches.meta.txt`,
    );
    const e3 = await errorOf(() =>
      downloadCifar10(cache, {
        cifar10Url: `${base}/cifar-meta/a.tar.gz`,
        cifar10ArchiveMd5: "0".repeat(32),
        ...quiet,
      }),
    );
    expect(e3.message).toContain("checksum mismatch: archive md5 ");
    const e4 = await errorOf(() =>
      downloadCifar10(cache, { cifar10Url: `${base}/nothing.tar.gz`, ...quiet }),
    );
    expect(e4.message).toBe(`${base}/nothing.tar.gz: download failed: HTTP 404 Not Found`);
    expect(readdirSync(join(cache, "cifar10"))).toEqual([]);
    expect(existsSync(join(cache, "cifar10", "data_batch_1.bin"))).toBe(false);
    expect(leftovers(join(cache, "cifar10"))).toEqual([]);
  });
});
