/**
 * One folder per run: `runs/<UTC time>-<attack>-<dataset>/` (or the folder given by --run-dir):
 *   config.json       the config, its data hash, seeds, backend report, versions, git, host,
 *                     invocation (rewritten, atomically, by each invocation on the folder)
 *   metrics.jsonl     one JSON object per line, appended (each line one write + fsync)
 *   result.json       the experiment result (format, version, seed, resolved config), figures by file name
 *   run.log           what the run printed, each invocation under a header line (appended)
 *   figures/*.png     bar charts and image grids
 *   shards/shadow/, shards/target/   the file shard stores
 *   shards/target-s<n>/              distribution --target-set-sizes: the target side with sets of n
 *   parts/part-K-of-N.json           what each `--shard K/N` job did
 *   parts/<name>.part-K-of-N.json    msr: per-target results a part scored (target-results.ts)
 *   scores/<name>.json               those folded together by `leak merge`
 *   checkpoints/<name>.bin           a training's state, rewritten as it goes (msr: each GAN's after
 *                                    every epoch), read back on resume
 * Every file except metrics.jsonl and run.log is written atomically (temp file, fsync, rename).
 * Checkpoints are kept when the run ends, like the shards (the work they hold is as costly to redo,
 * and a rerun of the finished folder then retrains nothing); --fresh deletes them with the rest.
 *
 * `prepareRunFolder` checks before it writes: a --run-dir whose config.json has other data fields
 * is refused (UsageError naming --fresh and --run-dir) with nothing written.
 */

import fs from "node:fs";
import path from "node:path";
import type { ExperimentConfig } from "@updates-leak/attacks/config";
import { formatUpdateRule, PAPER_UPDATE } from "@updates-leak/core/update-spec";
import { isTempName, jsonReplacer, readJsonIfExists, writeFileAtomic, writeJsonAtomic } from "./atomic.ts";
import { configHash, describeDataDifference } from "./config-hash.ts";
import { UsageError } from "./errors.ts";
import type { ShardSlice } from "./shard-store.ts";

export const RUN_FORMAT = "updates-leak-run";
/**
 * result.json's format and version: 1 adds `format`, `seed` and the whole resolved `config`; 2 adds
 * `predictions` (per-target arrays in predictions/*.npy).
 */
export const RESULT_FORMAT = "updates-leak-result";
export const RESULT_VERSION = 2;

/** Names inside a run folder that belong to us (the only ones --fresh deletes). */
const OWNED = [
  "config.json",
  "metrics.jsonl",
  "result.json",
  "run.log",
  "figures",
  "predictions",
  "shards",
  "parts",
  "checkpoints",
  "scores",
] as const;

/** `2026-11-28T22:40:12.345Z` -> `20261128T224012Z`. */
export function utcStamp(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d{3}Z$/, "Z")
    .replace(/[-:]/g, "");
}

/**
 * A new run folder's name: `<UTC time>-<attack>-<data set>-s<seed>`, then `-smoke` for a smoke run
 * and the defence where there is one (`-topk_1`, `-round_2+topk_3`, `-noise_0.01-nonadaptive`),
 * and the owner's update rule where it is not the paper's (`-adam_0.001_64_1`), so that a listing
 * of `runs/` says what each run is.
 */
export function runFolderName(
  now: Date,
  config: Pick<ExperimentConfig, "attack" | "dataset" | "seed" | "smoke" | "defence" | "threat"> & {
    update?: string;
  },
): string {
  const parts = [utcStamp(now), config.attack, config.dataset, `s${config.seed}`];
  if (config.smoke) parts.push("smoke");
  if (config.defence !== "none") {
    parts.push(config.defence.replace(/:/g, "_"));
    if (config.threat !== "adaptive") parts.push(config.threat.replace("-", ""));
  }
  const paperUpdate = formatUpdateRule(PAPER_UPDATE);
  if (config.update !== undefined && config.update !== paperUpdate)
    parts.push(config.update.replace(/:/g, "_"));
  return parts.join("-");
}

/** A side's store: shadow, target, or an extra target side of another set size (A_LDE relaxation). */
export type ShardSide = "shadow" | "target" | `target-s${number}`;

export interface RunFolderSpec {
  runsDir: string;
  /** Reuse (resume) this folder instead of making a new one. */
  runDir?: string;
  /** With runDir: delete our files in it first. */
  fresh?: boolean;
  now?: Date;
}

interface StoredRecord {
  format?: string;
  config?: Record<string, unknown>;
  configHash?: string;
}

function readRecord(file: string): StoredRecord | null {
  const raw = readJsonIfExists(file);
  if (raw === null) return null;
  const r = raw as StoredRecord;
  if (r.format !== RUN_FORMAT || !r.config || typeof r.configHash !== "string") {
    throw new UsageError(`${file} is not an updates-leak run record; pick another --run-dir`);
  }
  return r;
}

export class RunFolder {
  readonly dir: string;
  /** The folder existed with a config.json (a resume). */
  readonly resumed: boolean;
  private metricsFd: number | null = null;

  private constructor(dir: string, resumed: boolean) {
    this.dir = dir;
    this.resumed = resumed;
  }

  get configFile(): string {
    return path.join(this.dir, "config.json");
  }
  get metricsFile(): string {
    return path.join(this.dir, "metrics.jsonl");
  }
  get resultFile(): string {
    return path.join(this.dir, "result.json");
  }
  get logFile(): string {
    return path.join(this.dir, "run.log");
  }
  /** A side's store folder: shadow, target, or an extra target side `target-s<set size>`. */
  shardsDir(side: ShardSide): string {
    return path.join(this.dir, "shards", side);
  }

  /**
   * Check (nothing written yet) that `spec.runDir` can hold `config`: throws UsageError when its
   * config.json has other data fields and --fresh is not given. Returns what prepare will do.
   */
  static check(config: ExperimentConfig, spec: RunFolderSpec): { dir: string; exists: boolean } {
    if (!spec.runDir) {
      if (spec.fresh) throw new UsageError("--fresh needs --run-dir (a new run folder is always fresh)");
      const base = path.resolve(spec.runsDir, runFolderName(spec.now ?? new Date(), config));
      let dir = base;
      for (let k = 2; fs.existsSync(dir); k++) dir = `${base}-${k}`;
      return { dir, exists: false };
    }
    const dir = path.resolve(spec.runDir);
    if (!fs.existsSync(dir)) return { dir, exists: false };
    if (!fs.statSync(dir).isDirectory()) throw new UsageError(`--run-dir ${dir} is not a folder`);
    const rec = readRecord(path.join(dir, "config.json"));
    if (!rec) {
      // A temporary file of ours is no stranger: the parts of a job array start together, and
      // one may look while another is writing config.json.
      const owned = (n: string) =>
        (OWNED as readonly string[]).includes(isTempName(n) ? n.replace(/\.tmp-\d+-[0-9a-f]{8}$/, "") : n);
      const foreign = fs.readdirSync(dir).filter((n) => !owned(n));
      if (foreign.length > 0) {
        throw new UsageError(
          `--run-dir ${dir} is not empty and has no config.json (found ${foreign.slice(0, 3).join(", ")}); pick an empty or new folder`,
        );
      }
      return { dir, exists: true };
    }
    if (rec.configHash !== configHash(config) && !spec.fresh) {
      const diff = describeDataDifference(rec.config ?? {}, config);
      throw new UsageError(
        `--run-dir ${dir} was made for another config (${diff.join(", ") || "different data fields"}). ` +
          "Resume with the same data settings, or start fresh: add --fresh (deletes this folder's results, shards, checkpoints and scores) or pick a new --run-dir.",
      );
    }
    return { dir, exists: true };
  }

  /** Check, then create (or clear with --fresh) the folder. */
  static prepare(config: ExperimentConfig, spec: RunFolderSpec): RunFolder {
    const { dir, exists } = RunFolder.check(config, spec);
    let resumed = exists && fs.existsSync(path.join(dir, "config.json"));
    if (exists && spec.fresh) {
      for (const n of OWNED) fs.rmSync(path.join(dir, n), { recursive: true, force: true });
      resumed = false;
    }
    fs.mkdirSync(dir, { recursive: true });
    return new RunFolder(dir, resumed);
  }

  /** Open an existing run folder (for `merge`); returns its stored config record. */
  static open(dir: string): { folder: RunFolder; record: Record<string, unknown> } {
    const abs = path.resolve(dir);
    const file = path.join(abs, "config.json");
    if (!fs.existsSync(file))
      throw new UsageError(`--run-dir ${abs} has no config.json; is it a run folder?`);
    const rec = readRecord(file) as Record<string, unknown>;
    return { folder: new RunFolder(abs, true), record: rec };
  }

  writeConfig(record: Record<string, unknown>): void {
    writeJsonAtomic(this.configFile, { format: RUN_FORMAT, ...record });
  }

  /** Append one event to metrics.jsonl with a timestamp. */
  metric(event: Record<string, unknown>): void {
    const line = `${JSON.stringify({ time: new Date().toISOString(), ...event }, jsonReplacer)}\n`;
    if (this.metricsFd === null) this.metricsFd = fs.openSync(this.metricsFile, "a");
    fs.writeSync(this.metricsFd, line);
    fs.fsyncSync(this.metricsFd);
  }

  writeResult(result: Record<string, unknown>): void {
    writeJsonAtomic(this.resultFile, { format: RESULT_FORMAT, version: RESULT_VERSION, ...result });
  }

  /** Write predictions/<name> atomically; returns the path relative to the run folder. */
  writePrediction(name: string, bytes: Uint8Array): string {
    fs.mkdirSync(path.join(this.dir, "predictions"), { recursive: true });
    writeFileAtomic(path.join(this.dir, "predictions", name), bytes);
    return `predictions/${name}`;
  }

  /** Write figures/<name> atomically; returns the path relative to the run folder. */
  writeFigure(name: string, png: Uint8Array): string {
    fs.mkdirSync(path.join(this.dir, "figures"), { recursive: true });
    writeFileAtomic(path.join(this.dir, "figures", name), png);
    return `figures/${name}`;
  }

  /** checkpoints/<name>.bin; `name` is letters, digits, `.`, `_` and `-`, not starting with `.`. */
  checkpointFile(name: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name))
      throw new Error(`checkpoint name ${JSON.stringify(name)} is not letters, digits, '.', '_' and '-'`);
    return path.join(this.dir, "checkpoints", `${name}.bin`);
  }

  /** The bytes of checkpoints/<name>.bin, or null when there is no such file. */
  readCheckpoint(name: string): Uint8Array | null {
    const file = this.checkpointFile(name);
    try {
      return fs.readFileSync(file);
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") return null;
      throw new Error(`could not read ${file}: ${(err as Error).message}`);
    }
  }

  /** Replace checkpoints/<name>.bin atomically (a kill leaves the old file or the new one). */
  writeCheckpoint(name: string, bytes: Uint8Array): void {
    const file = this.checkpointFile(name);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, bytes);
  }

  writePart(slice: ShardSlice, record: Record<string, unknown>): string {
    const rel = `parts/part-${slice.part}-of-${slice.of}.json`;
    fs.mkdirSync(path.join(this.dir, "parts"), { recursive: true });
    writeJsonAtomic(path.join(this.dir, rel), record);
    return rel;
  }

  close(): void {
    if (this.metricsFd !== null) {
      fs.closeSync(this.metricsFd);
      this.metricsFd = null;
    }
  }
}

/** Parse metrics.jsonl, skipping a torn last line (a crash mid-append). */
export function readMetrics(file: string): Record<string, unknown>[] {
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, "utf8").split("\n");
  const out: Record<string, unknown>[] = [];
  lines.forEach((l, i) => {
    if (!l.trim()) return;
    try {
      out.push(JSON.parse(l) as Record<string, unknown>);
    } catch (err) {
      // Only a last line without its newline can be torn; anything else is damage worth reporting.
      if (i !== lines.length - 1) throw new Error(`${file} line ${i + 1}: ${(err as Error).message}`);
    }
  });
  return out;
}
