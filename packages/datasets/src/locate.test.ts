/**
 * The data-directory search order (flag, env, ./data, ../shared/data, cache), the per-data-set
 * folders, raw-or-gz names, and the report of places tried. Uses empty placeholder files.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DataError } from "./errors.ts";
import { loadDataset } from "./load.ts";
import { cacheDir, dataPlaces, describeLocation, fileRoles, locateDataset } from "./locate.ts";
import { errorOf, tempDir } from "./test-support.ts";

const tmp = tempDir("locate");
afterAll(() => tmp.cleanup());

function placeMnist(dir: string, gz = true) {
  mkdirSync(dir, { recursive: true });
  for (const r of fileRoles("mnist")) writeFileSync(join(dir, r.names[gz ? 1 : 0]!), "");
}

describe("search order", () => {
  const root = tmp.dir;
  const cwd = join(root, "work", "repo");
  const opts = {
    dataDir: join(root, "flag"),
    env: { UPDATES_LEAK_DATA: join(root, "env"), XDG_CACHE_HOME: join(root, "xdg") },
    cwd,
  };

  test("places in order, duplicates removed, cache from XDG_CACHE_HOME or HOME", () => {
    expect(dataPlaces(opts)).toEqual([
      { source: "flag", base: join(root, "flag") },
      { source: "env", base: join(root, "env") },
      { source: "cwd", base: join(cwd, "data") },
      { source: "shared", base: join(root, "work", "shared", "data") },
      { source: "cache", base: join(root, "xdg", "updates-leak") },
    ]);
    expect(cacheDir({ env: { HOME: "/home/u" } })).toBe("/home/u/.cache/updates-leak");
    expect(dataPlaces({ cwd, env: {}, dataDir: "data", cacheDir: "/c" }).map((p) => p.source)).toEqual([
      "flag",
      "shared",
      "cache",
    ]);
  });

  test("the first complete place wins; incomplete places are reported", () => {
    const none = locateDataset("mnist", opts);
    expect(none.chosen).toBeUndefined();
    expect(none.tried.map((p) => p.exists)).toEqual([false, false, false, false, false]);

    placeMnist(join(root, "xdg", "updates-leak", "mnist"));
    expect(locateDataset("mnist", opts).chosen?.source).toBe("cache");
    placeMnist(join(root, "work", "shared", "data", "mnist"));
    expect(locateDataset("mnist", opts).chosen?.source).toBe("shared");
    placeMnist(join(cwd, "data"), false); // files directly in ./data, raw names
    const cwdLoc = locateDataset("mnist", opts);
    expect(cwdLoc.chosen?.source).toBe("cwd");
    expect(cwdLoc.chosen?.found["train-images"]).toBe(join(cwd, "data", "train-images-idx3-ubyte"));
    // An incomplete env place: reported with what it has, then skipped.
    mkdirSync(join(root, "env", "mnist"), { recursive: true });
    writeFileSync(join(root, "env", "mnist", "train-labels-idx1-ubyte.gz"), "");
    const loc = locateDataset("mnist", opts);
    expect(loc.chosen?.source).toBe("cwd");
    expect(loc.tried[1]!.missing).toEqual(["train-images", "test-images", "test-labels"]);
    expect(describeLocation(loc).split("\n")).toEqual([
      `  flag   ${join(root, "flag")}: does not exist`,
      `  env    ${join(root, "env")}: missing train-images, test-images, test-labels (found train-labels)`,
      `  cwd    ${join(cwd, "data")}: complete in ${join(cwd, "data")}`,
      `  shared ${join(root, "work", "shared", "data")}: complete in ${join(root, "work", "shared", "data", "mnist")}`,
      `  cache  ${join(root, "xdg", "updates-leak")}: complete in ${join(root, "xdg", "updates-leak", "mnist")}`,
    ]);
    placeMnist(join(root, "flag", "MNIST", "raw"));
    expect(locateDataset("mnist", opts).chosen?.source).toBe("flag");
  });

  test("CIFAR-10: the partial test batch name is accepted; the test batch is optional with 0 test records", () => {
    const dir = join(root, "cifar-only", "cifar-10-batches-bin");
    mkdirSync(dir, { recursive: true });
    for (let k = 1; k <= 5; k++) writeFileSync(join(dir, `data_batch_${k}.bin`), "");
    const o = {
      dataDir: join(root, "cifar-only"),
      env: {},
      cwd: join(root, "nowhere"),
      cacheDir: join(root, "c2"),
    };
    expect(locateDataset("cifar10", o).chosen).toBeUndefined();
    expect(locateDataset("cifar10", { ...o, cifar10TestRecords: 0 }).chosen?.dir).toBe(dir);
    writeFileSync(join(dir, "test_batch_first1000.bin.gz"), "");
    expect(locateDataset("cifar10", o).chosen?.found.test_batch).toBe(
      join(dir, "test_batch_first1000.bin.gz"),
    );
  });

  test("not found and downloading off: the error lists every place", async () => {
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
        `  cwd    ${join(root, "nowhere", "data")}: does not exist\n` +
        `  shared ${join(root, "shared", "data")}: does not exist\n` +
        `  cache  ${join(root, "c3")}: does not exist\n` +
        "Downloading is turned off.",
    );
  });
});
