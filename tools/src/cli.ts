/**
 * `npm run leak -- <subcommand>`: the command line of updates-leak.
 *
 *   leak backend [--backend auto|webgpu|wasm|cpu] [--threads N] [--json]
 *   leak label|reconstruct|distribution|msr --dataset mnist|cifar10|insta-ny [size and run flags]
 *   leak merge --run-dir DIR
 *   leak data fetch|verify|where --dataset mnist|cifar10|insta-ny [--data-dir DIR] [--offline]
 *
 * Exit status: 0 done; 1 failed while working; 2 bad usage (unknown subcommand or flag, a value
 * out of range, a run folder made for another config), reported before anything is written;
 * 3 `merge` found shards missing (`data`: files missing or corrupt is 1); 130 / 143 killed by SIGINT / SIGTERM (finished shards kept).
 *
 * Options are typed by commander (extra-typings); the resolved config is validated by the
 * ExperimentConfig arktype type (resolve-config.ts). Heavy modules (TensorFlow.js, the pipelines)
 * are imported only by the subcommands that need them, so `--help` is instant.
 */
import fs from "node:fs";
import path from "node:path";
import { Command, CommanderError, InvalidArgumentError, Option } from "@commander-js/extra-typings";
import { type AttackName, BACKENDS, DATASETS } from "@updates-leak/attacks/config";
import { EXIT_FAILURE, EXIT_INCOMPLETE, EXIT_OK, EXIT_USAGE, UsageError } from "./errors.ts";
import { defaultModelCacheDir } from "./model-cache.ts";
import { Progress } from "./progress.ts";
import { LIMITS, resolveConfig } from "./resolve-config.ts";
import { RunFolder } from "./run-folder.ts";
import type { ShardSlice } from "./shard-store.ts";

const VERSION = "0.1.0";

/** A strict integer parser for a flag: digits only, inside [lo, hi]. */
function intArg(lo: number, hi: number) {
  return (value: string): number => {
    const v = value.trim().replace(/_/g, "");
    if (!/^\d+$/.test(v) || Number(v) < lo || Number(v) > hi) {
      throw new InvalidArgumentError(`Expected an integer from ${lo} to ${hi}.`);
    }
    return Number(v);
  };
}

/** A comma-separated list of distinct integers in [lo, hi], e.g. `10,50` (`--target-set-sizes`). */
export function intListArg(lo: number, hi: number) {
  const one = intArg(lo, hi);
  return (value: string): number[] => {
    const expected = `Expected a comma-separated list of distinct integers from ${lo} to ${hi}, e.g. 10,50.`;
    const parts = value.split(",");
    const out: number[] = [];
    for (const part of parts) {
      let n: number;
      try {
        n = one(part);
      } catch {
        throw new InvalidArgumentError(`${JSON.stringify(part.trim())} is not one. ${expected}`);
      }
      if (out.includes(n)) throw new InvalidArgumentError(`${n} is given twice. ${expected}`);
      out.push(n);
    }
    return out;
  };
}

/** `--shard K/N`, 1 <= K <= N. */
export function parseShardSlice(value: string): ShardSlice {
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  const part = Number(m?.[1]);
  const of = Number(m?.[2]);
  if (!m || of < 1 || of > 100_000 || part < 1 || part > of) {
    throw new InvalidArgumentError(
      "Expected K/N with 1 <= K <= N <= 100000, e.g. 3/8 (the third of eight parts).",
    );
  }
  return { part, of };
}

const ATTACK_HELP: Record<AttackName, string> = {
  label: "single-sample label inference (A_LI): which label was the model updated with?",
  reconstruct: "single-sample reconstruction (A_SSR): which sample was the model updated with?",
  distribution: "multi-sample label distribution estimation (A_LDE): label histogram of the update set",
  msr: "multi-sample reconstruction (A_MSR, CBM-GAN): the samples of the update set",
};

/** Where the CLI writes: stdout and stderr in production, buffers in tests. */
export interface CliOutput {
  out(text: string): void;
  err(text: string): void;
}

const processOutput: CliOutput = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

interface CliState {
  exitCode: number;
  argv: string[];
  io: CliOutput;
}

function attackCommand(program: Command, name: AttackName, state: CliState): void {
  const lim = (k: keyof typeof LIMITS) => intArg(LIMITS[k][0], LIMITS[k][1]);
  program
    .command(name)
    .description(ATTACK_HELP[name])
    .addOption(new Option("--dataset <name>", "data set").choices(DATASETS).makeOptionMandatory())
    .option("--seed <n>", "root seed of every random stream (default 0)", lim("seed"))
    .option(
      "--shadow-models <n>",
      "updated shadow models, the attack's training set (paper 10000, smoke 300)",
      lim("shadowModels"),
    )
    .option(
      "--target-models <n>",
      "updated target models, the attack's test set (paper 1000, smoke 100)",
      lim("targetModels"),
    )
    .option(
      "--set-size <n>",
      "|D_update| (default 1 for label/reconstruct, 100 for distribution/msr)",
      intArg(1, 1_000_000),
    )
    .option(
      "--target-set-sizes <list>",
      "distribution only: also score the attack (trained on --set-size) on target sets of these sizes, e.g. 10,50 (default none)",
      intListArg(1, 1_000_000),
    )
    .option(
      "--shadow-originals <n>",
      "shadow original models the adversary trains (other seeds, same shadow data); block b of the shadow shards updates copies of the b-th (default 1, the paper's)",
      lim("shadowOriginals"),
    )
    .option("--probe-count <n>", "|D_probe| (default 100)", lim("probeCount"))
    .option("--shard-size <n>", "updated models per shard file (paper 100, smoke 50)", lim("shardSize"))
    .option(
      "--chunk-size <n>",
      "updated models per engine call, 0 = adapt to memory (default 0)",
      lim("chunkSize"),
    )
    .option(
      "--train-epochs <n>",
      "epochs of the original models, 0 = the paper's (default 0, smoke 2)",
      lim("trainEpochs"),
    )
    .option(
      "--attack-epochs <n>",
      "epochs of the attack model (default: label 20, reconstruct 50, distribution 50, msr 10; smoke 20, 20, 20, 2)",
      lim("attackEpochs"),
    )
    .option(
      "--inference-samples <n>",
      "msr only: generated samples per target set before k-means (paper 20000, smoke 2000)",
      lim("inferenceSamples"),
    )
    .option(
      "--eval-targets <n>",
      "msr only: target sets scored, 0 = all (default 0, smoke 10)",
      lim("evalTargets"),
    )
    .addOption(new Option("--backend <name>", "compute backend (default auto)").choices(BACKENDS))
    .option("--threads <n>", "backend threads, 0 = auto (default 0)", lim("threads"))
    .option("--smoke", "small sizes for a quick end-to-end check (flags given explicitly still win)")
    .option(
      "--data-dir <dir>",
      "folder with the data files: the only place searched, downloads go there (default: $UPDATES_LEAK_DATA, ./data, then the cache)",
    )
    .option("--offline", "never download data; a missing file is an error saying how to provide it")
    .option("--runs-dir <dir>", "where new run folders are made", "runs")
    .option(
      "--run-dir <dir>",
      "use this run folder: resume it if it exists (same data settings), else create it",
    )
    .option("--fresh", "with --run-dir: delete its results and shards first")
    .option(
      "--shard <K/N>",
      "generate only shards i with i % N == K-1, then exit (job arrays; needs --run-dir)",
      parseShardSlice,
    )
    .option(
      "--model-cache-dir <dir>",
      "trained original models cache (default <cache>/models; <cache> is $UPDATES_LEAK_CACHE, else $XDG_CACHE_HOME/updates-leak, else ~/.cache/updates-leak)",
      defaultModelCacheDir(),
    )
    .option("--no-model-cache", "do not read or write the model cache")
    .addHelpText(
      "after",
      `
Examples:
  npm run leak -- ${name} --dataset mnist --smoke
  npm run leak -- ${name} --dataset mnist --run-dir runs/${name}-mnist        # resumes if interrupted
  npm run leak -- ${name} --dataset mnist --run-dir /shared/r1 --shard 3/8    # one job of an array of 8
  npm run leak -- merge --run-dir /shared/r1                                 # after all 8 jobs

Writes runs/<UTC time>-${name}-<dataset>/ (or --run-dir): config.json, metrics.jsonl, result.json,
figures/*.png, shards/. Exit status 2 on bad flags (nothing written), 1 on failure.${
        name === "distribution"
          ? `

Update-set-size relaxation (the attack trained on --set-size, also scored on other sizes):
  npm run leak -- distribution --dataset mnist --target-set-sizes 10,50
Each extra size is a target side of its own (shards/target-s10/, ...); the table train size ->
test size with the baselines is in result.json under extra.relaxation.`
          : ""
      }`,
    )
    .action(async (opts) => {
      const config = resolveConfig(name, {
        dataset: opts.dataset,
        seed: opts.seed,
        shadowModels: opts.shadowModels,
        targetModels: opts.targetModels,
        shadowOriginals: opts.shadowOriginals,
        setSize: opts.setSize,
        targetSetSizes: opts.targetSetSizes,
        probeCount: opts.probeCount,
        shardSize: opts.shardSize,
        chunkSize: opts.chunkSize,
        trainEpochs: opts.trainEpochs,
        attackEpochs: opts.attackEpochs,
        inferenceSamples: opts.inferenceSamples,
        evalTargets: opts.evalTargets,
        backend: opts.backend,
        threads: opts.threads,
        smoke: opts.smoke,
      });
      if (
        opts.dataDir !== undefined &&
        !fs.statSync(opts.dataDir, { throwIfNoEntry: false })?.isDirectory()
      ) {
        throw new UsageError(`--data-dir ${path.resolve(opts.dataDir)}: no such folder`);
      }
      if (opts.shard && !opts.runDir)
        throw new UsageError("--shard needs --run-dir (all parts must share one folder)");
      if (opts.shard && opts.fresh) {
        throw new UsageError("--shard cannot be combined with --fresh (it would delete other parts' shards)");
      }
      if (opts.fresh && !opts.runDir)
        throw new UsageError("--fresh needs --run-dir (a new run folder is always fresh)");
      // The run folder check is cheap and writes nothing: report a mismatch before loading anything.
      RunFolder.check(config, { runsDir: opts.runsDir, runDir: opts.runDir, fresh: opts.fresh });
      const { experiment, loadExperimentDataset } = await import("./run-experiment.ts");
      const { selectBackend } = await import("@updates-leak/core");
      const { runAttack } = await import("./run-attack.ts");
      const dataDir = opts.dataDir ? path.resolve(opts.dataDir) : undefined;
      const offline = opts.offline ?? false;
      await runAttack(
        config,
        {
          runsDir: opts.runsDir,
          runDir: opts.runDir,
          fresh: opts.fresh ?? false,
          shard: opts.shard,
          dataDir,
          offline,
          prepareData: (log) =>
            loadExperimentDataset(config, { ...(dataDir ? { dataDir } : {}), offline }, log),
          cacheDir: opts.modelCache === false ? null : path.resolve(opts.modelCacheDir),
          argv: state.argv,
        },
        experiment,
        selectBackend,
        { out: (l) => state.io.out(`${l}\n`), progress: new Progress() },
      );
    });
}

export function buildProgram(state: CliState): Command {
  const program = new Command("leak")
    .description("Updates-Leak (Salem et al., USENIX Security 2020) on TensorFlow.js under Bun")
    .version(VERSION)
    .exitOverride()
    .configureOutput({ writeOut: (t) => state.io.out(t), writeErr: (t) => state.io.err(t) })
    .showHelpAfterError("(add --help for usage)")
    .addHelpText(
      "after",
      "\nExit status: 0 done, 1 failure, 2 bad usage (nothing written), 3 merge found missing shards,\n" +
        "130/143 interrupted by SIGINT/SIGTERM (finished shards kept; rerun with --run-dir to resume).",
    );

  program
    .command("backend")
    .description("select a compute backend and print what was chosen and why")
    .addOption(new Option("--backend <name>", "backend to try").choices(BACKENDS).default("auto" as const))
    .option(
      "--threads <n>",
      "wasm threads, 0 = auto (the core count)",
      intArg(LIMITS.threads[0], LIMITS.threads[1]),
      0,
    )
    .option("--json", "print the report as JSON on stdout")
    .action(async (opts) => {
      const { selectBackend } = await import("@updates-leak/core");
      // Keep stdout clean for --json: whatever the backends print goes to stderr.
      const saved = { log: console.log, info: console.info, warn: console.warn };
      if (opts.json) console.log = console.info = console.warn = (...a: unknown[]) => console.error(...a);
      let report: Awaited<ReturnType<typeof selectBackend>>;
      try {
        report = await selectBackend({
          backend: opts.backend,
          threads: opts.threads === 0 ? undefined : opts.threads,
          quiet: true,
        });
      } finally {
        Object.assign(console, saved);
      }
      if (opts.json) {
        state.io.out(`${JSON.stringify(report, null, 2)}\n`);
        return;
      }
      const line = (t: string) => state.io.out(`${t}\n`);
      line(`${"backend".padEnd(16)} ${report.backend} (${report.reason})`);
      for (const [k, v] of Object.entries(report)) {
        if (k === "backend" || k === "reason" || k === "tried") continue;
        const text = Array.isArray(v) ? v.join(", ") || "none" : v === null ? "none" : String(v);
        line(`${k.padEnd(16)} ${text}`);
      }
      for (const t of report.tried)
        line(`${"tried".padEnd(16)} ${t.backend}: ${t.ok ? "ok" : "failed"} (${t.why})`);
    });

  for (const a of ["label", "reconstruct", "distribution", "msr"] as const) attackCommand(program, a, state);

  program
    .command("merge")
    .description(
      "fold the part manifests of --shard K/N jobs together, verify every shard, report what is missing",
    )
    .requiredOption("--run-dir <dir>", "the run folder the parts shared")
    .action(async (opts) => {
      const { mergeRun, formatMergeReport } = await import("./merge.ts");
      const report = await mergeRun(opts.runDir, (m) => state.io.err(`${m}\n`));
      state.io.out(`${formatMergeReport(report)}\n`);
      if (!report.complete) state.exitCode = EXIT_INCOMPLETE;
    });

  dataCommand(program, state);
  return program;
}

const DATA_DATASETS = ["mnist", "cifar10", "insta-ny"] as const;

/** `leak data fetch|verify|where`: the data files, without running an attack. */
function dataCommand(program: Command, state: CliState): void {
  const data = program
    .command("data")
    .description("find, download and verify the data files (fetch | verify | where)")
    .addHelpText(
      "after",
      `
Data files are looked for in: --data-dir (when given, the only place; downloads go there), else
$UPDATES_LEAK_DATA, ./data, then the cache ($UPDATES_LEAK_CACHE, else $XDG_CACHE_HOME/updates-leak,
else ~/.cache/updates-leak; trained models are kept in its models/ folder). An explicit place that
holds only part of a data set is an error. Exit status 1 when files are missing or corrupt.

Examples:
  npm run leak -- data where --dataset cifar10
  npm run leak -- data fetch --dataset mnist --data-dir /scratch/data   # then --data-dir /scratch/data
  npm run leak -- data verify --dataset mnist`,
    );
  const common = (cmd: Command, what: string) =>
    cmd
      .description(what)
      .addOption(new Option("--dataset <name>", "data set").choices(DATA_DATASETS).makeOptionMandatory())
      .option("--data-dir <dir>", "folder with the data files: the only place searched, downloads go there")
      .option("--offline", "never download");
  const where = (opts: { dataDir?: string | undefined; offline?: true | undefined }) => ({
    ...(opts.dataDir !== undefined ? { dataDir: path.resolve(opts.dataDir) } : {}),
    download: opts.offline ? (false as const) : { log: (m: string) => state.io.err(`${m}\n`) },
  });
  const line = (t: string) => state.io.out(`${t}\n`);

  common(
    data.command("where"),
    "print where each file was found, or what is missing in every place tried",
  ).action(async (opts) => {
    const { whereDataset } = await import("@updates-leak/datasets");
    const r = whereDataset(opts.dataset, where(opts));
    line(r.text);
    if (!r.ok) state.exitCode = EXIT_FAILURE;
  });
  common(
    data.command("verify"),
    "check each file found (structure, published checksums); never downloads",
  ).action(async (opts) => {
    const { verifyDataset } = await import("@updates-leak/datasets");
    const r = await verifyDataset(opts.dataset, where(opts));
    line(r.text);
    if (!r.ok) state.exitCode = EXIT_FAILURE;
  });
  common(
    data.command("fetch"),
    "download the files unless they are found (into --data-dir when given, else the cache), then verify them",
  ).action(async (opts) => {
    const { fetchDataset } = await import("@updates-leak/datasets");
    const r = await fetchDataset(opts.dataset, where(opts));
    if (r.downloadedTo !== undefined) line(`${opts.dataset}: downloaded into ${r.downloadedTo}`);
    line(r.text);
    if (!r.ok) state.exitCode = EXIT_FAILURE;
  });
}

/** Run the CLI on `argv` (without the runtime and script); returns the exit status. */
export async function main(argv: string[], io: CliOutput = processOutput): Promise<number> {
  const state: CliState = { exitCode: EXIT_OK, argv, io };
  const program = buildProgram(state);
  try {
    await program.parseAsync(argv, { from: "user" });
    return state.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has printed its message already.
      // Help and version exit 0; everything else commander reports (including help shown because
      // no subcommand was given) is a usage error.
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (err instanceof UsageError) {
      io.err(`error: ${err.message}\n(add --help for usage)\n`);
      return EXIT_USAGE;
    }
    io.err(`error: ${(err as Error)?.message ?? String(err)}\n`);
    if (process.env.LEAK_DEBUG) io.err(`${(err as Error)?.stack ?? ""}\n`);
    return EXIT_FAILURE;
  }
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  process.exit(code);
}
