/**
 * The experiment's fields, each declared once: name, type, paper and smoke defaults (per attack
 * where they differ), limits, help text, the attacks it applies to, whether it changes the
 * generated data, and how it is printed. Everything else is derived from this table: the arktype
 * type (config.ts), the resolved config and its defaults, the attack subcommands' flags and their
 * help (tools/src/options.ts), the printed config (formatConfig), the config hash's data fields
 * (tools/src/config-hash.ts) and so config.json. One config per experiment, as in big_vision.
 *
 * Adding a field: add one entry here. The order of the entries is the order of the keys in the
 * resolved config and in config.json; new fields go where they read best, old ones stay put.
 * A field that changes the generated shards (`data: true`) added after runs existed needs
 * `absent`, the value an older run reads as: the config hash leaves the field out at that value, so
 * existing run folders keep their hash and resume.
 *
 * Pure data (and a few pure formatting functions); no I/O.
 */
import { DEFENCE_SYNTAX, formatDefence, parseDefence } from "@updates-leak/core/defence";
import {
  formatUpdateRule,
  PAPER_UPDATE,
  parseUpdateRule,
  UPDATE_SYNTAX,
} from "@updates-leak/core/update-spec";

/** The paper's update rule as the `--update` spec writes it. */
const PAPER_UPDATE_SPEC = formatUpdateRule(PAPER_UPDATE);

export const ATTACKS = ["label", "reconstruct", "distribution", "msr"] as const;
export const DATASETS = ["mnist", "cifar10", "insta-ny"] as const;
export const BACKENDS = ["auto", "webgpu", "wasm", "cpu"] as const;
export const THREATS = ["adaptive", "non-adaptive"] as const;

export type AttackName = (typeof ATTACKS)[number];
export type DatasetName = (typeof DATASETS)[number];

/** A value, or one value per attack. */
export type PerAttack<T> = T | { readonly [A in AttackName]: T };

interface FieldCommon {
  /** The config key; its flag is `--<name in kebab case>` unless `flag` says otherwise. */
  readonly name: string;
  /** The flag naming this field in messages (default `--kebab-case-name`). */
  readonly flag?: string;
  /** Help text of the flag, without the default (the help appends the paper and smoke defaults). */
  readonly help: string;
  /** The attacks whose subcommand has the flag and whose printed config shows it; omitted: all. */
  readonly attacks?: readonly AttackName[];
  /**
   * Does the value change the generated shards (deltas, ground truth)? Data fields make the
   * config hash that guards resume; the others may change between a run and its resume.
   */
  readonly data: boolean;
  /**
   * What a run config written before this field existed reads as. A data field is left out of
   * the config hash while at this value, so the run folders made before it resume.
   */
  readonly absent?: unknown;
  /** Row label in the printed config; omitted: no row of its own. */
  readonly label?: string;
  /** The printed value (default: `String(value)`); undefined: no row. */
  readonly show?: (value: never, config: Readonly<Record<string, unknown>>) => string | undefined;
}

/** An integer in [min, max]. */
export interface IntField extends FieldCommon {
  readonly kind: "int";
  readonly min: number;
  readonly max: number;
  readonly paper: PerAttack<number>;
  /** `--smoke` default; omitted: the paper's. */
  readonly smoke?: PerAttack<number>;
}

/** A list of distinct integers, each in [min, max] (a comma-separated flag). */
export interface IntListField extends FieldCommon {
  readonly kind: "intList";
  readonly min: number;
  readonly max: number;
  readonly paper: readonly number[];
  readonly smoke?: readonly number[];
}

/** One of `choices`; no `paper` default: the flag is required. */
export interface ChoiceField extends FieldCommon {
  readonly kind: "choice";
  readonly choices: readonly string[];
  readonly paper?: string;
  readonly smoke?: string;
  /** Set by the subcommand's name, not by a flag (`attack`). */
  readonly subcommand?: boolean;
}

/** A boolean switch (false unless given). */
export interface SwitchField extends FieldCommon {
  readonly kind: "switch";
  readonly paper: false;
  readonly smoke?: false;
}

/**
 * A value written in a small language of its own (`--defence round:2+topk:3`), kept in its
 * canonical form: `parse` returns that form or throws an Error saying what is expected.
 */
export interface SpecField extends FieldCommon {
  readonly kind: "spec";
  readonly paper: string;
  readonly smoke?: string;
  readonly parse: (value: string) => string;
}

export type ExperimentField = IntField | IntListField | ChoiceField | SwitchField | SpecField;

const count = (v: number) => v.toLocaleString("en-US");
const shards = (models: unknown, size: unknown) => Math.ceil(Number(models) / Number(size));

export const EXPERIMENT_FIELDS = [
  {
    name: "attack",
    flag: "<attack>",
    kind: "choice",
    choices: ATTACKS,
    subcommand: true,
    data: true,
    help: "the attack",
    label: "attack",
  },
  { name: "dataset", kind: "choice", choices: DATASETS, data: true, help: "data set", label: "dataset" },
  {
    name: "seed",
    kind: "int",
    min: 0,
    max: 2 ** 32 - 1,
    paper: 0,
    data: true,
    help: "root seed of every random stream",
    label: "seed",
  },
  {
    /** Updated shadow models (the attack's training set). Paper: 10,000. */
    name: "shadowModels",
    kind: "int",
    min: 1,
    max: 1_000_000,
    paper: 10_000,
    smoke: 300,
    data: true,
    help: "updated shadow models, the attack's training set",
    label: "shadow models",
    show: (v: number, c) =>
      Number(c.shadowOriginals) > 1
        ? `${count(v)} (updates of ${c.shadowOriginals} shadow originals, one block of shards each)`
        : count(v),
  },
  {
    /** Updated target models (the attack's test set). Paper: 1,000. */
    name: "targetModels",
    kind: "int",
    min: 1,
    max: 1_000_000,
    paper: 1_000,
    smoke: 100,
    data: true,
    help: "updated target models, the attack's test set",
    label: "target models",
    show: count,
  },
  {
    /**
     * Shadow original models the adversary trains (on the same shadow data, other seeds); the
     * shadow shards are split into this many contiguous blocks, block b updating copies of shadow
     * original b. Paper: 1. Printed with the shadow models.
     */
    name: "shadowOriginals",
    kind: "int",
    min: 1,
    max: 1_000,
    paper: 1,
    absent: 1,
    data: true,
    help: "shadow original models the adversary trains (other seeds, same shadow data); block b of the shadow shards updates copies of the b-th",
  },
  {
    /** |D_update|: 1 for the single-sample attacks, 100 for the multi-sample ones. */
    name: "setSize",
    kind: "int",
    min: 1,
    max: 1_000_000,
    paper: { label: 1, reconstruct: 1, distribution: 100, msr: 100 },
    data: true,
    help: "|D_update|",
    label: "set size",
  },
  {
    /**
     * A_LDE only: extra target set sizes the attack trained on `setSize` is also scored on (the
     * update-set-size relaxation). Each size gets its own target side of `targetModels`, in its
     * own store folder named by the size, so it is not a data field.
     */
    name: "targetSetSizes",
    kind: "intList",
    min: 1,
    max: 1_000_000,
    paper: [],
    absent: [],
    attacks: ["distribution"],
    data: false,
    help: "also score the attack (trained on --set-size) on target sets of these sizes, e.g. 10,50",
    label: "test set sizes",
    show: (v: readonly number[], c) =>
      v.length > 0 ? `${v.join(", ")} (extra target sides, attack trained on ${c.setSize})` : undefined,
  },
  {
    /** |D_probe|. Paper: 100. */
    name: "probeCount",
    kind: "int",
    min: 1,
    max: 10_000,
    paper: 100,
    data: true,
    help: "|D_probe|",
    label: "probe count",
  },
  {
    /** Updated models per shard written to the store (it fixes which models go in shard k). */
    name: "shardSize",
    kind: "int",
    min: 1,
    max: 100_000,
    paper: 100,
    smoke: 50,
    data: true,
    help: "updated models per shard file",
    label: "shard size",
    show: (v: number, c) =>
      `${v} (${shards(c.shadowModels, v)} shadow + ${shards(c.targetModels, v)} target shards)`,
  },
  {
    /** Updated models per engine call; shard k is the same whatever the batching. */
    name: "chunkSize",
    kind: "int",
    min: 0,
    max: 100_000,
    paper: 0,
    data: false,
    help: "updated models per engine call, 0 = adapt to memory",
    label: "chunk size",
    show: (v: number) => (v === 0 ? "0 (adapt to memory)" : String(v)),
  },
  {
    /** Epochs for the original (target/shadow) models; 0 = the paper's (25 / 50 / 25). */
    name: "trainEpochs",
    kind: "int",
    min: 0,
    max: 10_000,
    paper: 0,
    smoke: 2,
    data: true,
    help: "epochs of the original models, 0 = the paper's",
    label: "train epochs",
    show: (v: number) => (v === 0 ? "0 (the paper's per data set)" : String(v)),
  },
  {
    /**
     * The model owner's defence: what its API does to every posterior it returns (top-k, label
     * only, rounding, noise; steps combine in order) and how it updates (DP-SGD, replay, several
     * updates). See @updates-leak/core's defence/spec.ts. `none` keeps the undefended runs' data
     * bit for bit.
     */
    name: "defence",
    kind: "spec",
    paper: "none",
    absent: "none",
    data: true,
    parse: (v: string) => formatDefence(parseDefence(v)),
    help: `the model owner's defence, on its API's answers or its updates: ${DEFENCE_SYNTAX}`,
    label: "defence",
    show: (v: string, c) =>
      v === "none"
        ? undefined
        : `${v} (${c.threat}: the shadow updates are ${c.threat === "adaptive" ? "defended too" : "not defended"})`,
  },
  {
    /**
     * The model owner's update rule (@updates-leak/core's update-spec.ts): SGD with or without
     * momentum, or Adam, with batch size and epochs. The paper's, the default, keeps earlier
     * runs' data and hashes bit for bit. The adversary's shadow updates use the same rule (it
     * knows how the owner updates, as it knows the architecture).
     */
    name: "update",
    kind: "spec",
    paper: PAPER_UPDATE_SPEC,
    absent: PAPER_UPDATE_SPEC,
    data: true,
    parse: (v: string) => formatUpdateRule(parseUpdateRule(v)),
    help: `the model owner's update rule: ${UPDATE_SYNTAX}`,
    label: "owner's update",
    show: (v: string) => (v === PAPER_UPDATE_SPEC ? undefined : v),
  },
  {
    /**
     * With a defence: does the adversary know it and apply it to its shadow queries (adaptive), or
     * train on undefended shadow deltas (non-adaptive)? Printed with the defence.
     */
    name: "threat",
    kind: "choice",
    choices: THREATS,
    paper: "adaptive",
    absent: "adaptive",
    data: true,
    help: "with --defence: adaptive (the adversary defends its shadow queries the same way) or non-adaptive (it does not)",
  },
  {
    /**
     * Epochs of the attack model. The authors' code gives 50 for label distribution estimation;
     * the rest are our [choice]s: A_LI 20 (on MNIST at paper scale 20 and 50 epochs both scored
     * 0.76, 20 takes 2.5x less time), A_SSR 50, CBM-GAN 10 passes over the shadow models.
     */
    name: "attackEpochs",
    kind: "int",
    min: 1,
    max: 10_000,
    paper: { label: 20, reconstruct: 50, distribution: 50, msr: 10 },
    smoke: { label: 20, reconstruct: 20, distribution: 20, msr: 2 },
    data: false,
    help: "epochs of the attack model",
    label: "attack epochs",
  },
  {
    /** A_MSR: generated samples per target delta at inference. Paper: 20,000. */
    name: "inferenceSamples",
    kind: "int",
    min: 1,
    max: 1_000_000,
    paper: 20_000,
    smoke: 2_000,
    attacks: ["msr"],
    data: false,
    help: "generated samples per target set before k-means",
    label: "inference",
    show: (v: number) => `${count(v)} generated samples per target set`,
  },
  {
    /** A_MSR: target sets reconstructed and scored (0 = all target models). */
    name: "evalTargets",
    kind: "int",
    min: 0,
    max: 1_000_000,
    paper: 0,
    smoke: 10,
    attacks: ["msr"],
    data: false,
    help: "target sets scored, 0 = all",
    label: "eval targets",
    show: (v: number) => (v === 0 ? "0 (all target models)" : String(v)),
  },
  {
    name: "backend",
    kind: "choice",
    choices: BACKENDS,
    paper: "auto",
    data: false,
    help: "compute backend",
    label: "backend",
  },
  {
    name: "threads",
    kind: "int",
    min: 0,
    max: 256,
    paper: 0,
    data: false,
    help: "backend threads, 0 = auto",
    label: "threads",
    show: (v: number) => (v === 0 ? "0 (auto)" : String(v)),
  },
  {
    name: "smoke",
    kind: "switch",
    paper: false,
    data: true,
    help: "small sizes for a quick end-to-end check (flags given explicitly still win)",
    label: "smoke",
  },
] as const satisfies readonly ExperimentField[];

/** The value type a field declares. */
type ValueOf<F> = F extends { kind: "int" }
  ? number
  : F extends { kind: "intList" }
    ? number[]
    : F extends { kind: "choice"; choices: readonly (infer C)[] }
      ? C
      : F extends { kind: "switch" }
        ? boolean
        : F extends { kind: "spec" }
          ? string
          : never;

/** The config a table of fields declares. */
export type ConfigOf<T extends readonly ExperimentField[]> = {
  -readonly [F in T[number] as F["name"]]: ValueOf<F>;
};

/** `shadowModels` -> `--shadow-models`; `attack` -> `<attack>` (its `flag`). */
export function flagOf(field: ExperimentField): string {
  return field.flag ?? `--${field.name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

/** Does `field` apply to `attack` (its flag on that subcommand, its row in the printed config)? */
export function appliesTo(field: ExperimentField, attack: string): boolean {
  return field.attacks === undefined || (field.attacks as readonly string[]).includes(attack);
}

/** The default of `field` for `attack` (paper scale, or `--smoke`); undefined: none (required). */
export function defaultOf(field: ExperimentField, attack: AttackName, smoke: boolean): unknown {
  const v = smoke && field.smoke !== undefined ? field.smoke : field.paper;
  if (v !== null && typeof v === "object" && !Array.isArray(v))
    return (v as Record<AttackName, unknown>)[attack];
  return Array.isArray(v) ? [...v] : v;
}
