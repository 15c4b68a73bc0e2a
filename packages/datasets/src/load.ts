/**
 * `loadDataset(name, opts)`: the entry point. Finds the files (see locate.ts), downloads MNIST or
 * CIFAR-10 (into the --data-dir folder when one is given, else the cache) when they are found nowhere
 * and downloading is allowed, decodes and verifies them; or generates the synthetic Insta-NY set.
 * Errors list every place tried and say how to provide the data.
 */

import { type Cifar10Options, loadCifar10 } from "./cifar10.ts";
import { type DownloadOptions, downloadCifar10, downloadMnist } from "./download.ts";
import { DataError } from "./errors.ts";
import { type InstaCsvOptions, loadInstaCsv } from "./insta-csv.ts";
import { type InstaSyntheticOptions, instaSyntheticDataset } from "./insta-synthetic.ts";
import {
  describeLocation,
  downloadTarget,
  type FileDataset,
  type LocateOptions,
  type Location,
  locateDataset,
  missingNames,
} from "./locate.ts";
import { loadMnist } from "./mnist.ts";
import type { Dataset, DatasetName } from "./types.ts";
import { DATASET_NAMES } from "./types.ts";

/**
 * Options of `loadDataset`, `ensureDatasetFiles`, `whereDataset`, `verifyDataset` and `fetchDataset`:
 * where to look, downloading, checksum verification and per-data-set options. All optional.
 */
export interface LoadOptions extends LocateOptions {
  /** Compare file contents with published checksums (default true). */
  readonly verifyChecksums?: boolean;
  /**
   * Download missing MNIST/CIFAR-10 files (default true) into the `dataDir` folder when one is given,
   * else the cache; `false` is the CLI's --offline. An object sets URLs etc.
   */
  readonly download?: boolean | DownloadOptions;
  /** At most this many CIFAR-10 test records after the 50,000 training images (default: all found). */
  readonly cifar10TestRecords?: Cifar10Options["testRecords"];
  /** Insta-NY CSV: an explicit path (skips the search) and parsing options. */
  readonly insta?: InstaCsvOptions & { readonly csvPath?: string };
  /** Synthetic Insta-NY generator options (seed, count). */
  readonly synthetic?: InstaSyntheticOptions;
}

/** How a user provides the files of `dataset` (ends every not-found error). */
export function howToProvide(dataset: FileDataset): string {
  if (dataset === "insta-ny") {
    return (
      "To provide it: put insta-ny.csv (168 features + label; no public copy exists) in a folder and " +
      'set UPDATES_LEAK_DATA to it or pass --data-dir, or use the data set "insta-ny-synthetic".'
    );
  }
  return (
    "To provide the data: set UPDATES_LEAK_DATA to a folder holding the files, pass --data-dir DIR, " +
    `or download them with \`npm run leak -- data fetch --dataset ${dataset}\`.`
  );
}

function notFound(loc: Location, extra: string): DataError {
  return new DataError(
    `${loc.dataset}: data files not found. Places tried, in order:\n${describeLocation(loc)}${extra}\n` +
      howToProvide(loc.dataset),
  );
}

/**
 * The error for an explicit place (--data-dir, or $UPDATES_LEAK_DATA) that holds only part of a data
 * set: it names the missing files and is never passed over for a copy elsewhere.
 */
export function partialPlaceError(loc: Location, opts: { cifar10TestRecords?: number } = {}): DataError {
  const p = loc.partial!;
  const what = p.source === "flag" ? `--data-dir ${p.base}` : `UPDATES_LEAK_DATA=${p.base}`;
  const found = Object.entries(p.found)
    .map(([, f]) => f)
    .join(", ");
  const rule =
    p.source === "flag"
      ? "--data-dir is the only place searched when it is given"
      : "a folder named by UPDATES_LEAK_DATA that holds part of a data set is never passed over for another copy";
  return new DataError(
    `${loc.dataset}: ${what} holds only part of the data set: missing ${missingNames(loc.dataset, p, opts).join(", ")} ` +
      `(found ${found}). Add the missing files, or point ${p.source === "flag" ? "--data-dir" : "UPDATES_LEAK_DATA"} ` +
      `at a complete folder (${rule}).`,
  );
}

/** Result of `ensureDatasetFiles`: where the files are, and where they were downloaded to, if they were. */
export interface Located {
  readonly location: Location;
  /** Where files were downloaded to, when they were. */
  readonly downloadedTo?: string;
}

/**
 * Finds the files of MNIST or CIFAR-10, downloading them when they are found nowhere and downloading is
 * allowed. Throws a DataError when an explicit place is partial, or nothing complete is found.
 */
export async function ensureDatasetFiles(
  name: "mnist" | "cifar10",
  opts: LoadOptions = {},
): Promise<Located & { location: Location & { chosen: NonNullable<Location["chosen"]> } }> {
  const locOpts = { ...opts, cifar10TestRecords: opts.cifar10TestRecords };
  let loc = locateDataset(name, locOpts);
  if (loc.partial !== undefined) throw partialPlaceError(loc, locOpts);
  if (loc.chosen !== undefined) return { location: { ...loc, chosen: loc.chosen } };
  if (opts.download === false) throw notFound(loc, "\nDownloading is turned off (--offline).");
  const dl = typeof opts.download === "object" ? opts.download : {};
  const target = downloadTarget(opts).dir;
  try {
    if (name === "mnist") await downloadMnist(target, dl);
    else await downloadCifar10(target, dl);
  } catch (e) {
    throw notFound(loc, `\nDownload into ${target} failed: ${e instanceof Error ? e.message : String(e)}`);
  }
  loc = locateDataset(name, locOpts);
  if (loc.chosen === undefined) throw notFound(loc, `\nThe download into ${target} left files missing.`);
  return { location: { ...loc, chosen: loc.chosen }, downloadedTo: target };
}

/**
 * Loads data set `name`: finds its files (downloading MNIST or CIFAR-10 when found nowhere, unless
 * `download` is false), decodes and verifies them; or generates "insta-ny-synthetic". Throws a
 * DataError for an unknown name, files not found (listing every place tried), an explicit place
 * holding only part of the files, or a bad file.
 */
export async function loadDataset(name: DatasetName, opts: LoadOptions = {}): Promise<Dataset> {
  if (!DATASET_NAMES.includes(name)) {
    throw new DataError(`unknown data set "${name}", expected one of ${DATASET_NAMES.join(", ")}`);
  }
  if (name === "insta-ny-synthetic") return instaSyntheticDataset(opts.synthetic);
  const decode = { verifyChecksums: opts.verifyChecksums ?? true };
  if (name === "insta-ny") {
    const explicit = opts.insta?.csvPath;
    if (explicit !== undefined) return loadInstaCsv(explicit, opts.insta);
    const loc = locateDataset("insta-ny", opts);
    if (loc.partial !== undefined) throw partialPlaceError(loc);
    if (loc.chosen === undefined)
      throw notFound(loc, "\nInsta-NY has no public copy and cannot be downloaded.");
    return loadInstaCsv(loc.chosen.found.csv!, opts.insta);
  }
  const { location: loc } = await ensureDatasetFiles(name, opts);
  const f = loc.chosen.found;
  if (name === "mnist") {
    return loadMnist(
      {
        trainImages: f["train-images"]!,
        trainLabels: f["train-labels"]!,
        testImages: f["test-images"]!,
        testLabels: f["test-labels"]!,
      },
      decode,
    );
  }
  return loadCifar10(
    {
      train: [1, 2, 3, 4, 5].map((k) => f[`data_batch_${k}`]!),
      ...(f.test_batch === undefined ? {} : { test: f.test_batch }),
    },
    { ...decode, ...(opts.cifar10TestRecords === undefined ? {} : { testRecords: opts.cifar10TestRecords }) },
  );
}
