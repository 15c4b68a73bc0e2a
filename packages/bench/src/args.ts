/**
 * Command line of the bench CLI (see README.md):
 *   bench [suite ...] [--json] [--smoke] [--backends LIST] [--repeats N] [--out FILE] [--no-save]
 *         [--data-dir DIR] [--full] [--paper]
 *   bench compare A B [--file FILE] [--run ID] [--suite NAME] [--json]
 * Errors name the flag and what it accepts.
 */
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

export const USAGE = `usage:
  npm run bench -- [suite ...] [options]        suites: ${SUITES.join(" | ")} | all (default: all)
  npm run bench -- compare A B [options]        A, B: two results files, or two backends of one file

run options:
  --json              JSON lines on stdout (one record each), logs on stderr
  --smoke             tiny sizes, 2 runs per case: checks that every suite works, in seconds;
                      results are not appended anywhere unless --out is given
  --backends LIST     backends to run, e.g. wasm:1,wasm:2,cpu,webgpu (default: per suite)
  --repeats N         timed runs per case at most (default 10, within a 1.5 s budget per case)
  --out FILE          append results to FILE (default bench/results/<host>.jsonl)
  --no-save           append results nowhere
  --data-dir DIR      where MNIST / CIFAR-10 files are (data and pipeline suites)
  --full              train suite: train the paper's epochs instead of extrapolating from one
  --paper             pipeline suite: A_LI at paper scale (10,000 + 1,000 models, 25 epochs; long)
compare options:
  --file FILE         the results file for a backend comparison (default bench/results/<host>.jsonl)
  --run ID            the run to compare backends in (default: the latest run holding both)
  --suite NAME        only this suite
  --json              rows as JSON lines`;

function value(argv: readonly string[], i: number, flag: string, what: string): string {
  const v = argv[i + 1];
  if (v === undefined || v.startsWith("--")) throw new UsageError(`${flag} needs a value: ${what}`);
  return v;
}

function suiteName(s: string, flag: string): SuiteName {
  if (!(SUITES as readonly string[]).includes(s)) {
    throw new UsageError(`${flag}: unknown suite '${s}'; expected one of ${SUITES.join(", ")} or all`);
  }
  return s as SuiteName;
}

function parseCompare(argv: readonly string[]): CompareCommand {
  const pos: string[] = [];
  const cmd: CompareCommand = {
    command: "compare",
    a: "",
    b: "",
    file: null,
    run: null,
    suite: null,
    json: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--json") cmd.json = true;
    else if (a === "--file") cmd.file = value(argv, i++, a, "a results file (.jsonl)");
    else if (a === "--run") cmd.run = value(argv, i++, a, "a runId from the results file");
    else if (a === "--suite") cmd.suite = suiteName(value(argv, i++, a, SUITES.join(" | ")), a);
    else if (a.startsWith("--")) throw new UsageError(`compare: unknown option ${a}\n${USAGE}`);
    else pos.push(a);
  }
  if (pos.length !== 2) {
    throw new UsageError(
      `compare needs exactly two arguments (two results files or two backends), got ${pos.length}`,
    );
  }
  [cmd.a, cmd.b] = pos as [string, string];
  return cmd;
}

export function parseArgs(argv: readonly string[]): Command {
  if (argv.includes("--help") || argv.includes("-h") || argv[0] === "help") return { command: "help" };
  if (argv[0] === "compare") return parseCompare(argv.slice(1));
  const cmd: RunCommand = {
    command: "run",
    suites: [],
    json: false,
    smoke: false,
    backends: null,
    repeats: null,
    dataDir: null,
    full: false,
    paper: false,
    out: "default",
  };
  let out: string | null = null;
  let noSave = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case "--json":
        cmd.json = true;
        break;
      case "--smoke":
        cmd.smoke = true;
        break;
      case "--full":
        cmd.full = true;
        break;
      case "--paper":
        cmd.paper = true;
        break;
      case "--no-save":
        noSave = true;
        break;
      case "--backends":
        try {
          cmd.backends = parseVariants(value(argv, i++, a, "e.g. wasm:1,wasm:2,cpu,webgpu"), a);
        } catch (err) {
          throw new UsageError((err as Error).message);
        }
        break;
      case "--repeats": {
        const v = value(argv, i++, a, "an integer >= 1");
        const n = Number(v);
        if (!Number.isInteger(n) || n < 1)
          throw new UsageError(`--repeats: expected an integer >= 1, got '${v}'`);
        cmd.repeats = n;
        break;
      }
      case "--out":
        out = value(argv, i++, a, "a file to append JSON lines to");
        break;
      case "--data-dir":
        cmd.dataDir = value(argv, i++, a, "a folder holding the MNIST / CIFAR-10 files");
        break;
      default:
        if (a.startsWith("-")) throw new UsageError(`unknown option ${a}\n${USAGE}`);
        if (a === "all") cmd.suites.push(...SUITES);
        else cmd.suites.push(suiteName(a, "suite"));
    }
  }
  if (out !== null && noSave) throw new UsageError("--out and --no-save exclude each other");
  if (cmd.suites.length === 0) cmd.suites.push(...SUITES);
  cmd.suites = SUITES.filter((s) => cmd.suites.includes(s));
  cmd.out = out ?? (noSave || cmd.smoke ? null : "default");
  return cmd;
}
