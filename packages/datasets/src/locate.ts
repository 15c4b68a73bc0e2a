/**
 * Where data files are looked for, in order:
 *   1. the `dataDir` option (the CLI's --data-dir flag): when given, the ONLY place. It must hold
 *      every needed file, or none (then a download goes there); part of a data set is an error.
 *   2. the UPDATES_LEAK_DATA environment variable: a folder holding part of a data set is an error
 *      naming the variable; one holding none of it passes to the next place;
 *   3. ./data (relative to the working directory),
 *   4. the cache: $UPDATES_LEAK_CACHE, else $XDG_CACHE_HOME/updates-leak, else ~/.cache/updates-leak
 *      (downloads go here when no --data-dir is given; trained models go to its models/ folder).
 * In each place the files may sit in a per-data-set folder (mnist/, cifar10/, cifar-10-batches-bin/,
 * insta-ny/, ...) or directly in the place. The first folder holding every needed file wins (each file
 * raw or .gz). `locateDataset` returns every place tried and what it found, for error messages.
 */

import { existsSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { CIFAR10_TRAIN_FILES, MNIST_FILES } from "./known-files.ts";

export type PlaceSource = "flag" | "env" | "cwd" | "cache";

/** Options of the data-file search (`locateDataset`, `dataPlaces`, `cacheDir`, `downloadTarget`). */
export interface LocateOptions {
  /** The --data-dir flag. */
  readonly dataDir?: string;
  /** Environment (default process.env); tests pass their own. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Directory ./data is relative to (default process.cwd()). */
  readonly cwd?: string;
  /** Overrides the cache location derived from UPDATES_LEAK_CACHE / XDG_CACHE_HOME / the home directory. */
  readonly cacheDir?: string;
}

/** The data sets read from files (the synthetic Insta-NY is generated instead). */
export type FileDataset = "mnist" | "cifar10" | "insta-ny";

export interface FileRole {
  readonly role: string;
  /** Accepted names, in order of preference. */
  readonly names: readonly string[];
}

/**
 * What one place searched holds of a data set: the folder holding every needed file (`dir`), or the
 * files found and missing in its best folder.
 */
export interface PlaceReport {
  readonly source: PlaceSource;
  readonly base: string;
  readonly exists: boolean;
  /** The folder that held every needed file, if any. */
  readonly dir?: string;
  /** Needed files found, role -> path, in the best folder of this place. */
  readonly found: Readonly<Record<string, string>>;
  /** Roles not found in that folder. */
  readonly missing: readonly string[];
}

/** Result of `locateDataset`: every place tried, in order, and the chosen (or partial explicit) place. */
export interface Location {
  readonly dataset: FileDataset;
  readonly tried: readonly PlaceReport[];
  /** The first complete place, or undefined. */
  readonly chosen?: PlaceReport;
  /**
   * Set when an explicit place (--data-dir, or $UPDATES_LEAK_DATA) holds only part of the data set:
   * that place, which is never passed over for another one.
   */
  readonly partial?: PlaceReport;
}

const withGz = (...names: string[]) => names.flatMap((n) => [n, `${n}.gz`]);

/** The files a data set needs. CIFAR-10's test batch is needed only when test records are used. */
export function fileRoles(dataset: FileDataset, opts: { cifar10TestRecords?: number } = {}): FileRole[] {
  switch (dataset) {
    case "mnist":
      return Object.values(MNIST_FILES).map((f) => ({ role: f.role, names: withGz(f.name) }));
    case "cifar10": {
      const roles = CIFAR10_TRAIN_FILES.map((f) => ({ role: f.role, names: withGz(f.name) }));
      if ((opts.cifar10TestRecords ?? 1) > 0) {
        roles.push({ role: "test_batch", names: withGz("test_batch.bin") });
      }
      return roles;
    }
    case "insta-ny":
      return [{ role: "csv", names: withGz("insta-ny.csv", "insta_ny.csv", "ny_withCatId.csv") }];
  }
}

const SUBDIRS: Record<FileDataset, readonly string[]> = {
  mnist: ["mnist", "MNIST/raw", ""],
  cifar10: ["cifar10", "cifar-10-batches-bin", "cifar10/cifar-10-batches-bin", ""],
  "insta-ny": ["insta-ny", "location", ""],
};

/**
 * The cache root, shared by downloaded data (`<root>/mnist`, `<root>/cifar10`) and trained models
 * (`<root>/models`): option, else $UPDATES_LEAK_CACHE, else $XDG_CACHE_HOME/updates-leak, else
 * ~/.cache/updates-leak.
 */
export function cacheDir(opts: LocateOptions = {}): string {
  if (opts.cacheDir !== undefined) return resolve(opts.cacheDir);
  const env = opts.env ?? process.env;
  const own = env.UPDATES_LEAK_CACHE;
  if (own !== undefined && own !== "") return resolve(own);
  const xdg = env.XDG_CACHE_HOME;
  if (xdg !== undefined && xdg !== "") return resolve(xdg, "updates-leak");
  return join(env.HOME && env.HOME !== "" ? env.HOME : homedir(), ".cache", "updates-leak");
}

/**
 * The places searched, in order, with duplicates (same absolute path) removed. A `dataDir` option is
 * the only place searched.
 */
export function dataPlaces(opts: LocateOptions = {}): { source: PlaceSource; base: string }[] {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  if (opts.dataDir !== undefined && opts.dataDir !== "")
    return [{ source: "flag", base: resolve(cwd, opts.dataDir) }];
  const list: { source: PlaceSource; base: string }[] = [];
  const fromEnv = env.UPDATES_LEAK_DATA;
  if (fromEnv !== undefined && fromEnv !== "") list.push({ source: "env", base: resolve(cwd, fromEnv) });
  list.push({ source: "cwd", base: resolve(cwd, "data") });
  list.push({ source: "cache", base: cacheDir(opts) });
  const seen = new Set<string>();
  return list.filter((p) => !seen.has(p.base) && seen.add(p.base));
}

const isFile = (p: string) => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};

function inspectPlace(
  source: PlaceSource,
  base: string,
  dataset: FileDataset,
  roles: FileRole[],
): PlaceReport {
  if (!existsSync(base)) return { source, base, exists: false, found: {}, missing: roles.map((r) => r.role) };
  let best: { dir: string; found: Record<string, string>; missing: string[] } | undefined;
  for (const sub of SUBDIRS[dataset]) {
    const dir = sub === "" ? base : join(base, sub);
    const found: Record<string, string> = {};
    const missing: string[] = [];
    for (const r of roles) {
      const hit = r.names.map((n) => join(dir, n)).find(isFile);
      if (hit === undefined) missing.push(r.role);
      else found[r.role] = hit;
    }
    if (missing.length === 0) return { source, base, exists: true, dir, found, missing };
    if (best === undefined || Object.keys(found).length > Object.keys(best.found).length)
      best = { dir, found, missing };
  }
  return { source, base, exists: true, found: best?.found ?? {}, missing: best?.missing ?? [] };
}

/**
 * Searches the places of `dataPlaces` in order for the files of `dataset` and stops at the first complete
 * one (`chosen`) or at an explicit place (--data-dir, $UPDATES_LEAK_DATA) holding only part of them
 * (`partial`). CIFAR-10's test batch is needed unless `cifar10TestRecords` is 0.
 */
export function locateDataset(
  dataset: FileDataset,
  opts: LocateOptions & { cifar10TestRecords?: number } = {},
): Location {
  const roles = fileRoles(dataset, opts);
  const tried: PlaceReport[] = [];
  for (const p of dataPlaces(opts)) {
    const r = inspectPlace(p.source, p.base, dataset, roles);
    tried.push(r);
    if (r.dir !== undefined) return { dataset, tried, chosen: r };
    // An explicit place holding part of the data set stops the search: never silently use another copy.
    if ((p.source === "flag" || p.source === "env") && Object.keys(r.found).length > 0) {
      return { dataset, tried, partial: r };
    }
  }
  return { dataset, tried };
}

/** Where a download of `dataset` goes: the --data-dir folder when given, else the cache. */
export function downloadTarget(opts: LocateOptions = {}): { source: PlaceSource; dir: string } {
  const cwd = opts.cwd ?? process.cwd();
  if (opts.dataDir !== undefined && opts.dataDir !== "")
    return { source: "flag", dir: resolve(cwd, opts.dataDir) };
  return { source: "cache", dir: cacheDir(opts) };
}

/** The files an explicit place lacks, as full names (for the partial-place error). */
export function missingNames(
  dataset: FileDataset,
  place: PlaceReport,
  opts: { cifar10TestRecords?: number } = {},
): string[] {
  const roles = fileRoles(dataset, opts);
  return place.missing.map((m) => {
    const r = roles.find((x) => x.role === m);
    return r === undefined ? m : r.names.slice(0, 2).join(" or ");
  });
}

const PLACE_LABEL: Record<PlaceSource, string> = {
  flag: "--data-dir",
  env: "$UPDATES_LEAK_DATA",
  cwd: "./data",
  cache: "cache",
};

/** Multi-line description of the places tried, for error messages. */
export function describeLocation(loc: Location): string {
  return loc.tried
    .map((p) => {
      const head = `  ${PLACE_LABEL[p.source].padEnd(18)} ${p.base}`;
      if (!p.exists) return `${head}: does not exist`;
      if (p.dir !== undefined) return `${head}: complete in ${p.dir}`;
      const found = Object.keys(p.found);
      return `${head}: missing ${p.missing.join(", ")}${found.length ? ` (found ${found.join(", ")})` : ""}`;
    })
    .join("\n");
}
