/**
 * `leak data where|verify|fetch` in-process, on temp folders, with downloads from a loopback HTTP
 * server (127.0.0.1) serving the real MNIST .gz files (found as a user's run finds them): exit 0 when
 * every file is there and verified, 1 when something is missing or corrupt, each file or place named.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { MNIST_FILES } from "@updates-leak/datasets";
import { realFiles } from "../../packages/datasets/src/test-support.ts";
import { main } from "./cli.ts";

setDefaultTimeout(120_000);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ul-data-cmd-"));
const routes = new Map<string, Uint8Array>();
let server: ReturnType<typeof Bun.serve> | undefined;
let fetched = 0;
const savedMirrors = process.env.UPDATES_LEAK_MNIST_MIRRORS;

beforeAll(async () => {
  const files = await realFiles("mnist");
  for (const k of Object.values(MNIST_FILES))
    routes.set(`/m/${k.name}.gz`, await Bun.file(files[k.role]!).bytes());
  server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(req) {
      fetched++;
      const body = routes.get(new URL(req.url).pathname);
      return body ? new Response(body) : new Response("not here", { status: 404 });
    },
  });
  process.env.UPDATES_LEAK_MNIST_MIRRORS = `http://127.0.0.1:${server.port}/m/`;
});
afterAll(() => {
  server?.stop(true);
  if (savedMirrors === undefined) delete process.env.UPDATES_LEAK_MNIST_MIRRORS;
  else process.env.UPDATES_LEAK_MNIST_MIRRORS = savedMirrors;
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function leak(...args: string[]) {
  let out = "";
  let err = "";
  const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

const NAMES = Object.values(MNIST_FILES).map((k) => `${k.name}.gz`);

/** The --data-dir the first tests fill, one after the other. */
const dir = path.join(tmp, "d");

describe("leak data: where, fetch, verify", () => {
  test("where / fetch --offline on an empty --data-dir: exit 1, the place and how to provide the data", async () => {
    fs.mkdirSync(dir);
    const w = await leak("data", "where", "--dataset", "mnist", "--data-dir", dir);
    expect(w.code).toBe(1);
    expect(w.out).toBe(
      "mnist: places tried, in order:\n" +
        `  --data-dir         ${dir}: missing train-images, train-labels, test-images, test-labels\n` +
        "mnist: not found. To provide the data: set UPDATES_LEAK_DATA to a folder holding the files, pass " +
        "--data-dir DIR, or download them with `npm run leak -- data fetch --dataset mnist`.\n",
    );
    const before = fetched;
    const f = await leak("data", "fetch", "--dataset", "mnist", "--data-dir", dir, "--offline");
    expect(f.code).toBe(1);
    expect(f.err).toContain("error: mnist: data files not found.");
    expect(f.err).toContain("Downloading is turned off (--offline).");
    expect(fetched).toBe(before);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  test("fetch downloads into --data-dir and verifies; where then names each file; a second fetch downloads nothing", async () => {
    const f = await leak("data", "fetch", "--dataset", "mnist", "--data-dir", dir);
    expect([f.code, f.err]).toEqual([0, expect.stringContaining("downloading http://127.0.0.1:")]);
    expect(f.out.split("\n").slice(0, 2)).toEqual([
      `mnist: downloaded into ${dir}`,
      `mnist: all files verified in ${path.join(dir, "mnist")}`,
    ]);
    expect(fs.readdirSync(path.join(dir, "mnist")).sort()).toEqual([...NAMES].sort());
    const w = await leak("data", "where", "--dataset", "mnist", "--data-dir", dir);
    expect(w.code).toBe(0);
    expect(w.out).toContain(`mnist: using ${path.join(dir, "mnist")}\n`);
    expect(w.out).toContain(`  train-images   ${path.join(dir, "mnist", "train-images-idx3-ubyte.gz")}\n`);
    const before = fetched;
    const again = await leak("data", "fetch", "--dataset", "mnist", "--data-dir", dir);
    expect([again.code, fetched - before]).toEqual([0, 0]);
    expect(again.out).not.toContain("downloaded into");
  });

  test("verify: ok for each file; a corrupt file is named, exit 1", async () => {
    const v = await leak("data", "verify", "--dataset", "mnist", "--data-dir", dir);
    expect(v.code).toBe(0);
    expect(v.out.match(/^ {2}ok {3}/gm)).toHaveLength(4);
    expect(v.out).toContain(
      `${path.join(dir, "mnist", "t10k-labels-idx1-ubyte.gz")}: checksum ok (10,000 records)`,
    );
    // Same size, one label changed (re-gzipped): only the checksum can tell.
    const file = path.join(dir, "mnist", "t10k-labels-idx1-ubyte.gz");
    const raw = Bun.gunzipSync(fs.readFileSync(file));
    raw[100] = (raw[100]! + 1) % 10;
    fs.writeFileSync(file, Bun.gzipSync(raw));
    const bad = await leak("data", "verify", "--dataset", "mnist", "--data-dir", dir);
    expect(bad.code).toBe(1);
    expect(bad.out).toStartWith(`mnist: verification FAILED in ${path.join(dir, "mnist")}`);
    expect(bad.out).toContain(
      `  BAD  test-labels    ${file}: checksum mismatch: sha256 of the decompressed contents is `,
    );
    expect(bad.out.match(/^ {2}ok {3}/gm)).toHaveLength(3);
  });
});

describe("leak data: partial and unknown data sets", () => {
  test("part of a data set in --data-dir: where and verify exit 1 naming the missing files", async () => {
    const part = path.join(tmp, "part");
    fs.mkdirSync(part);
    fs.copyFileSync(
      path.join(dir, "mnist", "train-labels-idx1-ubyte.gz"),
      path.join(part, "train-labels-idx1-ubyte.gz"),
    );
    for (const sub of ["where", "verify"]) {
      const r = await leak("data", sub, "--dataset", "mnist", "--data-dir", part);
      expect(r.code).toBe(1);
      expect(r.out).toContain(
        `mnist: --data-dir ${part} holds only part of the data set: missing train-images-idx3-ubyte or train-images-idx3-ubyte.gz, `,
      );
    }
    const f = await leak("data", "fetch", "--dataset", "mnist", "--data-dir", part);
    expect(f.code).toBe(1);
    expect(f.err).toContain(`error: mnist: --data-dir ${part} holds only part of the data set`);
  });

  test("insta-ny cannot be fetched; an unknown data set is a usage error", async () => {
    const f = await leak("data", "fetch", "--dataset", "insta-ny", "--data-dir", dir);
    expect(f.code).toBe(1);
    expect(f.err).toContain("error: insta-ny: no public copy exists, nothing to download.");
    const u = await leak("data", "where", "--dataset", "svhn");
    expect(u.code).toBe(2);
    expect(u.err).toContain("Allowed choices are mnist, cifar10, insta-ny");
  });
});
