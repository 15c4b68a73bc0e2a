/**
 * One attack run from a validated config: check the run folder, print the config, find and verify
 * the data (`prepareData`: a data error stops the run before anything is written), select the
 * backend, make the run folder, open the shard stores, record config.json, call the experiment
 * with a RunContext, then write figures and result.json. Under `--shard K/N` only shards are generated and a part record
 * is written; `leak merge` and a later plain run finish the job.
 *
 * The experiment function is a parameter (the CLI passes the pipelines' `runExperiment`, through
 * run-experiment.ts), so this wiring is tested with a small experiment of the tests' own.
 */
import path from "node:path";
import {
  EXPERIMENT_FIELDS,
  type ExperimentConfig,
  type ExperimentField,
  shardCount,
} from "@updates-leak/attacks/config";
import type { ExperimentResult, MetricEvent, RunContext } from "@updates-leak/attacks/context";
import { encodeNpy } from "@updates-leak/core/npy";
import { readJsonIfExists, writeJsonAtomic } from "./atomic.ts";
import { configHash, dataFields, nonDataFields } from "./config-hash.ts";
import { UsageError } from "./errors.ts";
import { renderBarChart, renderImageGrid, slug } from "./figures.ts";
import { FileModelCache } from "./model-cache.ts";
import type { Progress } from "./progress.ts";
import { collectProvenance, type Provenance } from "./provenance.ts";
import { formatConfig } from "./resolve-config.ts";
import { RunFolder, type ShardSide } from "./run-folder.ts";
import { RunLog } from "./run-log.ts";
import { ConfigMismatchError, FileShardStore, type ShardSlice } from "./shard-store.ts";
import { FileTargetResults } from "./target-results.ts";

/**
 * What the CLI adds to `RunContext` (proposed for pipeline/context.ts):
 * - `shardSlice`: under `--shard K/N`, generate only the shards i with i % N === K - 1 on both
 *   sides (both stores also refuse other writes), then return without fitting the attack;
 * - `dataDir`: the `--data-dir` flag, the place to look for data files;
 * - `preparedData`: what `AttackRunOptions.prepareData` returned (the data, loaded and verified);
 * - `trainOnly`: --train-only (msr): generate what is missing and train, score nothing.
 */
export interface CliRunContext extends RunContext {
  shardSlice?: ShardSlice;
  trainOnly?: boolean;
  dataDir?: string;
  preparedData?: unknown;
}

export type ExperimentFn = (config: ExperimentConfig, ctx: RunContext) => Promise<ExperimentResult>;

/** The backend selection used (the CLI passes `selectBackend` of @updates-leak/core). */
export type BackendSelector = (opts: {
  backend: ExperimentConfig["backend"];
  /** undefined: the backend's own default (config threads 0). */
  threads?: number;
  quiet: boolean;
}) => Promise<BackendReportLike>;

/** The part of core's BackendReport the wiring reads; the whole report goes to config.json. */
export interface BackendReportLike {
  backend: string;
  reason: string;
  threads: number;
}

export interface AttackRunOptions {
  runsDir: string;
  runDir?: string;
  fresh?: boolean;
  shard?: ShardSlice;
  /** --train-only (msr): shards and the GANs' training, then exit without scoring or result. */
  trainOnly?: boolean;
  dataDir?: string;
  /** --offline: never download data. Recorded in config.json's invocation. */
  offline?: boolean;
  /**
   * Finds, loads and verifies the data before the run folder is made, so a missing or corrupt file is
   * reported with nothing written; its result reaches the experiment as `ctx.preparedData`.
   */
  prepareData?: (log: (m: string) => void) => Promise<{ readonly fingerprint: DataFingerprint }>;
  /** Model cache folder; null turns the cache off. */
  cacheDir: string | null;
  argv: string[];
  now?: Date;
}

/** The data a run was made from (run-experiment.ts `dataFingerprint`), kept in the folder's data.json. */
export interface DataFingerprint {
  readonly dataset: string;
  readonly records: number;
  readonly labelsSha256: string;
}

const DATA_FILE = "data.json";

/**
 * A run folder resumed on other data (e.g. CIFAR-10 with the whole test batch, where it was made with
 * a partial one) would mix splits: refuse it, naming both, before anything is written.
 */
export function checkRunData(dir: string, fresh: boolean, found: DataFingerprint | undefined): void {
  if (found === undefined || fresh) return;
  const before = readJsonIfExists(path.join(dir, DATA_FILE)) as DataFingerprint | undefined;
  if (before === undefined) return;
  if (before.records === found.records && before.labelsSha256 === found.labelsSha256) return;
  throw new UsageError(
    `${path.join(dir, DATA_FILE)}: this run folder was made from ${before.dataset} with ${before.records} records ` +
      `(labels sha256 ${before.labelsSha256.slice(0, 12)}), but the data found now has ${found.records} records ` +
      `(labels sha256 ${found.labelsSha256.slice(0, 12)}); its splits would differ. Point --data-dir or ` +
      `UPDATES_LEAK_DATA at the same files, or start a new run folder.`,
  );
}

export interface AttackIO {
  /** A line for stdout. */
  out(line: string): void;
  progress: Progress;
}

export interface AttackOutcome {
  dir: string;
  result: ExperimentResult | null;
  figures: string[];
}

function summarize(r: ExperimentResult): string {
  const base = Object.entries(r.baselines)
    .map(([k, v]) => `${k} ${Number(v.toPrecision(4))}`)
    .join(", ");
  return `${r.metric} ${Number(r.value.toPrecision(4))}${base ? ` (baselines: ${base})` : ""}`;
}

export async function runAttack(
  config: ExperimentConfig,
  opts: AttackRunOptions,
  experiment: ExperimentFn,
  selectBackend: BackendSelector,
  terminal: AttackIO,
): Promise<AttackOutcome> {
  // Everything the run prints also goes to its folder's run.log, once the folder exists.
  const runLog = new RunLog();
  const io: AttackIO = {
    out: (line) => {
      terminal.out(line);
      runLog.line(line);
    },
    progress: terminal.progress,
  };
  const unlisten = terminal.progress.listen(runLog.line);
  try {
    return await runAttackSteps(config, opts, experiment, selectBackend, io, runLog);
  } catch (err) {
    runLog.line(`error: ${err instanceof Error ? err.message : String(err)}`);
    throw err;
  } finally {
    unlisten();
  }
}

async function runAttackSteps(
  config: ExperimentConfig,
  opts: AttackRunOptions,
  experiment: ExperimentFn,
  selectBackend: BackendSelector,
  io: AttackIO,
  runLog: RunLog,
): Promise<AttackOutcome> {
  const startedAt = opts.now ?? new Date();
  const t0 = performance.now();
  if (opts.shard && !opts.runDir)
    throw new UsageError("--shard needs --run-dir (all parts must share one folder)");
  if (opts.shard && opts.fresh)
    throw new UsageError("--shard cannot be combined with --fresh (it would delete other parts' shards)");
  checkTrainOnly(config, opts);
  const spec = { runsDir: opts.runsDir, runDir: opts.runDir, fresh: opts.fresh, now: startedAt };
  const planned = RunFolder.check(config, spec); // throws UsageError before anything is written
  printPlan(config, opts, planned, io);

  // Data before anything is written: a missing or corrupt file leaves no run folder behind.
  const preparedData = opts.prepareData ? await opts.prepareData((m) => io.progress.log(m)) : undefined;
  if (planned.exists) checkRunData(planned.dir, opts.fresh ?? false, preparedData?.fingerprint);

  const backend = await selectBackend({
    backend: config.backend,
    threads: config.threads === 0 ? undefined : config.threads,
    quiet: true,
  });
  io.out(`  ${"backend".padEnd(14)} ${backend.backend} (${backend.reason}), ${backend.threads} thread(s)`);

  const folder = RunFolder.prepare(config, spec);
  runLog.open(folder.logFile, `${startedAt.toISOString()} leak ${opts.argv.join(" ")}`.trimEnd());
  const stores = openStores(config, folder, opts.shard, io);
  const provenance = collectProvenance();
  const invocation = {
    argv: opts.argv,
    cwd: process.cwd(),
    startedAt: startedAt.toISOString(),
    resumed: folder.resumed,
    shard: opts.shard ?? null,
    dataDir: opts.dataDir ?? null,
    offline: opts.offline ?? false,
    cacheDir: opts.cacheDir,
  };
  // Parts of a job array share config.json; the first one writes it, each writes its part record.
  if (!opts.shard || !folder.resumed) folder.writeConfig(runRecord(config, backend, provenance, invocation));
  if (preparedData) writeJsonAtomic(path.join(folder.dir, DATA_FILE), preparedData.fingerprint);
  folder.metric({ stage: "run-start", attack: config.attack, dataset: config.dataset, invocation, backend });

  const ctx = runContext(stores, folder, opts, io, preparedData);
  const result = await runExperiment(experiment, config, ctx, folder, io);
  const run: FinishedRun = { config, folder, stores, wallSeconds: (performance.now() - t0) / 1000 };
  if (opts.shard) {
    await finishPart(
      run,
      opts.shard,
      { backend, host: provenance.host, git: provenance.git, invocation },
      io,
      result.extra.targetsScored,
    );
    return { dir: folder.dir, result: null, figures: [] };
  }
  if (opts.trainOnly) {
    folder.metric({ stage: "train-end", wallSeconds: run.wallSeconds });
    folder.close();
    io.out(
      `trained in ${run.wallSeconds.toFixed(1)} s (checkpoints in ${path.join(folder.dir, "checkpoints")}); ` +
        `score the targets with --shard K/N parts, or rerun without --train-only.`,
    );
    return { dir: folder.dir, result: null, figures: [] };
  }
  const figures = finishRun(run, result, startedAt, io);
  return { dir: folder.dir, result, figures };
}

/** --train-only: msr only, and not with --shard (parts never train). */
function checkTrainOnly(config: ExperimentConfig, opts: AttackRunOptions): void {
  if (!opts.trainOnly) return;
  if (config.attack !== "msr")
    throw new UsageError(`--train-only applies to msr (its GANs), not ${config.attack}`);
  if (opts.shard)
    throw new UsageError(
      "--train-only cannot be combined with --shard (parts never train; they score once it is done)",
    );
}

/** What the run will do, before anything is written; the resume command is said up front. */
function printPlan(
  config: ExperimentConfig,
  opts: AttackRunOptions,
  planned: { dir: string; exists: boolean },
  io: AttackIO,
): void {
  io.out(`updates-leak ${config.attack} on ${config.dataset}${config.smoke ? " (smoke size)" : ""}`);
  io.out(formatConfig(config));
  io.out(`  ${"run folder".padEnd(14)} ${planned.dir}${planned.exists && !opts.fresh ? " (resume)" : ""}`);
  // No signal handlers: SIGINT/SIGTERM/SIGKILL end the process at once, which is safe (every shard
  // and record is written atomically, a resume verifies them). A JS handler would not be: it runs
  // only when the event loop turns, which the compute loops (awaiting resolved promises) never let
  // happen, so Ctrl-C was swallowed until the run ended. Hence the resume command is said up front.
  io.out(
    `  ${"to resume".padEnd(14)} npm run leak -- ${config.attack} --dataset ${config.dataset} --run-dir ${planned.dir} (same flags)`,
  );
  if (opts.shard) {
    const what =
      config.attack === "msr"
        ? "generate shards; score targets once the GANs are trained"
        : "generate shards only";
    io.out(`  ${"shard part".padEnd(14)} ${opts.shard.part}/${opts.shard.of} (${what})`);
  }
  if (opts.trainOnly) io.out(`  ${"train only".padEnd(14)} generate shards and train, score nothing`);
}

/** The run's shard stores, all made for the config hash. */
interface RunStores {
  hash: string;
  shadowStore: FileShardStore;
  targetStore: FileShardStore;
  /** A_LDE relaxation: the target store of an extra set size, opened on first use and kept. */
  extraTargetStore(setSize: number): FileShardStore;
}

/** Open the shadow and target stores (and one per --target-set-sizes size); a mismatch is a UsageError. */
function openStores(
  config: ExperimentConfig,
  folder: RunFolder,
  slice: ShardSlice | undefined,
  io: AttackIO,
): RunStores {
  const hash = configHash(config);
  const fields = dataFields(config);
  const open = (side: ShardSide, role: "shadow" | "target") => {
    try {
      const dir = folder.shardsDir(side);
      return FileShardStore.open({
        dir,
        role,
        configHash: hash,
        config: fields,
        slice,
        onWarn: (m) => io.progress.log(m),
      });
    } catch (err) {
      if (err instanceof ConfigMismatchError) throw new UsageError(err.message);
      throw err;
    }
  };
  const shadowStore = open("shadow", "shadow");
  const targetStore = open("target", "target");
  // One target store per extra set size, the same slice as the main stores, kept so that
  // generation and the attack share it.
  const extraStores = new Map<number, FileShardStore>();
  const extraTargetStore = (n: number): FileShardStore => {
    let store = extraStores.get(n);
    if (!store) {
      store = open(`target-s${n}`, "target");
      extraStores.set(n, store);
    }
    return store;
  };
  for (const n of config.targetSetSizes) extraTargetStore(n); // a mismatch is a usage error, up front
  return { hash, shadowStore, targetStore, extraTargetStore };
}

/**
 * config.json's record (less its `format`): the config, its hash, which fields are data, the
 * seeds, the backend, provenance and this invocation. `fields` is the table the config is made of.
 */
export function runRecord(
  config: ExperimentConfig,
  backend: BackendReportLike,
  provenance: object,
  invocation: object,
  fields: readonly ExperimentField[] = EXPERIMENT_FIELDS,
): Record<string, unknown> {
  return {
    attack: config.attack,
    dataset: config.dataset,
    config,
    configHash: configHash(config, fields),
    dataFields: Object.keys(dataFields(config, fields)),
    nonDataFields: nonDataFields(fields),
    seeds: { seed: config.seed, derivation: "every random stream is Rng(seed).fork(...) of this seed" },
    backend,
    ...provenance,
    invocation,
  };
}

/**
 * The RunContext the experiment gets: stores, metrics, progress, model cache, checkpoints (files in
 * the run folder), slice, prepared data.
 */
function runContext(
  stores: RunStores,
  folder: RunFolder,
  opts: AttackRunOptions,
  io: AttackIO,
  preparedData: unknown,
): CliRunContext {
  return {
    shadowStore: stores.shadowStore,
    targetStore: stores.targetStore,
    extraTargetStore: stores.extraTargetStore,
    metric: (e: MetricEvent) => folder.metric(e),
    progress: (stage, done, total) => io.progress.update(stage, done, total),
    log: (m) => io.progress.log(m),
    ...(opts.cacheDir !== null
      ? { modelCache: new FileModelCache({ dir: opts.cacheDir, onWarn: (m) => io.progress.log(m) }) }
      : {}),
    checkpoints: {
      load: (name) => folder.readCheckpoint(name),
      save: (name, bytes) => folder.writeCheckpoint(name, bytes),
      where: (name) => folder.checkpointFile(name),
    },
    targetResults: new FileTargetResults(folder.dir, stores.hash, opts.shard),
    ...(opts.shard ? { shardSlice: opts.shard } : {}),
    ...(opts.trainOnly ? { trainOnly: true } : {}),
    ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
    ...(preparedData !== undefined ? { preparedData } : {}),
  };
}

/** Call the experiment; on failure record a run-error metric (never hiding the error) and rethrow. */
async function runExperiment(
  experiment: ExperimentFn,
  config: ExperimentConfig,
  ctx: CliRunContext,
  folder: RunFolder,
  io: AttackIO,
): Promise<ExperimentResult> {
  let result: ExperimentResult;
  try {
    result = await experiment(config, ctx);
  } catch (err) {
    io.progress.endBar();
    try {
      // May fail too (a full disk): never let it hide the original error.
      folder.metric({ stage: "run-error", message: (err as Error)?.message ?? String(err) });
      folder.close();
    } catch {
      // the original error is the one to report
    }
    throw err;
  }
  io.progress.endBar();
  return result;
}

interface FinishedRun {
  config: ExperimentConfig;
  folder: RunFolder;
  stores: RunStores;
  wallSeconds: number;
}

/** Who ran a part, for its record. */
interface PartAbout extends Pick<Provenance, "host" | "git"> {
  backend: BackendReportLike;
  invocation: object;
}

/** Under --shard K/N: the part record, and what to do when all parts are done. */
async function finishPart(
  run: FinishedRun,
  slice: ShardSlice,
  about: PartAbout,
  io: AttackIO,
  targetsScored: unknown,
): Promise<void> {
  const { config, folder, stores, wallSeconds } = run;
  const shadowDone = (await stores.shadowStore.completed()).size;
  const targetDone = (await stores.targetStore.completed()).size;
  const { backend, host, git, invocation } = about;
  const rel = folder.writePart(slice, {
    part: slice,
    configHash: stores.hash,
    backend,
    host,
    git,
    invocation,
    wallSeconds,
    shardsVisible: { shadow: shadowDone, target: targetDone },
    ...(targetsScored !== undefined ? { targetsScored } : {}),
  });
  folder.metric({ stage: "part-end", part: slice, wallSeconds });
  folder.close();
  io.out(
    `part ${slice.part}/${slice.of} done in ${wallSeconds.toFixed(1)} s (${rel}); shards now visible: ` +
      `shadow ${shadowDone}/${shardCount(config.shadowModels, config.shardSize)}, target ${targetDone}/${shardCount(config.targetModels, config.shardSize)}.`,
  );
  io.out(
    `when all parts are done: npm run leak -- merge --run-dir ${folder.dir}, then rerun without --shard to fit the attack.`,
  );
}

/** A whole run: the figures, result.json, the run-end metric and the summary. Returns the figure files. */
function finishRun(run: FinishedRun, result: ExperimentResult, startedAt: Date, io: AttackIO): string[] {
  const { config, folder, stores, wallSeconds } = run;
  const figures = writeFigures(folder, result);
  const predictions = writePredictions(folder, result);
  folder.writeResult({
    attack: result.attack,
    dataset: result.dataset,
    seed: config.seed,
    metric: result.metric,
    value: result.value,
    baselines: result.baselines,
    extra: result.extra,
    counts: result.counts,
    timingsSeconds: { ...result.timingsSeconds, wall: wallSeconds },
    figures: { bars: figures.bars, grids: figures.grids },
    ...(predictions ? { predictions } : {}),
    configHash: stores.hash,
    config,
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
  });
  folder.metric({ stage: "run-end", metric: result.metric, value: result.value, wallSeconds });
  folder.close();
  io.out(`result: ${summarize(result)}`);
  io.out(
    `wrote ${folder.resultFile}${figures.files.length ? ` and ${figures.files.length} figure(s) in ${folder.dir}/figures` : ""}`,
  );
  return figures.files;
}

/** predictions/<name>.npy for each of the result's prediction arrays, and their entries in result.json. */
function writePredictions(folder: RunFolder, result: ExperimentResult) {
  if (!result.predictions || result.predictions.length === 0) return null;
  return Object.fromEntries(
    result.predictions.map((p) => [
      p.name,
      {
        file: folder.writePrediction(`${p.name}.npy`, encodeNpy(p.data, p.shape)),
        dtype: p.data instanceof Float32Array ? "float32" : "int32",
        shape: p.shape,
        doc: p.doc,
      },
    ]),
  );
}

/** figures/*.png from the result's bar charts and image grids, and their entries in result.json. */
function writeFigures(folder: RunFolder, result: ExperimentResult) {
  const files: string[] = [];
  const bars = (result.figures?.bars ?? []).map((b, i) => {
    const file = folder.writeFigure(`bar-${i + 1}-${slug(b.title)}.png`, renderBarChart(b));
    files.push(file);
    return { title: b.title, metric: b.metric, better: b.better, bars: b.bars, file };
  });
  const grids = (result.figures?.grids ?? []).map((g, i) => {
    const file = folder.writeFigure(`grid-${i + 1}-${slug(g.title)}.png`, renderImageGrid(g));
    files.push(file);
    return {
      title: g.title,
      rowLabels: g.rowLabels,
      shape: g.shape,
      images: g.rows.map((r) => r.length),
      file,
    };
  });
  return { files, bars, grids };
}
