/**
 * Command line of the bench CLI (see README.md), parsed by commander like `leak`'s:
 *   bench [suite ...] [--json] [--smoke] [--backends LIST] [--repeats N] [--out FILE] [--no-save]
 *         [--data-dir DIR] [--full] [--paper]
 *   bench compare A B [--file FILE] [--run ID] [--suite NAME] [--json]
 * Errors name the flag and what it accepts; `--help` (or `help`) prints commander's help.
 */
import { CommanderError, InvalidArgumentError, Command as Program } from "@commander-js/extra-typings";
import { SUITES, type SuiteName } from "./record.ts";
import type { BenchOptions } from "./suites/context.ts";
import { parseVariants } from "./variants.ts";

export class UsageError extends Error {
  override name = "UsageError";
}

export interface RunCommand extends BenchOptions {
  command: "run";
  suites: SuiteName[];
  json: boolean;
  /** Where records are appended: --out, else the default file, null for none (--no-save, --smoke). */
  out: string | null | "default";
}

export interface CompareCommand {
  command: "compare";
  a: string;
  b: string;
  file: string | null;
  run: string | null;
  suite: SuiteName | null;
  json: boolean;
}

export type Command = RunCommand | CompareCommand | { command: "help" };

/** Parser errors omit the flag: commander's message names it ("option '--x <v>' argument ..."). */
function suiteName(s: string): SuiteName {
  if (!(SUITES as readonly string[]).includes(s)) {
    throw new InvalidArgumentError(`unknown suite '${s}'; expected one of ${SUITES.join(", ")} or all`);
  }
  return s as SuiteName;
}

function suiteArg(s: string, previous: SuiteName[] | undefined): SuiteName[] {
  const prev = previous ?? [];
  return s === "all" ? [...prev, ...SUITES] : [...prev, suiteName(s)];
}

function backendsArg(text: string): BenchOptions["backends"] {
  try {
    return parseVariants(text, "--backends");
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message.replace(/^--backends: /, ""));
  }
}

function repeatsArg(v: string): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`expected an integer >= 1, got '${v}'`);
  return n;
}

const AFTER_HELP = `
Suites run in this order whatever order they are given in; 'all' (the default) is every suite.
--smoke runs tiny sizes, 2 runs per case, and saves nowhere unless --out is given.
Exit status: 0 done, 1 failure, 2 bad usage.`;

/**
 * The commander program; `done` receives the parsed command. Help text goes to `out`; errors are
 * thrown (commander's exitOverride), never printed here.
 */
export function buildProgram(done: (cmd: Command) => void, out: (text: string) => void) {
  const program = new Program("bench")
    .description("benchmarks of the kernels, the update engine, training, data loading and the pipeline")
    .exitOverride()
    .helpCommand(true)
    .configureOutput({ writeOut: out, writeErr: () => {} })
    .addHelpText("after", AFTER_HELP)
    .argument("[suites...]", `suites: ${SUITES.join(" | ")} | all (default: all)`, suiteArg)
    .option("--json", "JSON lines on stdout (one record each), logs on stderr")
    .option("--smoke", "tiny sizes, 2 runs per case: checks that every suite works, in seconds")
    .option(
      "--backends <list>",
      "backends to run, e.g. wasm:1,wasm:2,cpu,webgpu (default: per suite)",
      backendsArg,
    )
    .option(
      "--repeats <n>",
      "timed runs per case at most (default 10, within a 1.5 s budget per case)",
      repeatsArg,
    )
    .option("--out <file>", "append results to FILE (default bench/results/<host>.jsonl)")
    .option("--no-save", "append results nowhere")
    .option("--data-dir <dir>", "where MNIST / CIFAR-10 files are (data and pipeline suites)")
    .option("--full", "train suite: train the paper's epochs instead of extrapolating from one")
    .option("--paper", "pipeline suite: A_LI at paper scale (10,000 + 1,000 models, 25 epochs; long)")
    .action((suites, o) => {
      if (o.out !== undefined && o.save === false)
        throw new UsageError("--out and --no-save exclude each other");
      const smoke = o.smoke ?? false;
      const chosen = suites.length === 0 ? [...SUITES] : suites;
      done({
        command: "run",
        suites: SUITES.filter((s) => chosen.includes(s)),
        json: o.json ?? false,
        smoke,
        backends: o.backends ?? null,
        repeats: o.repeats ?? null,
        dataDir: o.dataDir ?? null,
        full: o.full ?? false,
        paper: o.paper ?? false,
        out: o.out ?? (o.save === false || smoke ? null : "default"),
      });
    });
  program
    .command("compare")
    .description("compare two results files, or two backends of one results file")
    .argument("[what...]", "A B: two results files, or two backends of one file")
    .option("--file <file>", "the results file for a backend comparison (default bench/results/<host>.jsonl)")
    .option("--run <id>", "the run to compare backends in (default: the latest run holding both)")
    .option("--suite <name>", "only this suite", (s: string) => suiteName(s))
    .option("--json", "rows as JSON lines")
    .action((what, o) => {
      if (what.length !== 2) {
        throw new UsageError(
          `compare needs exactly two arguments (two results files or two backends), got ${what.length}`,
        );
      }
      done({
        command: "compare",
        a: what[0]!,
        b: what[1]!,
        file: o.file ?? null,
        run: o.run ?? null,
        suite: o.suite ?? null,
        json: o.json ?? false,
      });
    });
  return program;
}

/**
 * Parses the bench command line (without the runtime and script). Help is printed to `out` and
 * returned as { command: "help" }; every other problem throws a UsageError naming the flag.
 */
export function parseArgs(
  argv: readonly string[],
  out: (text: string) => void = (t) => process.stdout.write(t),
): Command {
  let cmd: Command | null = null;
  try {
    buildProgram((c) => {
      cmd = c;
    }, out).parse([...argv], { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return { command: "help" };
      throw new UsageError(err.message.replace(/^error: /, ""));
    }
    throw err;
  }
  // A bare `help` or `--help` ends in commander's help (the CommanderError above).
  if (cmd === null) return { command: "help" };
  return cmd;
}
