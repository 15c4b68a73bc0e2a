/**
 * The results files: JSON lines, one `BenchRecord` each, appended (never rewritten). The default
 * file is bench/results/<host>.jsonl at the repository root, so machines do not write over each
 * other's results; --smoke runs write nowhere unless --out names a file.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { moduleDir } from "@updates-leak/core/platform";
import { UsageError } from "./args.ts";
import { type BenchRecord, SCHEMA } from "./record.ts";

/** The repository root (this file is packages/bench/src/results.ts). */
export function repoRoot(): string {
  return path.resolve(moduleDir(import.meta.url), "..", "..", "..");
}

export function defaultResultsPath(host = os.hostname()): string {
  const safe = host.replace(/[^A-Za-z0-9._-]/g, "_");
  return path.join(repoRoot(), "bench", "results", `${safe}.jsonl`);
}

export function appendRecords(file: string, records: readonly BenchRecord[]): void {
  if (records.length === 0) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.appendFileSync(file, records.map((r) => `${JSON.stringify(r)}\n`).join(""));
}

/** Reads a results file; lines that are not bench records are skipped and counted. */
export function readRecords(file: string): { records: BenchRecord[]; skipped: number } {
  if (!fs.existsSync(file)) throw new UsageError(`results file ${file} does not exist`);
  const records: BenchRecord[] = [];
  let skipped = 0;
  for (const line of fs.readFileSync(file, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    try {
      const r = JSON.parse(line) as BenchRecord;
      if (r.schema === SCHEMA) records.push(r);
      else skipped++;
    } catch {
      skipped++;
    }
  }
  return { records, skipped };
}
