/**
 * `loadDataset(name, opts)`: the entry point. Finds the files (see locate.ts), downloads MNIST or
 * CIFAR-10 into the cache when they are found nowhere and downloading is allowed, decodes and verifies
 * them; or generates the synthetic Insta-NY set. Errors list every place tried.
 */

import { type Cifar10Options, loadCifar10 } from "./cifar10.ts";
import { type DownloadOptions, downloadCifar10, downloadMnist } from "./download.ts";
import { DataError } from "./errors.ts";
import { type InstaCsvOptions, loadInstaCsv } from "./insta-csv.ts";
import { type InstaSyntheticOptions, instaSyntheticDataset } from "./insta-synthetic.ts";
import { cacheDir, describeLocation, type LocateOptions, type Location, locateDataset } from "./locate.ts";
import { loadMnist } from "./mnist.ts";
import type { Dataset, DatasetName } from "./types.ts";
import { DATASET_NAMES } from "./types.ts";

export interface LoadOptions extends LocateOptions {
  /** Compare file contents with published checksums (default true). */
  readonly verifyChecksums?: boolean;
  /** Download missing MNIST/CIFAR-10 files into the cache (default true); an object sets URLs etc. */
  readonly download?: boolean | DownloadOptions;
  /** CIFAR-10 test records appended to the 50,000 training images (default 1,000). */
  readonly cifar10TestRecords?: Cifar10Options["testRecords"];
  /** Insta-NY CSV: an explicit path (skips the search) and parsing options. */
  readonly insta?: InstaCsvOptions & { readonly csvPath?: string };
  /** Synthetic Insta-NY generator options (seed, count). */
  readonly synthetic?: InstaSyntheticOptions;
}

function notFound(loc: Location, extra: string): DataError {
  return new DataError(
    `${loc.dataset}: data files not found. Places tried, in order:\n${describeLocation(loc)}${extra}`,
  );
}

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
    if (loc.chosen === undefined) {
      throw notFound(
        loc,
        "\nInsta-NY has no public copy and cannot be downloaded; supply insta-ny.csv (168 features + label) " +
          'or use the data set "insta-ny-synthetic".',
      );
    }
    return loadInstaCsv(loc.chosen.found.csv!, opts.insta);
  }
  const locOpts = { ...opts, cifar10TestRecords: opts.cifar10TestRecords };
  let loc = locateDataset(name, locOpts);
  if (loc.chosen === undefined) {
    if (opts.download === false) throw notFound(loc, "\nDownloading is turned off.");
    const dl = typeof opts.download === "object" ? opts.download : {};
    const cache = cacheDir(opts);
    try {
      if (name === "mnist") await downloadMnist(cache, dl);
      else await downloadCifar10(cache, dl);
    } catch (e) {
      throw notFound(loc, `\nDownload into ${cache} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    loc = locateDataset(name, locOpts);
    if (loc.chosen === undefined) throw notFound(loc, `\nThe download into ${cache} left files missing.`);
  }
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
