/**
 * The config hash that guards resume: a stable sha256 over the config fields that affect the
 * generated data (the deltas and ground truth in the shards).
 *
 * Decision: every field counts EXCEPT those the table of fields (@updates-leak/attacks'
 * fields.ts) declares `data: false`, so a key this code does not know is guarded by default.
 * Left out, and so free to change between a run and its resume:
 * - `backend`, `threads`: where and how fast the numbers are computed, not which numbers (backends
 *   agree to float tolerance; a resumed run may mix shards from two backends, and config.json /
 *   metrics.jsonl record each invocation's backend);
 * - `chunkSize`: how many updated models one engine call batches; shard k is a pure function of
 *   (config, seed, k) whatever the batching;
 * - `attackEpochs`, `inferenceSamples`, `evalTargets`: used only after the shards exist, when the
 *   attack model is fitted and evaluated;
 * - `targetSetSizes` (A_LDE's update-set-size relaxation): the main shadow and target shards do
 *   not depend on it; each extra size has its own store folder named by the size
 *   (shards/target-s<size>/), whose contents depend only on that size (and the counted fields), so
 *   sizes may be added to or dropped from a run on resume.
 * Counted only when not at the value the table gives as `absent` (`defaultedDataFields`), so that
 * runs made before the field existed keep their hash and resume: `shadowOriginals` (1).
 * Counted, among others: attack, dataset, seed, shadowModels, targetModels, setSize, probeCount,
 * shardSize (it fixes which models go in shard k), trainEpochs (the original models), smoke.
 *
 * Stable: keys sorted at every depth, JSON, a version tag in front; the same fields give the same
 * hash in any process, on any machine.
 */
import { createHash } from "node:crypto";
import { EXPERIMENT_FIELDS, type ExperimentField } from "@updates-leak/attacks/config";

type Fields = readonly ExperimentField[];

/**
 * The order config.json's `nonDataFields` has listed them in since the first runs; kept, so
 * that records stay byte for byte the same. Non-data fields added later follow in table order.
 */
const RECORDED_ORDER = [
  "backend",
  "threads",
  "chunkSize",
  "attackEpochs",
  "inferenceSamples",
  "evalTargets",
  "targetSetSizes",
];

/** The fields of a table left out of the hash (`data: false`), in the recorded order. */
export function nonDataFields(fields: Fields = EXPERIMENT_FIELDS): string[] {
  const names = fields.filter((f) => !f.data).map((f) => f.name);
  const rank = (n: string) => {
    const i = RECORDED_ORDER.indexOf(n);
    return i >= 0 ? i : RECORDED_ORDER.length + names.indexOf(n);
  };
  return names.sort((a, b) => rank(a) - rank(b));
}

export const NON_DATA_FIELDS: readonly string[] = nonDataFields();

/** Data fields added after runs existed: left out of the hash while at these values. */
export function defaultedDataFields(fields: Fields = EXPERIMENT_FIELDS): Record<string, unknown> {
  return Object.fromEntries(
    fields.filter((f) => f.data && f.absent !== undefined).map((f) => [f.name, f.absent]),
  );
}

const HASH_TAG = "updates-leak/config-hash/v1\n";

/** Canonical JSON: object keys sorted at every depth, no whitespace. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) {
      throw new Error(`canonicalJson: non-finite number ${value} cannot be hashed`);
    }
    if (value === undefined) return "null";
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
}

/** The fields of `config` that affect the generated data. */
export function dataFields(config: object, fields: Fields = EXPERIMENT_FIELDS): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const skip = new Set<string>(nonDataFields(fields));
  const defaulted = defaultedDataFields(fields);
  for (const [k, v] of Object.entries(config)) {
    if (skip.has(k) || v === undefined) continue;
    if (k in defaulted && canonicalJson(v) === canonicalJson(defaulted[k])) continue;
    out[k] = v;
  }
  return out;
}

/** sha256 (hex) of the data fields of `config`. */
export function configHash(config: object, fields: Fields = EXPERIMENT_FIELDS): string {
  return createHash("sha256")
    .update(HASH_TAG + canonicalJson(dataFields(config, fields)))
    .digest("hex");
}

/** Human-readable list of data fields that differ, e.g. `seed: 1 -> 2`. */
export function describeDataDifference(before: object, after: object): string[] {
  const defaulted = defaultedDataFields();
  const a = { ...defaulted, ...dataFields(before) };
  const b = { ...defaulted, ...dataFields(after) };
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  const out: string[] = [];
  for (const k of keys) {
    const x = canonicalJson(a[k]);
    const y = canonicalJson(b[k]);
    if (x !== y) out.push(`${k}: ${x} -> ${y}`);
  }
  return out;
}
