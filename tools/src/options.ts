/**
 * The attack subcommands' flags, declared once each: the experiment fields' flags are derived from
 * the table of fields (@updates-leak/attacks' fields.ts), the run flags (where to read and write,
 * not what to compute) from `RUN_FLAGS` below. A subcommand lists only the flags of its attack;
 * the other attacks' flags are hidden options, so that giving one says which attack it is for.
 */
import { InvalidArgumentError, Option } from "@commander-js/extra-typings";
import {
  type AttackName,
  appliesTo,
  defaultOf,
  EXPERIMENT_FIELDS,
  type ExperimentField,
  flagOf,
} from "@updates-leak/attacks/config";
import { defaultModelCacheDir } from "./model-cache.ts";
import type { ConfigFlags } from "./resolve-config.ts";
import type { ShardSlice } from "./shard-store.ts";

/** A strict integer parser for a flag: digits only, inside [lo, hi]. */
export function intArg(lo: number, hi: number) {
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
    const out: number[] = [];
    for (const part of value.split(",")) {
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

/** A default as the help shows it: `none` for an empty list, `10,50` for a list. */
function showDefault(v: unknown): string {
  return Array.isArray(v) ? v.join(",") || "none" : String(v);
}

/** `(default 1)`, or `(paper 10000, smoke 300)` where `--smoke` changes it; empty without a default. */
export function defaultHelp(field: ExperimentField, attack: AttackName): string {
  if (field.kind === "switch") return "";
  const paper = defaultOf(field, attack, false);
  if (paper === undefined) return "";
  const smoke = defaultOf(field, attack, true);
  const [p, s] = [showDefault(paper), showDefault(smoke)];
  return p === s ? ` (default ${p})` : ` (paper ${p}, smoke ${s})`;
}

/** The commander option of one experiment field on `attack`'s subcommand. */
function fieldOption(field: ExperimentField, attack: AttackName): Option {
  const description = field.help + defaultHelp(field, attack);
  const flag = flagOf(field);
  let option: Option;
  if (field.kind === "int") {
    option = new Option(`${flag} <n>`, description).argParser(intArg(field.min, field.max));
  } else if (field.kind === "intList") {
    option = new Option(`${flag} <list>`, description).argParser(intListArg(field.min, field.max));
  } else if (field.kind === "spec") {
    const parse = field.parse;
    option = new Option(`${flag} <spec>`, description).argParser((value: string) => {
      try {
        return parse(value);
      } catch (e) {
        throw new InvalidArgumentError((e as Error).message);
      }
    });
  } else if (field.kind === "choice") {
    option = new Option(`${flag} <name>`, description).choices(field.choices);
    if (field.paper === undefined) option.makeOptionMandatory();
  } else {
    option = new Option(flag, description);
  }
  return appliesTo(field, attack) ? option : option.hideHelp();
}

/** The experiment fields' options of `attack`'s subcommand (the other attacks' flags hidden). */
export function experimentOptions(attack: AttackName, fields = EXPERIMENT_FIELDS): Option[] {
  return (fields as readonly ExperimentField[])
    .filter((f) => !(f.kind === "choice" && f.subcommand))
    .map((f) => fieldOption(f, attack));
}

/** The experiment fields out of a subcommand's parsed options (undefined: not given). */
export function experimentFlags(
  opts: Record<string, unknown>,
  fields: readonly ExperimentField[] = EXPERIMENT_FIELDS,
): ConfigFlags {
  return Object.fromEntries(
    fields.filter((f) => opts[f.name] !== undefined).map((f) => [f.name, opts[f.name]]),
  ) as ConfigFlags;
}

/** A run flag: where the run reads and writes, not what it computes (not in the config hash). */
interface RunFlag {
  /** commander's flags, e.g. `--run-dir <dir>`; its camel-case name is the key in `RunFlags`. */
  readonly flags: string;
  readonly help: string;
  readonly parse?: (value: string) => unknown;
  /** Shown in the help as commander's `(default: ...)`; a function is evaluated when the help is built. */
  readonly default?: string | (() => string);
  /** Accepted, not listed in the help (an old name). */
  readonly hidden?: boolean;
}

/** The attack subcommands' run flags, in help order. */
export const RUN_FLAGS: readonly RunFlag[] = [
  {
    flags: "--data-dir <dir>",
    help: "folder with the data files: the only place searched, downloads go there (default: $UPDATES_LEAK_DATA, ./data, then the cache)",
  },
  { flags: "--offline", help: "never download data; a missing file is an error saying how to provide it" },
  { flags: "--runs-dir <dir>", help: "where new run folders are made", default: "runs" },
  {
    flags: "--run-dir <dir>",
    help: "use this run folder: resume it if it exists (same data settings), else create it",
  },
  { flags: "--fresh", help: "with --run-dir: delete its results, shards, checkpoints and scores first" },
  {
    flags: "--shard <K/N>",
    help: "generate only shards i with i % N == K-1 (msr, once its GANs are trained: score only targets i with i % N == K-1), then exit (job arrays; needs --run-dir)",
    parse: parseShardSlice,
  },
  {
    flags: "--train-only",
    help: "msr: generate the missing shards and train the GANs, then exit without scoring (for --shard K/N parts to score the targets)",
  },
  {
    flags: "--model-cache-dir <dir>",
    help: "trained original models cache (default <cache>/models; <cache> is $UPDATES_LEAK_CACHE, else $XDG_CACHE_HOME/updates-leak, else ~/.cache/updates-leak)",
    default: defaultModelCacheDir,
  },
  { flags: "--cache-dir <dir>", help: "the old name of --model-cache-dir (wins if given)", hidden: true },
  { flags: "--no-model-cache", help: "do not read or write the model cache" },
  {
    flags: "--json",
    help: "print result.json as one line, the last on stdout; every other line goes to stderr (none for --shard)",
  },
];

/** The parsed run flags (commander's names for `RUN_FLAGS`). */
export interface RunFlags {
  dataDir?: string;
  offline?: boolean;
  runsDir: string;
  runDir?: string;
  fresh?: boolean;
  shard?: ShardSlice;
  /** --train-only (msr): shards and GAN training, no scoring. */
  trainOnly?: boolean;
  modelCacheDir: string;
  /** --cache-dir, the old name of --model-cache-dir. */
  cacheDir?: string;
  /** false with --no-model-cache. */
  modelCache: boolean;
  /** --json: result.json as the last line of stdout, the rest on stderr. */
  json?: boolean;
}

/** The run flags' options; `only`: just these (long names, e.g. `--data-dir`). */
export function runOptions(only?: readonly string[]): Option[] {
  const flags = only ? RUN_FLAGS.filter((f) => only.includes(f.flags.split(" ")[0]!)) : RUN_FLAGS;
  return flags.map((f) => {
    const option = new Option(f.flags, f.help);
    if (f.parse) option.argParser(f.parse);
    if (f.default !== undefined) option.default(typeof f.default === "function" ? f.default() : f.default);
    return f.hidden ? option.hideHelp() : option;
  });
}

/** The `data` subcommands' options: --dataset (from the table of fields), --data-dir, --offline. */
export function dataOptions(): Option[] {
  const dataset = EXPERIMENT_FIELDS.find((f) => f.name === "dataset")!;
  return [fieldOption(dataset, "label"), ...runOptions(["--data-dir", "--offline"])];
}
