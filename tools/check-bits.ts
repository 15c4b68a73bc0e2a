/**
 * Bit-for-bit check of the attack pipelines, for refactors that must not change any result.
 *
 *   npx bun tools/check-bits.ts --out DIR [--datasets mnist,cifar10,insta-ny] [--attacks label,...]
 *        [--backend wasm] [--threads 2] [--data-dir DIR]
 *     runs `leak <attack> --dataset <d> --smoke` for each attack on each data set whose files are
 *     present (insta-ny: label and reconstruct only; its synthetic stand-in needs no files), one at
 *     a time, each into DIR/runs/<attack>-<dataset>, all with one fresh model cache DIR/cache (the
 *     first run of a data set trains its originals, later ones load them), and writes DIR/bits.json:
 *     every shard's and figure's sha256, and every value of result.json, shard manifests and
 *     metrics.jsonl, timings and clock times left out.
 *
 *   npx bun tools/check-bits.ts --compare A.json B.json [--common]
 *     prints each value that differs, or is in one file only, and exits 1 if there is any;
 *     --common compares only the runs both files hold and lists the others.
 *
 * Data: --data-dir, else $UPDATES_LEAK_DATA (as the CLI). A data set whose folder is missing is
 * reported skipped with the reason, never passed.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { moduleDir } from "@updates-leak/core/platform";

const ATTACKS = ["label", "reconstruct", "distribution", "msr"] as const;
const DATASETS = ["mnist", "cifar10", "insta-ny"] as const;
/** Attacks each data set is run with (insta-ny: the paper's single-sample attacks). */
const ATTACKS_OF: Record<string, readonly string[]> = {
  mnist: ATTACKS,
  cifar10: ATTACKS,
  "insta-ny": ["label", "reconstruct"],
};
/** Files a data set's folder must hold for its runs to be attempted. */
const NEEDS: Record<string, string[]> = {
  mnist: ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"],
  cifar10: ["data_batch_1.bin"],
  "insta-ny": [],
};
/** Keys whose values are clock times or durations, or name this machine: never compared. */
const SKIP_KEY = /seconds|^time$|At$|^wall|^timings|^invocation$|^cacheDir$|^dataDir$|^cwd$|^git$|^host$/i;

type Flat = Record<string, unknown>;

function usage(msg: string): never {
  process.stderr.write(`check-bits: ${msg}\n`);
  process.exit(2);
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith("--")) usage(`${name} needs a value`);
  return v;
}

function list(value: string | undefined, allowed: readonly string[], name: string): string[] {
  if (value === undefined) return [...allowed];
  const items = value.split(",").filter((s) => s !== "");
  for (const it of items) {
    if (!allowed.includes(it)) usage(`${name} ${it}: expected one of ${allowed.join(", ")}`);
  }
  return items;
}

/** Flattens JSON into path -> leaf value, dropping SKIP_KEY keys at any depth. */
export function flatten(value: unknown, prefix: string, out: Flat): Flat {
  if (value !== null && typeof value === "object") {
    const entries = Array.isArray(value)
      ? value.map((v, i) => [String(i), v] as const)
      : Object.entries(value);
    if (entries.length === 0) out[prefix] = Array.isArray(value) ? [] : {};
    for (const [k, v] of entries) {
      if (!Array.isArray(value) && SKIP_KEY.test(k)) continue;
      flatten(v, prefix === "" ? k : `${prefix}.${k}`, out);
    }
  } else {
    out[prefix] = value;
  }
  return out;
}

function sha256(file: string): string {
  return createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out.sort();
}

/** What one run folder holds, as comparable values. */
function collectRun(runDir: string): Flat {
  const out: Flat = {};
  for (const file of filesUnder(runDir)) {
    const rel = path.relative(runDir, file).split(path.sep).join("/");
    if (rel.endsWith(".bin") || rel.endsWith(".png")) out[`sha256:${rel}`] = sha256(file);
    else if (rel.endsWith(".json")) {
      flatten(JSON.parse(fs.readFileSync(file, "utf8")), rel, out);
    } else if (rel.endsWith(".jsonl")) {
      const lines = fs
        .readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l.trim() !== "");
      lines.forEach((l, i) => {
        flatten(JSON.parse(l), `${rel}#${i}`, out);
      });
    }
  }
  return out;
}

function missingData(dataset: string, dataDir: string | undefined): string | null {
  const needs = NEEDS[dataset] ?? [];
  if (needs.length === 0) return null;
  if (dataDir === undefined) return "no --data-dir and no UPDATES_LEAK_DATA";
  const folder = path.join(dataDir, dataset);
  for (const f of needs) {
    if (!fs.existsSync(path.join(folder, f)) && !fs.existsSync(path.join(folder, `${f}.gz`))) {
      return `${path.join(folder, f)}(.gz) not found`;
    }
  }
  return null;
}

function runAll(args: string[]): void {
  const out = flag(args, "--out") ?? usage("--out DIR is required (or --compare A.json B.json)");
  const datasets = list(flag(args, "--datasets"), DATASETS, "--datasets");
  const attacks = list(flag(args, "--attacks"), ATTACKS, "--attacks");
  const backend = flag(args, "--backend") ?? "wasm";
  const threads = flag(args, "--threads") ?? "2";
  const dataDir = flag(args, "--data-dir") ?? process.env.UPDATES_LEAK_DATA;
  if (fs.existsSync(out) && fs.readdirSync(out).length > 0) usage(`--out ${out}: not empty`);
  fs.mkdirSync(out, { recursive: true });
  const cli = path.join(moduleDir(import.meta.url), "src", "cli.ts");
  const started = performance.now();
  const runs: Record<string, Flat> = {};
  const skipped: Record<string, string> = {};
  for (const dataset of datasets) {
    const why = missingData(dataset, dataDir);
    for (const attack of attacks) {
      if (!(ATTACKS_OF[dataset] ?? []).includes(attack)) continue;
      const name = `${attack}-${dataset}`;
      if (why !== null) {
        skipped[name] = why;
        process.stdout.write(`skipped ${name}: ${why}\n`);
        continue;
      }
      const runDir = path.join(out, "runs", name);
      const argv = [cli, attack, "--dataset", dataset, "--smoke", "--run-dir", runDir];
      argv.push("--cache-dir", path.join(out, "cache"), "--backend", backend, "--threads", threads);
      if (dataDir !== undefined) argv.push("--data-dir", dataDir);
      const t0 = performance.now();
      const r = spawnSync(process.execPath, argv, { stdio: ["ignore", "pipe", "pipe"] });
      const secs = (performance.now() - t0) / 1000;
      fs.writeFileSync(path.join(out, `${name}.log`), Buffer.concat([r.stdout, r.stderr]));
      if (r.status !== 0) {
        usage(`${name} failed (exit ${r.status}); see ${path.join(out, `${name}.log`)}`);
      }
      runs[name] = collectRun(runDir);
      process.stdout.write(`${name}: ${secs.toFixed(1)} s\n`);
      // Written after every run, so an interrupted check keeps what it has.
      writeBits(out, { format: "updates-leak-check-bits", backend, threads, runs, skipped });
    }
  }
  const seconds = (performance.now() - started) / 1000;
  const file = writeBits(out, { format: "updates-leak-check-bits", backend, threads, runs, skipped });
  process.stdout.write(`wrote ${file} (${Object.keys(runs).length} runs in ${seconds.toFixed(0)} s)\n`);
}

function writeBits(out: string, doc: object): string {
  const file = path.join(out, "bits.json");
  fs.writeFileSync(file, `${JSON.stringify(doc, null, 1)}\n`);
  return file;
}

/**
 * Every value of A and B, compared; with `common`, only the runs both hold (the others are listed,
 * not counted as differences).
 */
function compare(a: string, b: string, common: boolean): number {
  const read = (f: string): { runs: Record<string, unknown>; skipped: Record<string, unknown> } => {
    if (!fs.existsSync(f)) usage(`--compare ${f}: no such file`);
    const doc = JSON.parse(fs.readFileSync(f, "utf8"));
    if (doc?.format !== "updates-leak-check-bits") usage(`${f}: not a check-bits JSON`);
    return { runs: doc.runs ?? {}, skipped: doc.skipped ?? {} };
  };
  const da = read(a);
  const db = read(b);
  const diffs: string[] = [];
  // A run in one file only is one line (a difference unless --common), not one per value.
  for (const [x, y, label] of [
    [da, db, "A"],
    [db, da, "B"],
  ] as const) {
    for (const name of Object.keys(x.runs)) {
      if (name in y.runs) continue;
      if (common) process.stdout.write(`not compared (only in ${label}): ${name}\n`);
      else diffs.push(`run only in ${label}: ${name}`);
      delete x.runs[name];
    }
  }
  const fa = flatten(da, "", {});
  const fb = flatten(db, "", {});
  for (const k of new Set([...Object.keys(fa), ...Object.keys(fb)])) {
    if (!(k in fb)) diffs.push(`only in A: ${k} = ${JSON.stringify(fa[k])}`);
    else if (!(k in fa)) diffs.push(`only in B: ${k} = ${JSON.stringify(fb[k])}`);
    else if (!Object.is(fa[k], fb[k]) && JSON.stringify(fa[k]) !== JSON.stringify(fb[k])) {
      diffs.push(`differs: ${k}: ${JSON.stringify(fa[k])} vs ${JSON.stringify(fb[k])}`);
    }
  }
  for (const d of diffs) process.stdout.write(`${d}\n`);
  const n = Object.keys(fa).length;
  process.stdout.write(diffs.length === 0 ? `identical: ${n} values\n` : `${diffs.length} differences\n`);
  return diffs.length === 0 ? 0 : 1;
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const i = args.indexOf("--compare");
  if (i >= 0) {
    const [a, b] = [args[i + 1], args[i + 2]];
    if (a === undefined || b === undefined) usage("--compare needs two files: A.json B.json");
    process.exit(compare(a, b, args.includes("--common")));
  }
  runAll(args);
}
