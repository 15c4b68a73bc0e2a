/**
 * The one place where the CLI reaches the pipelines of @updates-leak/attacks and the data of
 * @updates-leak/datasets. The CLI loads this file with a dynamic import only for the attack
 * subcommands, so `--help`, `backend` and `merge` work (and start fast) whatever state the
 * pipelines are in.
 *
 * Data: MNIST and CIFAR-10 from the data-directory search order (--data-dir alone when given;
 * downloaded unless --offline), loaded and verified by `loadExperimentDataset` BEFORE the run folder is
 * made (run-attack.ts `prepareData`), so a data error leaves nothing behind. Insta-NY:
 * an insta-ny.csv if one is found, else the seeded SYNTHETIC stand-in, said so in the log and
 * in metrics.jsonl. Splits: `makeSplits(dataset, { seed: config.seed, probeSize: max(100, probes) })`.
 * Insta-NY's features are then standardised with the statistics of the adversary's side (the
 * shadow training set and update pool) only: the target side must not shape what the adversary
 * sees (`standardiseOn`).
 * Under --shard K/N `generateShards` runs (its selection is 0-based: part K - 1 of N), then, for
 * msr once every shard is there and the GANs are trained, the part's share of the targets is scored
 * (`scoreTargetsPart`). With --train-only (msr) the shards and the GANs' training, no scoring.
 */

import { createHash } from "node:crypto";
import {
  type ExperimentData,
  generateShards,
  runExperiment,
  scoreTargetsPart,
  trainAttackOnly,
} from "@updates-leak/attacks";
import type { ExperimentConfig } from "@updates-leak/attacks/config";
import type { ExperimentResult, RunContext } from "@updates-leak/attacks/context";
import { loadDataset, locateDataset, makeSplits, type Splits, standardiseOn } from "@updates-leak/datasets";
import { UsageError } from "./errors.ts";
import type { CliRunContext, DataFingerprint, ExperimentFn } from "./run-attack.ts";

/** The adversary's records of a split: the shadow side's training set then its update pool. */
export function adversaryRows(splits: Pick<Splits, "shadow">): Int32Array {
  const rows = new Int32Array(splits.shadow.train.length + splits.shadow.pool.length);
  rows.set(splits.shadow.train);
  rows.set(splits.shadow.pool, splits.shadow.train.length);
  return rows;
}

export interface PreparedData {
  readonly dataset: Awaited<ReturnType<typeof loadDataset>>;
  readonly seconds: number;
  /** What the run's shards depend on: written to the run folder's data.json, checked on resume. */
  readonly fingerprint: DataFingerprint;
}

/**
 * The data a run's splits and shards were made from: the data set, its record count (CIFAR-10's
 * depends on the test batch found) and a digest of the labels in order.
 */
export function dataFingerprint(dataset: PreparedData["dataset"]): DataFingerprint {
  const labelsSha256 = createHash("sha256").update(dataset.labels).digest("hex");
  return { dataset: dataset.name, records: dataset.count, labelsSha256 };
}

/**
 * The updating sets must fit the update pool of the data actually found (a partial CIFAR-10 test
 * batch or a real Insta-NY CSV gives a smaller pool than resolve-config's limit): a UsageError,
 * before the run folder is made.
 */
function checkSetSizesFit(config: ExperimentConfig, dataset: PreparedData["dataset"]): void {
  const splits = makeSplits(dataset, { seed: config.seed, probeSize: Math.max(100, config.probeCount) });
  const pool = Math.min(splits.shadow.pool.length, splits.target.pool.length);
  for (const [flag, n] of [
    ["--set-size", config.setSize] as const,
    ...config.targetSetSizes.map((n) => ["--target-set-sizes", n] as const),
  ]) {
    if (n > pool) {
      throw new UsageError(
        `${flag} ${n} is larger than the update pool of the ${dataset.name} data found (${dataset.count} records, ${pool} per side); allowed: 1 to ${pool}`,
      );
    }
  }
}

/** Finds (downloading unless `offline`), loads and verifies the config's data set; throws a DataError. */
export async function loadExperimentDataset(
  config: ExperimentConfig,
  opts: { dataDir?: string; offline?: boolean },
  log: (m: string) => void,
): Promise<PreparedData> {
  const t0 = performance.now();
  const where = {
    ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
    ...(opts.offline ? { download: false as const } : {}),
  };
  let dataset: Awaited<ReturnType<typeof loadDataset>>;
  const insta = config.dataset === "insta-ny" ? locateDataset("insta-ny", where) : undefined;
  if (insta !== undefined && insta.chosen === undefined && insta.partial === undefined) {
    log("insta-ny: no insta-ny.csv found; using the SYNTHETIC Insta-NY stand-in (insta-ny-synthetic)");
    dataset = await loadDataset("insta-ny-synthetic");
  } else {
    dataset = await loadDataset(config.dataset, where);
  }
  for (const w of dataset.warnings) log(`${dataset.name}: ${w}`);
  checkSetSizesFit(config, dataset);
  return { dataset, seconds: (performance.now() - t0) / 1000, fingerprint: dataFingerprint(dataset) };
}

export async function loadExperimentData(
  config: ExperimentConfig,
  ctx: CliRunContext,
): Promise<ExperimentData> {
  const prepared =
    (ctx.preparedData as PreparedData | undefined) ??
    (await loadExperimentDataset(config, { ...(ctx.dataDir ? { dataDir: ctx.dataDir } : {}) }, ctx.log));
  const t0 = performance.now() - prepared.seconds * 1000;
  let { dataset } = prepared;
  const splits = makeSplits(dataset, { seed: config.seed, probeSize: Math.max(100, config.probeCount) });
  if (dataset.reconSpace === "standardised") {
    dataset = standardiseOn(dataset, adversaryRows(splits), "the shadow side: training set and update pool");
  }
  ctx.metric({
    stage: "data",
    dataset: dataset.name,
    source: dataset.source,
    count: dataset.count,
    warnings: dataset.warnings,
    probe: splits.probe.length,
    trainPerSide: splits.target.train.length,
    poolPerSide: splits.target.pool.length,
    normalization: dataset.normalization.description,
    seconds: (performance.now() - t0) / 1000,
  });
  return { dataset, splits };
}

export const experiment: ExperimentFn = async (
  config: ExperimentConfig,
  ctx: RunContext,
): Promise<ExperimentResult> => {
  const cli = ctx as CliRunContext;
  const data = await loadExperimentData(config, cli);
  if (cli.trainOnly) {
    await trainAttackOnly(config, ctx, data);
    return {
      attack: config.attack,
      dataset: config.dataset,
      metric: "none (training only)",
      value: Number.NaN,
      baselines: {},
      extra: {},
      counts: {},
      timingsSeconds: {},
      figures: { bars: [], grids: [] },
    };
  }
  if (!cli.shardSlice) return runExperiment(config, ctx, data);
  const select = { part: cli.shardSlice.part - 1, of: cli.shardSlice.of };
  const gen = await generateShards(config, ctx, data, select);
  const scored = await scoreTargetsPart(config, ctx, data, select);
  return {
    attack: config.attack,
    dataset: config.dataset,
    metric: "none (shards only)",
    value: Number.NaN,
    baselines: {},
    extra: { originals: gen.originals, ...(scored ? { targetsScored: scored } : {}) },
    counts: gen.counts,
    timingsSeconds: gen.timings,
    figures: { bars: [], grids: [] },
  };
};
