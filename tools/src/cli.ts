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
 * 3 `merge` found shards missing (`data`: files missing or corrupt is 1); 130 / 143 killed by
 * SIGINT / SIGTERM (finished shards kept).
 *
 * The attack subcommands' flags are derived from the table of experiment fields and the run flags'
 * table (options.ts); the resolved config is validated by the ExperimentConfig arktype type
 * (resolve-config.ts). Heavy modules (TensorFlow.js, the pipelines) are imported only by the
 * subcommands that need them, so `--help` is instant.
 */
import fs from "node:fs";
import path from "node:path";
import { Command, CommanderError, Option } from "@commander-js/extra-typings";
import { ATTACKS, type AttackName, BACKENDS, type DatasetName } from "@updates-leak/attacks/config";
import { writeFileAtomic } from "./atomic.ts";
import { EXIT_FAILURE, EXIT_INCOMPLETE, EXIT_OK, EXIT_USAGE, UsageError } from "./errors.ts";
import {
  dataOptions,
  experimentFlags,
  experimentOptions,
  intArg,
  type RunFlags,
  runOptions,
} from "./options.ts";
import { Progress } from "./progress.ts";
import { LIMITS, resolveConfig } from "./resolve-config.ts";
import { RunFolder } from "./run-folder.ts";

const VERSION = "0.1.0";

export { intArg, intListArg, parseShardSlice } from "./options.ts";

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

/** The examples and notes after an attack subcommand's flags in its help. */
function attackHelpAfter(name: AttackName): string {
  const relaxation = `

Update-set-size relaxation (the attack trained on --set-size, also scored on other sizes):
  npm run leak -- distribution --dataset mnist --target-set-sizes 10,50
Each extra size is a target side of its own (shards/target-s10/, ...); the table train size ->
test size with the baselines is in result.json under extra.relaxation.`;
  return `
Examples:
  npm run leak -- ${name} --dataset mnist --smoke
  npm run leak -- ${name} --dataset mnist --run-dir runs/${name}-mnist        # resumes if interrupted
  npm run leak -- ${name} --dataset mnist --run-dir /shared/r1 --shard 3/8    # one job of an array of 8
  npm run leak -- merge --run-dir /shared/r1                                 # after all 8 jobs

Writes runs/<UTC time>-${name}-<dataset>/ (or --run-dir): config.json, metrics.jsonl, result.json,
figures/*.png, shards/. Exit status 2 on bad flags (nothing written), 1 on failure.${name === "distribution" ? relaxation : ""}`;
}

/** The run flags that only make sense together, and --data-dir's folder. */
function checkRunFlags(run: RunFlags): void {
  if (run.dataDir !== undefined && !fs.statSync(run.dataDir, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UsageError(`--data-dir ${path.resolve(run.dataDir)}: no such folder`);
  }
  if (run.shard && !run.runDir)
    throw new UsageError("--shard needs --run-dir (all parts must share one folder)");
  if (run.shard && run.fresh) {
    throw new UsageError("--shard cannot be combined with --fresh (it would delete other parts' shards)");
  }
  if (run.fresh && !run.runDir)
    throw new UsageError("--fresh needs --run-dir (a new run folder is always fresh)");
  if (run.trainOnly && run.shard) {
    throw new UsageError(
      "--train-only cannot be combined with --shard (parts never train; they score once it is done)",
    );
  }
}

/** The pipelines and the data loader, loaded only by a run (so `--help` stays instant). */
function loadPipelines(): Promise<typeof import("./run-experiment.ts")> {
  return import("./run-experiment.ts");
}

/** An attack subcommand's action: resolve the config, check the flags and run folder, then run. */
async function runAttackCommand(name: AttackName, opts: Record<string, unknown>, state: CliState) {
  const config = resolveConfig(name, experimentFlags(opts));
  const run = opts as unknown as RunFlags;
  checkRunFlags(run);
  // The run folder check is cheap and writes nothing: report a mismatch before loading anything.
  RunFolder.check(config, { runsDir: run.runsDir, runDir: run.runDir, fresh: run.fresh });
  const { experiment, loadExperimentDataset } = await loadPipelines();
  const { selectBackend } = await import("@updates-leak/core");
  const { runAttack } = await import("./run-attack.ts");
  const dataDir = run.dataDir ? path.resolve(run.dataDir) : undefined;
  const offline = run.offline ?? false;
  // --json: stdout holds result.json alone, as its last line; the usual lines go to stderr.
  const line = run.json ? (l: string) => state.io.err(`${l}\n`) : (l: string) => state.io.out(`${l}\n`);
  const outcome = await runAttack(
    config,
    {
      runsDir: run.runsDir,
      runDir: run.runDir,
      fresh: run.fresh ?? false,
      shard: run.shard,
      trainOnly: run.trainOnly ?? false,
      dataDir,
      offline,
      prepareData: (log) => loadExperimentDataset(config, { ...(dataDir ? { dataDir } : {}), offline }, log),
      cacheDir: run.modelCache === false ? null : path.resolve(run.cacheDir ?? run.modelCacheDir),
      argv: state.argv,
    },
    experiment,
    selectBackend,
    { out: line, progress: new Progress() },
  );
  if (run.json && outcome.result !== null) {
    state.io.out(
      `${JSON.stringify(JSON.parse(fs.readFileSync(path.join(outcome.dir, "result.json"), "utf8")))}\n`,
    );
  }
}

function attackCommand(program: Command, name: AttackName, state: CliState): void {
  const command = program.command(name).description(ATTACK_HELP[name]);
  for (const option of [...experimentOptions(name), ...runOptions()]) command.addOption(option);
  command
    .addHelpText("after", attackHelpAfter(name))
    .action((opts) => runAttackCommand(name, opts as Record<string, unknown>, state));
}

/** `leak backend`: select a compute backend and print the report. */
function backendCommand(program: Command, state: CliState): void {
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
        const threads = opts.threads === 0 ? undefined : opts.threads;
        report = await selectBackend({ backend: opts.backend, threads, quiet: true });
      } finally {
        Object.assign(console, saved);
      }
      if (opts.json) state.io.out(`${JSON.stringify(report, null, 2)}\n`);
      else printBackendReport(report, (t) => state.io.out(`${t}\n`));
    });
}

/** The backend report as aligned `key  value` lines. */
function printBackendReport(
  report: Awaited<ReturnType<typeof import("@updates-leak/core").selectBackend>>,
  line: (text: string) => void,
): void {
  line(`${"backend".padEnd(16)} ${report.backend} (${report.reason})`);
  for (const [k, v] of Object.entries(report)) {
    if (k === "backend" || k === "reason" || k === "tried") continue;
    const text = Array.isArray(v) ? v.join(", ") || "none" : v === null ? "none" : String(v);
    line(`${k.padEnd(16)} ${text}`);
  }
  for (const t of report.tried)
    line(`${"tried".padEnd(16)} ${t.backend}: ${t.ok ? "ok" : "failed"} (${t.why})`);
}

/** `leak report`: one row per setting over run folders, the metric's mean ± sd over seeds. */
function reportCommand(program: Command, state: CliState): void {
  program
    .command("report")
    .description("one row per setting over run folders: the metric's mean ± sd over seeds, and n")
    .argument("<runs...>", "run folders, or folders holding run folders")
    .option("--json", "print the rows as JSON (values, seeds, run folders) instead of a Markdown table")
    .option("--html <file>", "also write the report as one HTML file with its figures, which opens offline")
    .addHelpText(
      "after",
      "\nExample:\n  npm run leak -- report runs/label-mnist-s0 runs/label-mnist-s1 runs/label-mnist-s2 --html report.html",
    )
    .action(async (runs: string[], opts: { json?: boolean; html?: string }) => {
      const { readSample, reportMarkdown, reportRows, runFolders } = await import("./report.ts");
      const samples = runFolders(runs).map(readSample);
      const rows = reportRows(samples);
      if (opts.html) {
        const { reportHtml } = await import("./html-report.ts");
        writeFileAtomic(opts.html, reportHtml(samples));
      }
      state.io.out(`${opts.json ? JSON.stringify(rows, null, 2) : reportMarkdown(rows)}\n`);
      if (opts.html && !opts.json) state.io.err(`wrote ${opts.html}\n`);
    });
}

/** `leak merge`: fold the parts of a job array together. */
function mergeCommand(program: Command, state: CliState): void {
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
  backendCommand(program, state);
  for (const a of ATTACKS) attackCommand(program, a, state);
  mergeCommand(program, state);
  reportCommand(program, state);
  dataCommand(program, state);
  return program;
}

const DATA_HELP_AFTER = `
Data files are looked for in: --data-dir (when given, the only place; downloads go there), else
$UPDATES_LEAK_DATA, ./data, then the cache ($UPDATES_LEAK_CACHE, else $XDG_CACHE_HOME/updates-leak,
else ~/.cache/updates-leak; trained models are kept in its models/ folder). An explicit place that
holds only part of a data set is an error. Exit status 1 when files are missing or corrupt.

Examples:
  npm run leak -- data where --dataset cifar10
  npm run leak -- data fetch --dataset mnist --data-dir /scratch/data   # then --data-dir /scratch/data
  npm run leak -- data verify --dataset mnist`;

/** What a `data` subcommand does with the data set and where to look: `ok` false exits 1. */
type DataAction = (
  dataset: DatasetName,
  where: { dataDir?: string; download: false | { log: (m: string) => void } },
  line: (text: string) => void,
) => Promise<{ ok: boolean; text: string }>;

const DATA_ACTIONS: [name: string, description: string, action: DataAction][] = [
  [
    "where",
    "print where each file was found, or what is missing in every place tried",
    async (dataset, where) => (await import("@updates-leak/datasets")).whereDataset(dataset, where),
  ],
  [
    "verify",
    "check each file found (structure, published checksums); never downloads",
    async (dataset, where) => (await import("@updates-leak/datasets")).verifyDataset(dataset, where),
  ],
  [
    "fetch",
    "download the files unless they are found (into --data-dir when given, else the cache), then verify them",
    async (dataset, where, line) => {
      const r = await (await import("@updates-leak/datasets")).fetchDataset(dataset, where);
      if (r.downloadedTo !== undefined) line(`${dataset}: downloaded into ${r.downloadedTo}`);
      return r;
    },
  ],
];

/** `leak data fetch|verify|where`: the data files, without running an attack. */
function dataCommand(program: Command, state: CliState): void {
  const data = program
    .command("data")
    .description("find, download and verify the data files (fetch | verify | where)")
    .addHelpText("after", DATA_HELP_AFTER);
  const line = (t: string) => state.io.out(`${t}\n`);
  for (const [name, description, action] of DATA_ACTIONS) {
    const command = data.command(name).description(description);
    for (const option of dataOptions()) command.addOption(option);
    command.action(async (opts) => {
      const { dataset, dataDir, offline } = opts as { dataset: DatasetName } & Pick<
        RunFlags,
        "dataDir" | "offline"
      >;
      const where = {
        ...(dataDir !== undefined ? { dataDir: path.resolve(dataDir) } : {}),
        download: offline ? (false as const) : { log: (m: string) => state.io.err(`${m}\n`) },
      };
      const r = await action(dataset, where, line);
      line(r.text);
      if (!r.ok) state.exitCode = EXIT_FAILURE;
    });
  }
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
