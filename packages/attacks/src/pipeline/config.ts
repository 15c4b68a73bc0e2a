/**
 * One config type per experiment, shared by the CLI, the run folder and the resume check. Its
 * fields are declared once, in fields.ts; the arktype type here is derived from that table, and
 * `resolveConfig` (tools) fills the defaults (paper scale, or the smoke size).
 */
import { type Type, type } from "arktype";
import { type ConfigOf, EXPERIMENT_FIELDS, type ExperimentField } from "./fields.ts";

export {
  ATTACKS,
  type AttackName,
  appliesTo,
  BACKENDS,
  type ConfigOf,
  DATASETS,
  type DatasetName,
  defaultOf,
  EXPERIMENT_FIELDS,
  type ExperimentField,
  flagOf,
  THREATS,
} from "./fields.ts";

/** The arktype definition of one field, e.g. `"number.integer >= 1"`, with `absent` as its default. */
function fieldDefinition(field: ExperimentField): unknown {
  let def: string;
  if (field.kind === "int") def = `number.integer >= ${field.min}`;
  else if (field.kind === "intList") def = `number.integer >= ${field.min} []`;
  else if (field.kind === "choice") def = field.choices.map((c) => `'${c}'`).join(" | ");
  else if (field.kind === "spec") def = "string";
  else def = "boolean";
  if (field.absent === undefined) return def;
  const absent = field.absent;
  return [def, "=", Array.isArray(absent) ? () => [...absent] : absent];
}

const schemas = new WeakMap<readonly ExperimentField[], Type<Record<string, unknown>>>();

/**
 * The arktype type of a table of fields (each field's type and lower bound; the upper bounds are
 * checked by `resolveConfig`, which names the flag). Cached per table.
 */
export function configSchema(fields: readonly ExperimentField[]): Type<Record<string, unknown>> {
  let schema = schemas.get(fields);
  if (!schema) {
    const def = Object.fromEntries(fields.map((f) => [f.name, fieldDefinition(f)]));
    schema = type(def as never) as unknown as Type<Record<string, unknown>>;
    schemas.set(fields, schema);
  }
  return schema;
}

/** One experiment's config: a field per entry of EXPERIMENT_FIELDS, typed by that entry. */
export type ExperimentConfig = ConfigOf<typeof EXPERIMENT_FIELDS>;

/**
 * The arktype schema of ExperimentConfig: called on a value, it returns the checked config (fields
 * with an `absent` value filled in) or `type.errors`.
 */
export const ExperimentConfig = configSchema(EXPERIMENT_FIELDS) as unknown as Type<ExperimentConfig>;

/**
 * `cfg` checked against the schema, with each field added since the caller's code was written
 * filled in at its `absent` value (`defence: "none"`, ...); throws naming every bad field. The
 * pipelines call it on what they are given, so a config written by hand fails clearly.
 */
export function checkedConfig(cfg: ExperimentConfig): ExperimentConfig {
  const out = ExperimentConfig(cfg);
  if (out instanceof type.errors) throw new Error(`experiment config: ${out.summary}`);
  return out;
}

/** Shards holding `models` updated models, `shardSize` per shard (the last one may hold fewer). */
export function shardCount(models: number, shardSize: number): number {
  return Math.ceil(models / shardSize);
}
