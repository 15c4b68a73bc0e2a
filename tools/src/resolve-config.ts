/**
 * From CLI options to a validated `ExperimentConfig`, all derived from the table of fields
 * (@updates-leak/attacks' fields.ts): fill the defaults (paper scale, or the smoke size with
 * `--smoke`; an explicit flag always wins), validate with the arktype type, check each field's
 * limits, then the limits that depend on other fields or the data set. Every problem becomes a
 * `UsageError` naming the flag and what it accepts.
 */

import {
  type AttackName,
  appliesTo,
  configSchema,
  DATASETS,
  type DatasetName,
  defaultOf,
  EXPERIMENT_FIELDS,
  type ExperimentConfig,
  type ExperimentField,
  flagOf,
  shardCount,
} from "@updates-leak/attacks/config";
import { dpSgdOf, parseDefence, replayOf, updatesOf } from "@updates-leak/core/defence";
import { parseUpdateRule } from "@updates-leak/core/update-spec";
import { defaultTrainSize } from "@updates-leak/datasets/splits";
import { type } from "arktype";
import { UsageError } from "./errors.ts";

type Fields = readonly ExperimentField[];

/** The flag for each config field (for messages). */
export const FLAG_OF = Object.fromEntries(EXPERIMENT_FIELDS.map((f) => [f.name, flagOf(f)])) as Record<
  keyof ExperimentConfig,
  string
>;

/** What the CLI may set; undefined means "use the default". */
export type ConfigFlags = Partial<Omit<ExperimentConfig, "attack" | "dataset">> & { dataset?: string };

type IntFieldName = Extract<(typeof EXPERIMENT_FIELDS)[number], { kind: "int" }>["name"];

/** [min, max] of each integer field (the flag's parser and `resolveConfig` check them). */
export const LIMITS = Object.fromEntries(
  EXPERIMENT_FIELDS.flatMap((f) => (f.kind === "int" ? [[f.name, [f.min, f.max]]] : [])),
) as unknown as Record<IntFieldName, readonly [number, number]>;

/** The default of every field but `attack` and `dataset` for `attack` (paper scale or smoke). */
export function defaultsFor(
  attack: AttackName,
  smoke: boolean,
  fields: Fields = EXPERIMENT_FIELDS,
): Record<string, unknown> {
  return Object.fromEntries(fields.map((f) => [f.name, defaultOf(f, attack, smoke)]));
}

/**
 * Largest updating set: a side's update pool, as @updates-leak/datasets splits the data (probes
 * 100, two equal sides, 10,000 training images / 5,000 records per side): MNIST 70,000 -> 24,950,
 * CIFAR-10 60,000 (the whole test batch) -> 19,950, Insta-NY synthetic 20,000 -> 4,950. A partial
 * CIFAR-10 test batch or a real Insta-NY CSV gives a smaller pool (51,000 CIFAR-10 records -> 15,450):
 * the pipelines check against the real split again.
 */
export const MAX_SET_SIZE: Record<DatasetName, number> = {
  mnist: 24_950,
  cifar10: 19_950,
  "insta-ny": 4_950,
};

/**
 * Resolve and validate; throws `UsageError`. `fields` is the table the config is made of (the
 * experiment's; a test passes a copy with a field added).
 */
export function resolveConfig(
  attack: AttackName,
  flags: ConfigFlags,
  fields: Fields = EXPERIMENT_FIELDS,
): ExperimentConfig {
  const given = flags as Record<string, unknown>;
  checkAppliesTo(attack, given, fields);
  const smoke = flags.smoke ?? false;
  // In table order: the order of the keys in config.json.
  const candidate = Object.fromEntries(
    fields.map((f) => [
      f.name,
      f.name === "attack" ? attack : (given[f.name] ?? defaultOf(f, attack, smoke)),
    ]),
  );
  if (candidate.dataset === undefined) {
    throw new UsageError(`${FLAG_OF.dataset} is required; allowed values: ${DATASETS.join(", ")}`);
  }
  const out = validate(candidate, fields);
  checkLimits(out, fields);
  checkSpecs(out, fields);
  checkDefence(out, given);
  checkSetSizes(out);
  checkShadowOriginals(out);
  return out;
}

/** A flag given, other than its default, for an attack it does not apply to (--target-set-sizes for label). */
function checkAppliesTo(attack: AttackName, given: Record<string, unknown>, fields: Fields): void {
  for (const f of fields) {
    const v = given[f.name];
    if (v === undefined || appliesTo(f, attack)) continue;
    if (JSON.stringify(v) === JSON.stringify(defaultOf(f, attack, given.smoke === true))) continue;
    const only = f.attacks ?? [];
    throw new UsageError(
      `${flagOf(f)} is only for the ${only.join(" and ")} attack${only.length > 1 ? "s" : ""} (see leak ${only[0]} --help), not ${attack}`,
    );
  }
}

/** The arktype check: each field's type and lower bound, reported by flag. */
function validate(candidate: Record<string, unknown>, fields: Fields): ExperimentConfig {
  const out = configSchema(fields)(candidate);
  if (out instanceof type.errors) {
    const lines = [...out].map((e) => {
      const key = String(e.path[0] ?? "");
      const field = fields.find((f) => f.name === key);
      if (!field) return `${key} ${e.problem}`;
      const allowed = field.kind === "choice" ? ` (allowed: ${field.choices.join(", ")})` : "";
      return `${flagOf(field)} ${e.problem}${allowed}`;
    });
    throw new UsageError(lines.join("\n"));
  }
  return out as ExperimentConfig;
}

/** Each integer field inside its [min, max]. */
function checkLimits(config: ExperimentConfig, fields: Fields): void {
  const values = config as Record<string, unknown>;
  for (const f of fields) {
    if (f.kind !== "int") continue;
    const v = values[f.name] as number;
    if (v < f.min || v > f.max)
      throw new UsageError(`${flagOf(f)} must be an integer from ${f.min} to ${f.max} (was ${v})`);
  }
}

/** Each spec field parses; its value becomes the canonical form (`--defence topk:3+round:2`). */
function checkSpecs(config: ExperimentConfig, fields: Fields): void {
  const values = config as Record<string, unknown>;
  for (const f of fields) {
    if (f.kind !== "spec") continue;
    try {
      values[f.name] = f.parse(values[f.name] as string);
    } catch (e) {
      throw new UsageError(`${flagOf(f)}: ${(e as Error).message}`);
    }
  }
}

/**
 * `--threat` says who knows the defence: it needs a defence. DP-SGD needs single-sample updates
 * of one step (the multi-step engine has no per-sample gradients), so no replay either; replay at
 * most the original's training set.
 */
function checkDefence(config: ExperimentConfig, given: Record<string, unknown>): void {
  if (config.defence === "none" && given.threat !== undefined && given.threat !== "adaptive") {
    throw new UsageError(
      `${FLAG_OF.threat} ${String(given.threat)} needs a ${FLAG_OF.defence} other than none`,
    );
  }
  const defence = parseDefence(config.defence);
  const dp = dpSgdOf(defence);
  if (dp && config.setSize !== 1) {
    throw new UsageError(
      `${FLAG_OF.defence} ${config.defence}: DP-SGD updates are implemented for ${FLAG_OF.setSize} 1 (the single-sample attacks label and reconstruct), not ${config.setSize}`,
    );
  }
  const replay = replayOf(defence);
  if (dp && replay > 0) {
    throw new UsageError(
      `${FLAG_OF.defence} ${config.defence}: DP-SGD updates are implemented for one sample, so they do not combine with replay`,
    );
  }
  const updates = updatesOf(defence);
  if (updates > 1) checkUpdates(config, updates, replay > 0 || dp !== null);
  const train = defaultTrainSize(config.dataset);
  if (replay > train) {
    throw new UsageError(
      `${FLAG_OF.defence} ${config.defence}: replay ${replay} is more than the ${train} samples the ${config.dataset} original trains on; allowed: replay:1 to replay:${train}`,
    );
  }
  if (dp && parseUpdateRule(config.update).epochs !== 1) {
    throw new UsageError(
      `${FLAG_OF.defence} ${config.defence}: DP-SGD updates are implemented for one step, so ${FLAG_OF.update} needs 1 epoch, not ${config.update}`,
    );
  }
}

/**
 * `updates:U`: each update is one step on its set, the optimiser's state carried over (one epoch
 * in batches of the set size), so the set fits the rule's batch, the rule has one epoch, and no
 * other update-side step or extra target set size comes with it.
 */
function checkUpdates(config: ExperimentConfig, updates: number, otherUpdateStep: boolean): void {
  const flag = `${FLAG_OF.defence} ${config.defence}`;
  const rule = parseUpdateRule(config.update);
  const why = `updates:${updates} makes each update one step on its set`;
  if (otherUpdateStep) {
    throw new UsageError(`${flag}: updates:U does not combine with replay or DP-SGD`);
  }
  if (config.setSize > rule.batchSize) {
    throw new UsageError(
      `${flag}: ${why}, so ${FLAG_OF.setSize} must be at most the update's batch (${rule.batchSize}), not ${config.setSize}`,
    );
  }
  if (rule.epochs !== 1) {
    throw new UsageError(`${flag}: ${why}, so ${FLAG_OF.update} needs 1 epoch, not ${config.update}`);
  }
  if (config.targetSetSizes.length > 0) {
    throw new UsageError(`${flag}: ${why} of ${FLAG_OF.setSize}; drop ${FLAG_OF.targetSetSizes}`);
  }
}

/** --set-size within the data set's updating pool; --target-set-sizes too, distinct, none equal to it. */
function checkSetSizes(out: ExperimentConfig): void {
  const maxSet = MAX_SET_SIZE[out.dataset];
  if (out.setSize > maxSet) {
    throw new UsageError(
      `${FLAG_OF.setSize} ${out.setSize} is larger than the ${out.dataset} updating pool; allowed: 1 to ${maxSet}`,
    );
  }
  const flag = FLAG_OF.targetSetSizes;
  const sizes = out.targetSetSizes;
  for (const [i, n] of sizes.entries()) {
    if (n > maxSet) {
      throw new UsageError(
        `${flag}: ${n} is larger than the ${out.dataset} updating pool; allowed: 1 to ${maxSet}`,
      );
    }
    if (n === out.setSize) {
      throw new UsageError(
        `${flag}: ${n} equals ${FLAG_OF.setSize} (the train size, scored anyway); give other sizes`,
      );
    }
    if (sizes.indexOf(n) !== i) throw new UsageError(`${flag}: ${n} is given twice; give each size once`);
  }
}

/** Each shadow original needs a block of at least one shadow shard. */
function checkShadowOriginals(out: ExperimentConfig): void {
  const shadowShards = shardCount(out.shadowModels, out.shardSize);
  if (out.shadowOriginals > shadowShards) {
    throw new UsageError(
      `${FLAG_OF.shadowOriginals} ${out.shadowOriginals} is more than the ${shadowShards} shadow shards (each shadow original updates a block of shards); allowed: 1 to ${shadowShards}`,
    );
  }
}

/** Aligned `label  value` lines for printing the resolved config: one per field with a label. */
export function formatConfig(config: ExperimentConfig, fields: Fields = EXPERIMENT_FIELDS): string {
  const values = config as Record<string, unknown>;
  const rows: [string, string][] = [];
  for (const f of fields) {
    if (f.label === undefined || !appliesTo(f, config.attack)) continue;
    const v = values[f.name];
    const text = f.show
      ? (f.show as (v: unknown, c: typeof values) => string | undefined)(v, values)
      : String(v);
    if (text !== undefined) rows.push([f.label, text]);
  }
  return rows.map(([k, v]) => `  ${k.padEnd(14)} ${v}`).join("\n");
}
