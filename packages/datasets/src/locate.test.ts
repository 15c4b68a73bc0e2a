/**
 * The data-directory search order (--data-dir alone; else env, ./data, cache), explicit places that
 * hold part of a data set (an error, never passed over), the per-data-set folders, raw-or-gz names,
 * and the report of places tried. Uses empty placeholder files.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DataError } from "./errors.ts";
import { ensureDatasetFiles, loadDataset } from "./load.ts";
import { cacheDir, dataPlaces, describeLocation, fileRoles, locateDataset } from "./locate.ts";
import { errorOf, tempDir } from "./test-support.ts";

const tmp = tempDir("locate");
afterAll(() => tmp.cleanup());

function placeMnist(dir: string, gz = true) {
  mkdirSync(dir, { recursive: true });
  for (const r of fileRoles("mnist")) writeFileSync(join(dir, r.names[gz ? 1 : 0]!), "");
}

// The places searched: a working folder, $UPDATES_LEAK_DATA and an XDG cache, all under tmp.
const root = tmp.dir;
const cwd = join(root, "work", "repo");
const env = { UPDATES_LEAK_DATA: join(root, "env"), XDG_CACHE_HOME: join(root, "xdg") };
const opts = { env, cwd };

describe("search order: the places and which one wins", () => {
  test("places in order, duplicates removed; --data-dir is the only place; the cache's variables", () => {
    expect(dataPlaces(opts)).toEqual([
      { source: "env", base: join(root, "env") },
      { source: "cwd", base: join(cwd, "data") },
      { source: "cache", base: join(root, "xdg", "updates-leak") },
    ]);
    expect(dataPlaces({ ...opts, dataDir: "d" })).toEqual([{ source: "flag", base: join(cwd, "d") }]);
    expect(cacheDir({ env: { HOME: "/home/u" } })).toBe("/home/u/.cache/updates-leak");
    expect(cacheDir({ env: { HOME: "/home/u", XDG_CACHE_HOME: "/x", UPDATES_LEAK_CACHE: "/c/ul" } })).toBe(
      "/c/ul",
    );
    expect(
      dataPlaces({ cwd, env: { UPDATES_LEAK_DATA: "data" }, cacheDir: "/c" }).map((p) => p.source),
    ).toEqual(["env", "cache"]);
  });

  test("the first complete place wins; a place holding none of the set is passed over", () => {
    const none = locateDataset("mnist", opts);
    expect(none.chosen).toBeUndefined();
    expect(none.partial).toBeUndefined();
    expect(none.tried.map((p) => p.exists)).toEqual([false, false, false]);

    placeMnist(join(root, "xdg", "updates-leak", "mnist"));
    expect(locateDataset("mnist", opts).chosen?.source).toBe("cache");
    placeMnist(join(cwd, "data"), false); // files directly in ./data, raw names
    const cwdLoc = locateDataset("mnist", opts);
    expect(cwdLoc.chosen?.source).toBe("cwd");
    expect(cwdLoc.chosen?.found["train-images"]).toBe(join(cwd, "data", "train-images-idx3-ubyte"));
    // $UPDATES_LEAK_DATA holding other things (no MNIST file): passed over.
    mkdirSync(join(root, "env", "cifar10"), { recursive: true });
    writeFileSync(join(root, "env", "cifar10", "data_batch_1.bin"), "");
    const loc = locateDataset("mnist", opts);
    expect(loc.chosen?.source).toBe("cwd");
    expect(describeLocation(loc).split("\n")).toEqual([
      `  $UPDATES_LEAK_DATA ${join(root, "env")}: missing train-images, train-labels, test-images, test-labels`,
      `  ./data             ${join(cwd, "data")}: complete in ${join(cwd, "data")}`,
    ]);
    placeMnist(join(root, "env", "MNIST", "raw"));
    expect(locateDataset("mnist", opts).chosen?.source).toBe("env");
  });
});

describe("search order: partial places, CIFAR-10 names and nothing found", () => {
  test("part of a data set in $UPDATES_LEAK_DATA or --data-dir is an error naming the missing files", async () => {
    const envDir = join(root, "env2");
    mkdirSync(join(envDir, "mnist"), { recursive: true });
    writeFileSync(join(envDir, "mnist", "train-labels-idx1-ubyte.gz"), "");
    const o = { env: { UPDATES_LEAK_DATA: envDir }, cwd, cacheDir: join(root, "xdg", "updates-leak") };
    const loc = locateDataset("mnist", o);
    // ./data and the cache hold complete copies, yet they are not used.
    expect([loc.chosen, loc.partial?.source, loc.tried.length]).toEqual([undefined, "env", 1]);
    const e = await errorOf(() => ensureDatasetFiles("mnist", o));
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toBe(
      `mnist: UPDATES_LEAK_DATA=${envDir} holds only part of the data set: missing ` +
        "train-images-idx3-ubyte or train-images-idx3-ubyte.gz, t10k-images-idx3-ubyte or t10k-images-idx3-ubyte.gz, " +
        "t10k-labels-idx1-ubyte or t10k-labels-idx1-ubyte.gz " +
        `(found ${join(envDir, "mnist", "train-labels-idx1-ubyte.gz")}). Add the missing files, or point UPDATES_LEAK_DATA ` +
        "at a complete folder (a folder named by UPDATES_LEAK_DATA that holds part of a data set is never passed over for another copy).",
    );
    const e2 = await errorOf(() => loadDataset("mnist", { ...o, env: {}, dataDir: envDir }));
    expect(e2.message).toStartWith(
      `mnist: --data-dir ${envDir} holds only part of the data set: missing train-images-idx3-ubyte or`,
    );
    expect(e2.message).toEndWith("(--data-dir is the only place searched when it is given).");
  });

  test("CIFAR-10: published names only; the test batch is optional with 0 test records", () => {
    const dir = join(root, "cifar-only", "cifar-10-batches-bin");
    mkdirSync(dir, { recursive: true });
    for (let k = 1; k <= 5; k++) writeFileSync(join(dir, `data_batch_${k}.bin`), "");
    const o = {
      dataDir: join(root, "cifar-only"),
      env: {},
      cwd: join(root, "nowhere"),
      cacheDir: join(root, "c2"),
    };
    expect(locateDataset("cifar10", o).partial?.missing).toEqual(["test_batch"]);
    expect(locateDataset("cifar10", { ...o, cifar10TestRecords: 0 }).chosen?.dir).toBe(dir);
    writeFileSync(join(dir, "test_batch_first1000.bin.gz"), ""); // not a published name
    expect(locateDataset("cifar10", o).chosen).toBeUndefined();
    writeFileSync(join(dir, "test_batch.bin.gz"), "");
    expect(locateDataset("cifar10", o).chosen?.found.test_batch).toBe(join(dir, "test_batch.bin.gz"));
  });

  test("not found and downloading off: one error listing every place and how to provide the data", async () => {
    const e = await errorOf(() =>
      loadDataset("cifar10", {
        env: {},
        cwd: join(root, "nowhere"),
        cacheDir: join(root, "c3"),
        download: false,
      }),
    );
    expect(e).toBeInstanceOf(DataError);
    expect(e.message).toBe(
      "cifar10: data files not found. Places tried, in order:\n" +
        `  ./data             ${join(root, "nowhere", "data")}: does not exist\n` +
        `  cache              ${join(root, "c3")}: does not exist\n` +
        "Downloading is turned off (--offline).\n" +
        "To provide the data: set UPDATES_LEAK_DATA to a folder holding the files, pass --data-dir DIR, " +
        "or download them with `npm run leak -- data fetch --dataset cifar10`.",
    );
  });
});
