/**
 * What `leak data where|verify|fetch` report, per file: where each file of a data set was found (or
 * what is missing, with every place tried), and whether each file found passes its checks (structure,
 * labels, the published sha256 or a recognised prefix's). The CLI prints these and exits non-zero when
 * something is missing or corrupt.
 */

import { decodeCifarBatch } from "./cifar10.ts";
import { DataError } from "./errors.ts";
import { loadInstaCsv } from "./insta-csv.ts";
import {
  CIFAR10_TEST_FILE,
  CIFAR10_TEST_FIRST1000_FILE,
  CIFAR10_TRAIN_FILES,
  MNIST_FILES,
} from "./known-files.ts";
import { ensureDatasetFiles, howToProvide, type LoadOptions, partialPlaceError } from "./load.ts";
import { describeLocation, type FileDataset, fileRoles, type Location, locateDataset } from "./locate.ts";
import { decodeMnistFile } from "./mnist.ts";

/** Result of `whereDataset`: the search result and its printable text (`text`, several lines). */
export interface WhereReport {
  readonly dataset: FileDataset;
  readonly location: Location;
  /** Every needed file was found in one place, and no explicit place was partial. */
  readonly ok: boolean;
  readonly text: string;
}

/** Where each file of `dataset` is (the chosen place), or what is missing in every place tried. */
export function whereDataset(dataset: FileDataset, opts: LoadOptions = {}): WhereReport {
  const location = locateDataset(dataset, opts);
  const lines = [`${dataset}: places tried, in order:`, describeLocation(location)];
  if (location.chosen !== undefined) {
    lines.push(`${dataset}: using ${location.chosen.dir}`);
    for (const [role, file] of Object.entries(location.chosen.found))
      lines.push(`  ${role.padEnd(14)} ${file}`);
    return { dataset, location, ok: true, text: lines.join("\n") };
  }
  if (location.partial !== undefined) lines.push(partialPlaceError(location, opts).message);
  else lines.push(`${dataset}: not found. ${howToProvide(dataset)}`);
  return { dataset, location, ok: false, text: lines.join("\n") };
}

/** One file checked by `verifyDataset`: its role, its path, and whether it passed. */
export interface FileCheck {
  readonly role: string;
  readonly path: string;
  readonly ok: boolean;
  /** "checksum ok", "structure only (partial ...)", or the error. */
  readonly detail: string;
}

/**
 * Result of `verifyDataset`: every file checked and the printable text; `ok` only when no explicit
 * place is partial and every file passed.
 */
export interface VerifyReport {
  readonly dataset: FileDataset;
  readonly location: Location;
  readonly files: readonly FileCheck[];
  readonly ok: boolean;
  readonly text: string;
}

async function checkFile(
  dataset: FileDataset,
  role: string,
  path: string,
  opts: LoadOptions,
): Promise<FileCheck> {
  try {
    if (dataset === "mnist") {
      const known = Object.values(MNIST_FILES).find((k) => k.role === role)!;
      const part = await decodeMnistFile(path, known, true);
      return { role, path, ok: true, detail: `checksum ok (${part.count.toLocaleString("en-US")} records)` };
    }
    if (dataset === "cifar10") {
      const candidates =
        role === "test_batch"
          ? [CIFAR10_TEST_FILE, CIFAR10_TEST_FIRST1000_FILE]
          : [CIFAR10_TRAIN_FILES.find((k) => k.role === role)!];
      const none = { pixels: new Uint8Array(0), labels: new Uint8Array(0), at: 0, limit: 0 };
      const b = await decodeCifarBatch(path, role, candidates, true, none);
      const n = b.records.toLocaleString("en-US");
      const what =
        b.report.verification === "checksum"
          ? "checksum ok"
          : "structure ok, no published checksum for this size";
      return { role, path, ok: true, detail: `${what} (${n} records${b.report.partial ? ", partial" : ""})` };
    }
    const ds = await loadInstaCsv(path, opts.insta);
    return {
      role,
      path,
      ok: true,
      detail: `structure ok (${ds.count} records; no published checksum exists)`,
    };
  } catch (e) {
    return { role, path, ok: false, detail: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * Checks every file found of `dataset` in the place the search chooses (or, when an explicit place is
 * partial, the files it holds). Never downloads.
 */
export async function verifyDataset(dataset: FileDataset, opts: LoadOptions = {}): Promise<VerifyReport> {
  const location = locateDataset(dataset, opts);
  const place = location.chosen ?? location.partial;
  const files: FileCheck[] = [];
  const lines: string[] = [];
  if (place === undefined) {
    lines.push(
      `${dataset}: nothing to verify, no files found. Places tried, in order:`,
      describeLocation(location),
    );
    lines.push(howToProvide(dataset));
    return { dataset, location, files, ok: false, text: lines.join("\n") };
  }
  for (const r of fileRoles(dataset, opts)) {
    const path = place.found[r.role];
    if (path === undefined) continue;
    const c = await checkFile(dataset, r.role, path, opts);
    files.push(c);
    lines.push(
      `  ${c.ok ? "ok  " : "BAD "} ${r.role.padEnd(14)} ${c.ok ? `${path}: ${c.detail}` : c.detail}`,
    );
  }
  if (location.partial !== undefined) lines.push(partialPlaceError(location, opts).message);
  const ok = location.partial === undefined && files.every((f) => f.ok);
  lines.unshift(
    `${dataset}: ${ok ? "all files verified" : "verification FAILED"} in ${place.dir ?? place.base}`,
  );
  return { dataset, location, files, ok, text: lines.join("\n") };
}

/**
 * Makes sure the files of MNIST or CIFAR-10 are present (downloading them unless `download` is false),
 * then verifies them. Insta-NY cannot be fetched (no public copy).
 */
export async function fetchDataset(
  dataset: FileDataset,
  opts: LoadOptions = {},
): Promise<VerifyReport & { downloadedTo?: string }> {
  if (dataset === "insta-ny") {
    throw new DataError(`insta-ny: no public copy exists, nothing to download. ${howToProvide("insta-ny")}`);
  }
  const got = await ensureDatasetFiles(dataset, opts);
  const report = await verifyDataset(dataset, opts);
  return got.downloadedTo === undefined ? report : { ...report, downloadedTo: got.downloadedTo };
}
