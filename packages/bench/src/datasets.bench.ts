/**
 * Decode benchmark for @updates-leak/datasets (a script, not a timed test). Prints one JSON object:
 * wall-clock ms of loading all of MNIST (70,000 images) and of CIFAR-10 (50,000 training images + the
 * 1,000 test records), with checksums verified and without, the gunzip alternatives on the same files
 * (Bun.gunzipSync, node:zlib gunzipSync, DecompressionStream as the loaders use it), sha256 cost,
 * materialising the full normalised float array, and the synthetic Insta-NY generator.
 *
 * Usage: bun packages/bench/src/datasets.bench.ts [--data-dir DIR] [--repeats N]
 * Each figure is the minimum over N repeats (default 3) and the first run is reported too (on small
 * VMs touching fresh memory is costly, so first runs are slower), with the CPU time of the fastest run
 * (wall clock is inflated when other processes share the cores). Inner spans (materialising x) report
 * CPU time of the whole repeat, load included.
 */

import { availableParallelism, loadavg } from "node:os";
import { gunzipSync as zlibGunzipSync } from "node:zlib";
import {
  instaSyntheticDataset,
  type Location,
  loadCifar10,
  loadMnist,
  locateDataset,
} from "@updates-leak/datasets";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const dataDir = arg("--data-dir");
const repeats = Number(arg("--repeats") ?? 3);

interface Figure {
  /** Wall clock of the first run and the fastest run. */
  readonly firstMs: number;
  readonly minMs: number;
  /** CPU time (user + system, all threads) of the fastest run: a fairer figure on a busy machine. */
  readonly cpuMs: number;
  readonly runs: number;
}

/** Times `f`; when `f` resolves to a number, that number is the measured time (an inner span). */
async function time(f: () => unknown | Promise<unknown>): Promise<Figure> {
  const ms: number[] = [];
  const cpu: number[] = [];
  for (let i = 0; i < repeats; i++) {
    Bun.gc(true);
    const c0 = process.cpuUsage();
    const t = performance.now();
    const inner = await f();
    ms.push(typeof inner === "number" ? inner : performance.now() - t);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  const round = (v: number) => Math.round(v * 10) / 10;
  const best = ms.indexOf(Math.min(...ms));
  return { firstMs: round(ms[0]!), minMs: round(ms[best]!), cpuMs: round(cpu[best]!), runs: ms.length };
}

function need(loc: Location): Readonly<Record<string, string>> {
  if (loc.chosen === undefined) throw new Error(`${loc.dataset}: files not found (use --data-dir)`);
  return loc.chosen.found;
}

async function gunzipVariants(paths: readonly string[]) {
  const files = await Promise.all(paths.map((p) => Bun.file(p).bytes()));
  const raw = files.map((f) => Bun.gunzipSync(f));
  return {
    bunGunzipSync: await time(() => files.map((f) => Bun.gunzipSync(f))),
    zlibGunzipSync: await time(() => files.map((f) => zlibGunzipSync(f))),
    decompressionStream: await time(async () => {
      for (const p of paths) {
        for await (const _ of Bun.file(p).stream().pipeThrough(new DecompressionStream("gzip"))) {
          // consume only
        }
      }
    }),
    sha256OfDecompressed: await time(() =>
      raw.map((r) => new Bun.CryptoHasher("sha256").update(r).digest("hex")),
    ),
    compressedMB: Math.round(files.reduce((a, f) => a + f.length, 0) / 1e5) / 10,
    decompressedMB: Math.round(raw.reduce((a, f) => a + f.length, 0) / 1e5) / 10,
  };
}

const where = dataDir === undefined ? {} : { dataDir };
const m = need(locateDataset("mnist", where));
const mnistPaths = {
  trainImages: m["train-images"]!,
  trainLabels: m["train-labels"]!,
  testImages: m["test-images"]!,
  testLabels: m["test-labels"]!,
};
const c = need(locateDataset("cifar10", where));
const cifarPaths = { train: [1, 2, 3, 4, 5].map((k) => c[`data_batch_${k}`]!), test: c.test_batch! };
const cifarTrainOnly = { train: cifarPaths.train };

const result = {
  benchmark: "datasets-decode",
  machine: {
    cpus: availableParallelism(),
    loadavg1: Math.round(loadavg()[0]! * 100) / 100,
    bun: Bun.version,
    platform: `${process.platform}-${process.arch}`,
  },
  repeats,
  mnist: {
    files: Object.values(mnistPaths),
    loadVerified: await time(() => loadMnist(mnistPaths)),
    loadUnverified: await time(() => loadMnist(mnistPaths, { verifyChecksums: false })),
    gunzip: await gunzipVariants(Object.values(mnistPaths)),
    materialiseX: await time(async () => {
      const ds = await loadMnist(mnistPaths, { verifyChecksums: false });
      const t = performance.now();
      void ds.x;
      return performance.now() - t;
    }),
  },
  cifar10: {
    files: [...cifarPaths.train, cifarPaths.test],
    loadTrain50kVerified: await time(() => loadCifar10(cifarTrainOnly, { testRecords: 0 })),
    loadTrain50kUnverified: await time(() =>
      loadCifar10(cifarTrainOnly, { testRecords: 0, verifyChecksums: false }),
    ),
    loadAll51kVerified: await time(() => loadCifar10(cifarPaths)),
    gunzip: await gunzipVariants(cifarPaths.train),
    materialiseXAfterLoad: await time(async () => {
      const ds = await loadCifar10(cifarTrainOnly, { testRecords: 0, verifyChecksums: false });
      const t = performance.now();
      void ds.x;
      return performance.now() - t;
    }),
  },
  instaSynthetic: { generate20k: await time(() => instaSyntheticDataset()) },
  notes: [
    "load* include reading, inflating, structure checks, label checks and (Verified) sha256 of the decompressed contents",
    "materialise* build the full normalised Float32Array (count x sample floats); loaders keep uint8 pixels",
    "Bun.gunzipSync reads only the first member of a multi-member gzip file; the loaders stream with DecompressionStream",
  ],
};
console.log(JSON.stringify(result, null, 2));
