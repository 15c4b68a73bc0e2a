/**
 * Helpers for this package's tests: the repository root, the real data found the way a user's run
 * finds it (the search order: $UPDATES_LEAK_DATA, ./data, the cache; then a download into the cache),
 * and throw-away temporary folders. No test names a folder of this machine.
 *
 * When the data cannot be found or downloaded, `realFiles` / `realDataset` throw one DataError that
 * lists the places tried and says how to provide the data; the tests that need it then fail with it.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { moduleDir } from "@updates-leak/core/platform";
import { ensureDatasetFiles, loadDataset } from "./load.ts";
import type { Dataset } from "./types.ts";

export const REPO_ROOT = resolve(moduleDir(import.meta.url), "../../..");

const files = new Map<string, Promise<Readonly<Record<string, string>>>>();

/**
 * The files of the real MNIST or CIFAR-10 (role -> path), found through the search order from the
 * working directory and the environment, downloaded into the cache when found nowhere.
 */
export function realFiles(name: "mnist" | "cifar10"): Promise<Readonly<Record<string, string>>> {
  let p = files.get(name);
  if (p === undefined) {
    p = ensureDatasetFiles(name).then((l) => l.location.chosen.found);
    files.set(name, p);
  }
  return p;
}

/** The real data set, loaded (and verified) from the files `realFiles` finds. */
export async function realDataset(name: "mnist" | "cifar10"): Promise<Dataset> {
  await realFiles(name);
  return loadDataset(name, { download: false });
}

/** A fresh temporary folder; call the returned cleanup when done. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `updates-leak-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Captures the error a promise or function rejects with (fails the test when there is none). */
export async function errorOf(f: () => unknown): Promise<Error> {
  try {
    await f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error, none was thrown");
}
