/**
 * Decode benchmark for @updates-leak/datasets (the `data` suite of the bench CLI, and a script):
 * wall-clock ms of loading all of MNIST (70,000 images) and of CIFAR-10 (50,000 training images +
 * the 1,000 test records), with checksums verified and without, the gunzip alternatives on the same
 * files (Bun's gunzipSync under Bun, node:zlib gunzipSync, DecompressionStream as the loaders use it), sha256
 * cost, materialising the full normalised float array, and the synthetic Insta-NY generator.
 *
 * Script: npx bun packages/bench/src/datasets.bench.ts [--data-dir DIR] [--repeats N]  (prints JSON)
 * Each figure: one first run reported apart (on small VMs touching fresh memory is costly, so first
 * runs are slower), then N timed runs (default 2) summarised as median / min / max, with the median
 * CPU time (wall clock is inflated when other processes share the cores). Inner spans
 * (materialising x) report CPU time of the whole repeat, load included. A data set whose files are
 * not found is reported as skipped, with the places tried.
 */

import { loadavg } from "node:os";
import { gunzipSync as zlibGunzipSync } from "node:zlib";
import { bun, fileStream, hashHex, readBytes, runtimeVersion } from "@updates-leak/core/platform";
import {
  describeLocation,
  instaSyntheticDataset,
  type Location,
  loadCifar10,
  loadMnist,
  locateDataset,
} from "@updates-leak/datasets";
import { measure } from "./measure.ts";
import type { Spread } from "./stats.ts";

export interface DecodeOptions {
  dataDir?: string;
  /** Timed runs per figure after the first (default 2). */
  repeats?: number;
  /** Only the cheap figures (MNIST unverified load, 2,000 synthetic Insta-NY records). */
  smoke?: boolean;
}

/** One measured figure: what was done (`count` items) and its timing. */
export interface DecodeFigure {
  name: string;
  dataset: "mnist" | "cifar10" | "insta-ny-synthetic";
  /** Samples produced per run (0 for gunzip/sha256 figures, which work on bytes). */
  count: number;
  /** Megabytes read (compressed) and produced (decompressed), where files are involved. */
  compressedMB?: number;
  decompressedMB?: number;
  timing: Spread;
}

export interface DecodeResult {
  figures: DecodeFigure[];
  /** Data sets not measured, with the reason. */
  skipped: { dataset: string; reason: string }[];
  notes: string[];
}

export const DECODE_NOTES = [
  "load* include reading, inflating, structure checks, label checks and (verified) sha256 of the decompressed contents",
  "materialise* build the full normalised Float32Array (count x sample floats); loaders keep uint8 pixels",
  "Bun's gunzipSync (measured under Bun only) reads only the first member of a multi-member gzip file; the loaders stream with DecompressionStream",
];

function found(loc: Location): Readonly<Record<string, string>> | string {
  if (loc.chosen === undefined)
    return `files not found (use --data-dir); places tried:\n${describeLocation(loc)}`;
  return loc.chosen.found;
}

function mb(bytes: number): number {
  return Math.round(bytes / 1e5) / 10;
}

export async function datasetsDecode(opts: DecodeOptions = {}): Promise<DecodeResult> {
  const repeats = opts.repeats ?? 2;
  const policy = { minRuns: repeats, maxRuns: repeats, budgetMs: 0 };
  const time = (f: () => unknown) =>
    measure(async () => {
      bun?.gc(true);
      return await f();
    }, policy);
  const where = opts.dataDir === undefined ? {} : { dataDir: opts.dataDir };
  const figures: DecodeFigure[] = [];
  const skipped: DecodeResult["skipped"] = [];

  async function gunzipFigures(dataset: "mnist" | "cifar10", paths: readonly string[]): Promise<void> {
    const files = await Promise.all(paths.map((p) => readBytes(p)));
    const raw = files.map((f) => zlibGunzipSync(f));
    const sizes = {
      compressedMB: mb(files.reduce((a, f) => a + f.length, 0)),
      decompressedMB: mb(raw.reduce((a, f) => a + f.length, 0)),
    };
    const add = async (name: string, f: () => unknown) =>
      figures.push({ name, dataset, count: 0, ...sizes, timing: await time(f) });
    if (bun !== null) {
      const b = bun;
      await add("gunzip Bun.gunzipSync", () => files.map((f) => b.gunzipSync(f)));
    }
    await add("gunzip node:zlib gunzipSync", () => files.map((f) => zlibGunzipSync(f)));
    await add("gunzip DecompressionStream", async () => {
      for (const p of paths) {
        for await (const _ of fileStream(p).pipeThrough(new DecompressionStream("gzip"))) {
          // consume only
        }
      }
    });
    await add("sha256 of decompressed", () => raw.map((r) => hashHex("sha256", r)));
  }

  const m = found(locateDataset("mnist", where));
  if (typeof m === "string") skipped.push({ dataset: "mnist", reason: m });
  else {
    const paths = {
      trainImages: m["train-images"]!,
      trainLabels: m["train-labels"]!,
      testImages: m["test-images"]!,
      testLabels: m["test-labels"]!,
    };
    const add = async (name: string, f: () => unknown) =>
      figures.push({ name, dataset: "mnist", count: 70_000, timing: await time(f) });
    await add("load unverified", () => loadMnist(paths, { verifyChecksums: false }));
    if (!opts.smoke) {
      await add("load verified", () => loadMnist(paths));
      await add("materialise x", async () => {
        const ds = await loadMnist(paths, { verifyChecksums: false });
        const t = performance.now();
        void ds.x;
        return performance.now() - t;
      });
      await gunzipFigures("mnist", Object.values(paths));
    }
  }

  if (!opts.smoke) {
    const c = found(locateDataset("cifar10", where));
    if (typeof c === "string") skipped.push({ dataset: "cifar10", reason: c });
    else {
      const train = [1, 2, 3, 4, 5].map((k) => c[`data_batch_${k}`]!);
      const trainOnly = { train };
      const add = async (name: string, count: number, f: () => unknown) =>
        figures.push({ name, dataset: "cifar10", count, timing: await time(f) });
      await add("load train 50k verified", 50_000, () => loadCifar10(trainOnly, { testRecords: 0 }));
      await add("load train 50k unverified", 50_000, () =>
        loadCifar10(trainOnly, { testRecords: 0, verifyChecksums: false }),
      );
      if (c.test_batch !== undefined) {
        const all = { train, test: c.test_batch };
        await add("load all 51k verified", 51_000, () => loadCifar10(all));
      }
      await add("materialise x after load", 50_000, async () => {
        const ds = await loadCifar10(trainOnly, { testRecords: 0, verifyChecksums: false });
        const t = performance.now();
        void ds.x;
        return performance.now() - t;
      });
      await gunzipFigures("cifar10", train);
    }
  }

  const count = opts.smoke ? 2_000 : 20_000;
  figures.push({
    name: `generate ${count}`,
    dataset: "insta-ny-synthetic",
    count,
    timing: await time(() => instaSyntheticDataset({ count })),
  });
  return { figures, skipped, notes: DECODE_NOTES };
}

if (import.meta.main) {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const repeats = Number(arg("--repeats") ?? 2);
  if (!Number.isInteger(repeats) || repeats < 1) {
    throw new Error(`--repeats: expected an integer >= 1, got '${arg("--repeats")}'`);
  }
  const dataDir = arg("--data-dir");
  const result = await datasetsDecode({ repeats, ...(dataDir === undefined ? {} : { dataDir }) });
  const out = {
    benchmark: "datasets-decode",
    machine: {
      loadavg1: Math.round(loadavg()[0]! * 100) / 100,
      runtime: runtimeVersion(),
      platform: `${process.platform}-${process.arch}`,
    },
    repeats,
    ...result,
  };
  console.log(JSON.stringify(out, null, 2));
}
