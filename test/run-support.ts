/**
 * Shared by the end-to-end run tests (resume, job-array parts): the real CLI in a child process,
 * and comparisons of two run folders (shard files byte for byte, result.json metric values).
 */
import { expect } from "bun:test";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dir, "..");
export const CLI = path.join(ROOT, "tools", "src", "cli.ts");

export interface LeakResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The CLI flags the end-to-end run tests end with: wasm on one thread (the same numbers on any
 * machine) and a model cache inside the test's folder `tmp`.
 */
export function oneWasmThread(tmp: string): string[] {
  return ["--backend", "wasm", "--threads", "1", "--model-cache-dir", path.join(tmp, "model-cache")];
}

/** `bun tools/src/cli.ts ...args` in `cwd`, to completion. */
export function leak(args: string[], cwd: string, timeoutMs = 120_000): LeakResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    encoding: "utf8",
    timeout: timeoutMs,
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Fails the test with the child's output when it did not exit 0. */
export function expectOk(r: LeakResult): void {
  if (r.code !== 0)
    throw new Error(`leak exited ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
}

/**
 * The CLI as a child process that the caller watches and may kill; its output goes to
 * `<logBase>.stdout` and `<logBase>.stderr` (files: an unread pipe could fill and stall it).
 */
export function spawnLeak(args: string[], cwd: string, logBase: string) {
  return Bun.spawn([process.execPath, CLI, ...args], {
    cwd,
    stdout: Bun.file(`${logBase}.stdout`),
    stderr: Bun.file(`${logBase}.stderr`),
    env: { ...process.env, NO_COLOR: "1" },
  });
}

/** Shard indices listed in `<runDir>/shards/<side>/manifest.json` (0 when it is absent). */
export function listedShards(runDir: string, side: "shadow" | "target"): number[] {
  const file = path.join(runDir, "shards", side, "manifest.json");
  if (!fs.existsSync(file)) return [];
  const m = JSON.parse(fs.readFileSync(file, "utf8")) as { shards: Record<string, unknown> };
  return Object.keys(m.shards)
    .map(Number)
    .sort((a, b) => a - b);
}

/** Names of the shard files of a side (temporary files excluded). */
export function shardFiles(runDir: string, side: "shadow" | "target"): string[] {
  return fs
    .readdirSync(path.join(runDir, "shards", side))
    .filter((n) => /^shard-\d{6}\.bin$/.test(n))
    .sort();
}

/** Both run folders hold the same shard files, byte for byte, and list the same checksums. */
export function expectSameShards(dir: string, ref: string): void {
  for (const side of ["shadow", "target"] as const) {
    const names = shardFiles(ref, side);
    expect(names.length).toBeGreaterThan(0);
    expect(shardFiles(dir, side)).toEqual(names);
    for (const n of names) {
      const a = fs.readFileSync(path.join(dir, "shards", side, n));
      const b = fs.readFileSync(path.join(ref, "shards", side, n));
      if (Buffer.compare(a, b) !== 0) throw new Error(`${side}/${n} differs from the reference run's`);
    }
    const sums = (d: string) =>
      JSON.parse(fs.readFileSync(path.join(d, "shards", side, "manifest.json"), "utf8")).shards;
    expect(sums(dir)).toEqual(sums(ref));
  }
}

export interface ResultFile {
  metric: string;
  value: number;
  baselines: Record<string, number>;
  extra: Record<string, unknown>;
  counts: Record<string, number>;
}

export function readResult(runDir: string): ResultFile {
  return JSON.parse(fs.readFileSync(path.join(runDir, "result.json"), "utf8")) as ResultFile;
}

/** The numbers of a result that must not depend on how the shards were made (not timings). */
export function metricValues(r: ResultFile): Record<string, unknown> {
  return { metric: r.metric, value: r.value, baselines: r.baselines, shadowAccuracy: r.extra.shadowAccuracy };
}

/** Seconds between consecutive `generate-<side>` shard events of a finished run's metrics.jsonl. */
export function secondsPerShard(runDir: string, side: "shadow" | "target"): number {
  const times = fs
    .readFileSync(path.join(runDir, "metrics.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as { time: string; stage: string })
    .filter((e) => e.stage === `generate-${side}`)
    .map((e) => Date.parse(e.time));
  const gaps = times.slice(1).map((t, i) => t - times[i]!);
  gaps.sort((a, b) => a - b);
  return (gaps[gaps.length >> 1] ?? 0) / 1000;
}

let built = false;

/**
 * Runs `npm run build` (tools/build.ts) once per test process: the bundles that Node and Deno run
 * (tools/dist, packages/bench/dist, examples/dist).
 */
export function ensureBuilt(): void {
  if (built) return;
  const build = spawnSync(process.execPath, [path.join(ROOT, "tools", "build.ts")], { encoding: "utf8" });
  if (build.status !== 0) throw new Error(`tools/build.ts failed:\n${build.stdout}\n${build.stderr}`);
  built = true;
}

/** The installed version of a command, or null when it does not run. */
export function commandVersion(cmd: string): string | null {
  const r = spawnSync(cmd, ["--version"], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim().split("\n")[0]! : null;
}

/** Deno, from the npm package `deno` that `npm ci` installs. */
export const DENO = path.join(ROOT, "node_modules", ".bin", "deno");
