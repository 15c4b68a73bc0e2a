/**
 * Per-target results in a run folder (the CLI's `TargetResultStore`): what `--shard K/N` parts
 * computed for the final run to take up (msr: each target's matched MSE, per GAN).
 *   parts/<name>.part-K-of-N.json   what part K of N saved (rewritten, atomically, after each target)
 *   scores/<name>.json              the parts folded together by `leak merge` (which removes them)
 * A record: `{ format, version, configHash, name, key, targets, part?, indices, values }`: `key`
 * says what the values depend on (the pipeline's, e.g. the GAN's checkpoint name, the inference
 * settings and digests of the target deltas), `targets` how many targets there are in all, and
 * `values[j]` is target `indices[j]`'s value (JSON numbers: a float64 reads back bit for bit).
 * A record of another config hash or key is an error naming its file, never silently used.
 */
import fs from "node:fs";
import path from "node:path";
import type { TargetResultStore } from "@updates-leak/attacks/context";
import { isTempName, readJsonIfExists, writeJsonAtomic } from "./atomic.ts";
import type { ShardSlice } from "./shard-store.ts";

export const TARGET_RESULTS_FORMAT = "updates-leak-target-results";
export const TARGET_RESULTS_VERSION = 1;

interface TargetRecord {
  format: string;
  version: number;
  configHash: string;
  name: string;
  key: string;
  targets: number;
  part?: ShardSlice;
  indices: number[];
  values: number[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const PART_FILE = /^([A-Za-z0-9][A-Za-z0-9._-]*)\.part-(\d+)-of-(\d+)\.json$/;

function checkName(name: string): void {
  if (!NAME.test(name))
    throw new Error(`target result name ${JSON.stringify(name)} is not letters, digits, '.', '_' and '-'`);
}

/** The merged file of `name`. */
export function mergedResultsFile(runDir: string, name: string): string {
  checkName(name);
  return path.join(runDir, "scores", `${name}.json`);
}

/** The file part `slice` saves `name` to. */
export function partResultsFile(runDir: string, name: string, slice: ShardSlice): string {
  checkName(name);
  return path.join(runDir, "parts", `${name}.part-${slice.part}-of-${slice.of}.json`);
}

/** The part files of every name in `runDir/parts`, by name (temporary files skipped). */
function partFiles(runDir: string): Map<string, string[]> {
  const dir = path.join(runDir, "parts");
  const out = new Map<string, string[]>();
  if (!fs.existsSync(dir)) return out;
  for (const f of fs.readdirSync(dir).sort()) {
    if (isTempName(f)) continue;
    const m = PART_FILE.exec(f);
    if (!m) continue;
    const list = out.get(m[1]!) ?? [];
    list.push(path.join(dir, f));
    out.set(m[1]!, list);
  }
  return out;
}

/** A record read and checked (format, fields, config hash; the key when `key` is given); null if absent. */
function readRecord(file: string, configHash: string, key?: string): TargetRecord | null {
  const raw = readJsonIfExists(file) as Partial<TargetRecord> | null;
  if (raw === null) return null;
  const bad = (why: string) => new Error(`${file}: ${why}; delete it to have those targets scored again`);
  if (raw.format !== TARGET_RESULTS_FORMAT || raw.version !== TARGET_RESULTS_VERSION)
    throw bad(`not a target results record (format ${TARGET_RESULTS_FORMAT} v${TARGET_RESULTS_VERSION})`);
  const { indices, values, targets } = raw;
  if (
    typeof raw.key !== "string" ||
    typeof raw.name !== "string" ||
    !Number.isInteger(targets) ||
    !Array.isArray(indices) ||
    !Array.isArray(values) ||
    indices.length !== values.length ||
    !indices.every((i) => Number.isInteger(i) && i >= 0 && i < (targets as number)) ||
    !values.every((v) => typeof v === "number" && Number.isFinite(v))
  )
    throw bad("damaged (fields missing, or indices and values that do not fit)");
  if (raw.configHash !== configHash)
    throw bad(`made for another config (hash ${raw.configHash}, this folder's ${configHash})`);
  if (key !== undefined && raw.key !== key)
    throw bad(`saved under another key (${raw.key}), this run's is ${key}`);
  return raw as TargetRecord;
}

/** Adds a record's values to `into` (the first value of a target wins: every copy is the same). */
function addValues(into: Map<number, number>, r: TargetRecord): void {
  r.indices.forEach((i, j) => {
    if (!into.has(i)) into.set(i, r.values[j]!);
  });
}

/** The run folder's target results; `slice`: the part this process is (needed only to save). */
export class FileTargetResults implements TargetResultStore {
  constructor(
    private readonly runDir: string,
    private readonly configHash: string,
    private readonly slice?: ShardSlice,
  ) {}

  load(name: string, key: string): Map<number, number> {
    const out = new Map<number, number>();
    const merged = readRecord(mergedResultsFile(this.runDir, name), this.configHash, key);
    if (merged) addValues(out, merged);
    for (const f of partFiles(this.runDir).get(name) ?? []) {
      const r = readRecord(f, this.configHash, key);
      if (r) addValues(out, r);
    }
    return out;
  }

  save(name: string, key: string, targets: number, values: ReadonlyMap<number, number>): void {
    if (!this.slice) throw new Error(`target results of ${name}: only a --shard K/N part saves them`);
    const indices = [...values.keys()].sort((a, b) => a - b);
    const record: TargetRecord = {
      format: TARGET_RESULTS_FORMAT,
      version: TARGET_RESULTS_VERSION,
      configHash: this.configHash,
      name,
      key,
      targets,
      part: this.slice,
      indices,
      values: indices.map((i) => values.get(i)!),
    };
    const file = partResultsFile(this.runDir, name, this.slice);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeJsonAtomic(file, record);
  }
}

/** What `merge` found of one name's target results. */
export interface TargetResultsReport {
  name: string;
  targets: number;
  present: number;
  missing: number[];
}

/**
 * Folds every name's part files into `scores/<name>.json` (written atomically before the parts are
 * removed), checking each against the folder's config hash and the name's key; returns per name
 * what is present and missing. Names with a merged file and no parts are reported too.
 */
export function mergeTargetResults(runDir: string, configHash: string): TargetResultsReport[] {
  const parts = partFiles(runDir);
  const scoresDir = path.join(runDir, "scores");
  const names = new Set(parts.keys());
  if (fs.existsSync(scoresDir)) {
    for (const f of fs.readdirSync(scoresDir))
      if (!isTempName(f) && f.endsWith(".json")) names.add(f.slice(0, -".json".length));
  }
  const reports: TargetResultsReport[] = [];
  for (const name of [...names].sort()) {
    const mergedFile = mergedResultsFile(runDir, name);
    const records: TargetRecord[] = [];
    const merged = readRecord(mergedFile, configHash);
    if (merged) records.push(merged);
    const files = parts.get(name) ?? [];
    for (const f of files) {
      const r = readRecord(f, configHash, records[0]?.key);
      if (r) records.push(r);
    }
    if (records.length === 0) continue;
    const values = new Map<number, number>();
    for (const r of records) addValues(values, r);
    const targets = Math.max(...records.map((r) => r.targets));
    const indices = [...values.keys()].sort((a, b) => a - b);
    if (files.length > 0) {
      fs.mkdirSync(scoresDir, { recursive: true });
      writeJsonAtomic(mergedFile, {
        format: TARGET_RESULTS_FORMAT,
        version: TARGET_RESULTS_VERSION,
        configHash,
        name,
        key: records[0]!.key,
        targets,
        indices,
        values: indices.map((i) => values.get(i)!),
      } satisfies TargetRecord);
      for (const f of files) fs.rmSync(f, { force: true });
    }
    const missing: number[] = [];
    for (let i = 0; i < targets; i++) if (!values.has(i)) missing.push(i);
    reports.push({ name, targets, present: targets - missing.length, missing });
  }
  return reports;
}
