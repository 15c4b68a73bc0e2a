/**
 * Download path against a loopback HTTP server (Bun.serve on 127.0.0.1, port 0) serving the real gz
 * files from <repo>/../shared/data, a CIFAR-10 tar.gz assembled here from the real batches, and corrupted
 * copies: mirror fallback, checksum errors, nothing unverified left in the cache, and loadDataset
 * reading what was downloaded.
 */

import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { labelHistogram } from "./dataset.ts";
import { downloadCifar10, downloadMnist } from "./download.ts";
import { DataError } from "./errors.ts";
import { CIFAR10_TEST_FIRST1000_FILE, CIFAR10_TRAIN_FILES, MNIST_FILES } from "./known-files.ts";
import { loadDataset } from "./load.ts";
import { locateDataset } from "./locate.ts";
import { tarHeader, tarPadding, writeTar } from "./tar.ts";
import { errorOf, SHARED_DATA, tempDir } from "./test-support.ts";

// Real files of tens of MB on a shared 2-core machine: allow more than the 5 s default.
setDefaultTimeout(60_000);

const tmp = tempDir("download");
const routes = new Map<string, Uint8Array>();
const requests: string[] = [];
let server: ReturnType<typeof Bun.serve>;
let base = "";
const quiet = { log: () => {} };

beforeAll(async () => {
  for (const k of Object.values(MNIST_FILES)) {
    const gz = await Bun.file(join(SHARED_DATA, "mnist", `${k.name}.gz`)).bytes();
    routes.set(`/good/${k.name}.gz`, gz);
    const bad = gz.slice();
    bad[Math.floor(bad.length / 2)]! ^= 0x01;
    routes.set(`/bad/${k.name}.gz`, bad);
  }
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      const path = new URL(req.url).pathname;
      requests.push(path);
      const body = routes.get(path);
      return body ? new Response(body) : new Response("not here", { status: 404 });
    },
  });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => {
  server.stop(true);
  tmp.cleanup();
});

const leftovers = (dir: string) => readdirSync(dir).filter((f) => f.includes(".part-"));

describe("MNIST download", () => {
  test("falls back past a missing mirror, verifies, and keeps the files where the search finds them", async () => {
    const cache = join(tmp.dir, "cache-mnist");
    const dir = await downloadMnist(cache, { mnistMirrors: [`${base}/missing/`, `${base}/good`], ...quiet });
    expect(dir).toBe(join(cache, "mnist"));
    expect(readdirSync(dir).sort()).toEqual(
      Object.values(MNIST_FILES)
        .map((k) => `${k.name}.gz`)
        .sort(),
    );
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

  test("loadDataset downloads when nothing is found, and reports places and failures otherwise", async () => {
    const cache = join(tmp.dir, "cache-load");
    const where = { env: {}, cwd: join(tmp.dir, "w", "r"), cacheDir: cache };
    const ds = await loadDataset("mnist", {
      ...where,
      download: { mnistMirrors: [`${base}/good/`], ...quiet },
    });
    expect([...labelHistogram(ds.labels, 10)]).toEqual([
      6903, 7877, 6990, 7141, 6824, 6313, 6876, 7293, 6825, 6958,
    ]);
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
  });
});

describe("CIFAR-10 download", () => {
  const SOURCES = [1, 2, 3, 4, 5].map((k) => `data_batch_${k}.bin`);
  const meta = {
    name: "cifar-10-batches-bin/batches.meta.txt",
    data: new TextEncoder().encode("airplane\n"),
  };
  beforeAll(async () => {
    // The official archive's layout, as a multi-member gzip file (valid per RFC 1952): the real
    // batches' own gzip files are the members' bodies, so nothing large is recompressed here. The test
    // batch member is the partial first-1000 batch, the only test records we have.
    const parts: Uint8Array[] = [];
    const members = [
      ...SOURCES.map((f) => ({ member: f, file: `cifar10/${f}.gz` })),
      { member: "test_batch.bin", file: "cifar10/test_batch_first1000.bin.gz" },
    ];
    let pad = writeTar([meta]).subarray(0, 1024); // header + padded body of batches.meta.txt
    for (const m of members) {
      const gz = await Bun.file(join(SHARED_DATA, m.file)).bytes();
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
    const bad = Bun.gunzipSync(
      await Bun.file(join(SHARED_DATA, "cifar10/test_batch_first1000.bin.gz")).bytes(),
    );
    bad[777]! ^= 0x10;
    routes.set(
      "/cifar-bad/cifar-10-binary.tar.gz",
      Bun.gzipSync(writeTar([{ name: "cifar-10-batches-bin/data_batch_1.bin", data: bad }])),
    );
    routes.set("/cifar-meta/a.tar.gz", Bun.gzipSync(writeTar([meta])));
  });

  test("extracts and verifies the members, stores them raw where the search finds them", async () => {
    const cache = join(tmp.dir, "cache-cifar");
    const dir = await downloadCifar10(cache, {
      cifar10Url: `${base}/cifar/cifar-10-binary.tar.gz`,
      ...quiet,
    });
    expect(dir).toBe(join(cache, "cifar10"));
    expect(readdirSync(dir).sort()).toEqual([...SOURCES, "test_batch_first1000.bin"]);
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
    const loc = locateDataset("cifar10", { env: {}, cwd: join(tmp.dir, "w", "r"), cacheDir: cache });
    expect(loc.chosen?.found.test_batch).toBe(join(dir, "test_batch_first1000.bin"));
  });

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
