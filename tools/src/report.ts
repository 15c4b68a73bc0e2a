/**
 * `leak report RUN...`: one row per setting over many run folders, the metric's mean ± sd over
 * seeds and n. A setting is the run's config without its seed and the fields that only choose how
 * it is computed (backend, threads, chunk size); runs of one setting with different seeds are its
 * samples. sd is the sample standard deviation (n - 1), as docs/RESULTS.md reports "0.877 ± 0.005".
 *
 * A folder argument that holds no result.json but run folders is read as the runs under it.
 */
import fs from "node:fs";
import path from "node:path";
import type { OwnerCost } from "@updates-leak/attacks";
import { EXPERIMENT_FIELDS } from "@updates-leak/attacks/config";
import { readJsonIfExists } from "./atomic.ts";
import { UsageError } from "./errors.ts";

/** Config fields that do not make another setting: the seed, and how the numbers are computed. */
const NOT_SETTING = new Set(["seed", "backend", "threads", "chunkSize"]);

/** What a config written before a field existed reads as (`defence: none`, ...). */
const ABSENT = Object.fromEntries(
  EXPERIMENT_FIELDS.flatMap((f) => ("absent" in f && f.absent !== undefined ? [[f.name, f.absent]] : [])),
);

/** A defended run's cost to the model owner (result.json's extra.defence.ownerCost), the numbers a row averages. */
export type OwnerCostSample = Omit<OwnerCost, "models" | "heldOut">;

export interface RunSample {
  dir: string;
  attack: string;
  dataset: string;
  metric: string;
  value: number;
  seed: number;
  baselines: Record<string, number>;
  /** The config without NOT_SETTING fields. */
  setting: Record<string, unknown>;
  ownerCost?: OwnerCostSample;
}

export interface ReportRow {
  attack: string;
  dataset: string;
  metric: string;
  /** The setting fields in which this row differs from another row of its attack and data set, `name=value`. */
  differs: string[];
  setting: Record<string, unknown>;
  n: number;
  seeds: number[];
  values: number[];
  mean: number;
  /** Sample standard deviation (n - 1); NaN for n = 1. */
  sd: number;
  /** Each baseline's mean over the row's runs. */
  baselines: Record<string, number>;
  /** Defended rows: the owner's cost, each number's mean over the row's runs. */
  ownerCost?: OwnerCostSample;
  runs: string[];
}

/** Mean and sample standard deviation (n - 1 in the denominator; NaN for one value). */
export function meanSd(values: readonly number[]): { mean: number; sd: number } {
  if (values.length === 0) throw new Error("meanSd: no values");
  const mean = values.reduce((a, v) => a + v, 0) / values.length;
  if (values.length === 1) return { mean, sd: Number.NaN };
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { mean, sd: Math.sqrt(ss / (values.length - 1)) };
}

/**
 * `mean ± sd` with sd to one significant digit (two when that digit is 1) and the mean to the same
 * decimal place: 0.877 ± 0.005, 0.984 ± 0.014. One value: the value to 3 significant digits.
 */
export function formatMeanSd(mean: number, sd: number): string {
  if (!Number.isFinite(sd)) return String(Number(mean.toPrecision(3)));
  if (sd === 0) return `${Number(mean.toPrecision(4))} ± 0`;
  const lead = Math.floor(Math.log10(sd));
  const digits = Math.round(sd / 10 ** lead) === 1 ? 2 : 1;
  const decimals = Math.max(0, digits - 1 - lead);
  return `${mean.toFixed(decimals)} ± ${sd.toFixed(decimals)}`;
}

/** The run folders named by `args`: each itself, or the run folders directly under it. */
export function runFolders(args: readonly string[]): string[] {
  if (args.length === 0) throw new UsageError("report: name at least one run folder (or a folder of runs)");
  return args.flatMap((arg) => {
    const dir = path.resolve(arg);
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
      throw new UsageError(`report: ${arg} is not a folder; expected a run folder or a folder of runs`);
    if (fs.existsSync(path.join(dir, "config.json"))) return [dir];
    const under = fs
      .readdirSync(dir)
      .map((name) => path.join(dir, name))
      .filter((d) => fs.existsSync(path.join(d, "config.json")))
      .sort();
    if (under.length === 0)
      throw new UsageError(`report: ${arg} holds no config.json and no run folders with one`);
    return under;
  });
}

/** One finished run's metric, seed and setting; a folder without result.json is an error naming it. */
export function readSample(dir: string): RunSample {
  const result = readJsonIfExists(path.join(dir, "result.json")) as Record<string, unknown> | null;
  if (result === null)
    throw new UsageError(
      `report: ${path.join(dir, "result.json")} does not exist (an unfinished run or a --shard part): ` +
        "resume it with --run-dir, or merge the parts and resume, or leave it out",
    );
  const record = readJsonIfExists(path.join(dir, "config.json")) as {
    config?: Record<string, unknown>;
  } | null;
  const config = record?.config;
  if (typeof result.value !== "number" || typeof result.metric !== "string" || config === undefined)
    throw new UsageError(`report: ${dir}: result.json needs a numeric "value" and config.json a "config"`);
  // Without a defence the threat model means nothing: it does not make another setting.
  const full = { ...ABSENT, ...config };
  const setting = Object.fromEntries(
    Object.entries(full).filter(([k]) => !NOT_SETTING.has(k) && !(k === "threat" && full.defence === "none")),
  );
  const defence = (result.extra as { defence?: { ownerCost?: OwnerCostSample } } | undefined)?.defence;
  return {
    dir,
    attack: String(result.attack),
    dataset: String(result.dataset),
    metric: result.metric,
    value: result.value,
    seed: Number(config.seed),
    baselines: (result.baselines ?? {}) as Record<string, number>,
    setting,
    ...(defence?.ownerCost ? { ownerCost: defence.ownerCost } : {}),
  };
}

/** Group samples by setting (first-seen order); each group one row. Two runs of one seed in a group are an error. */
export function reportRows(samples: readonly RunSample[]): ReportRow[] {
  const groups = new Map<string, RunSample[]>();
  for (const s of samples) {
    const key = JSON.stringify([s.metric, s.dataset, Object.entries(s.setting).sort()]);
    const group = groups.get(key) ?? [];
    const twin = group.find((g) => g.seed === s.seed);
    if (twin)
      throw new UsageError(`report: ${twin.dir} and ${s.dir} are the same setting and seed ${s.seed}`);
    group.push(s);
    groups.set(key, group);
  }
  const all = [...groups.values()];
  const differs = (s: RunSample) =>
    Object.entries(s.setting)
      .filter(([k, v]) =>
        all.some(
          (g) =>
            g[0]!.attack === s.attack &&
            g[0]!.dataset === s.dataset &&
            JSON.stringify(g[0]!.setting[k]) !== JSON.stringify(v),
        ),
      )
      .filter(([k]) => k !== "attack" && k !== "dataset")
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return all.map((group) => {
    const first = group[0] as RunSample;
    const values = group.map((g) => g.value);
    const baselines = Object.fromEntries(
      Object.keys(first.baselines).map((k) => [
        k,
        meanSd(group.map((g) => g.baselines[k] ?? Number.NaN)).mean,
      ]),
    );
    return {
      attack: first.attack,
      dataset: first.dataset,
      metric: first.metric,
      differs: differs(first),
      setting: first.setting,
      n: group.length,
      seeds: group.map((g) => g.seed),
      values,
      ...meanSd(values),
      baselines,
      ...meanOwnerCost(group),
      runs: group.map((g) => g.dir),
    };
  });
}

/** The owner's cost of a group's runs, each number's mean; none when a run lacks it. */
function meanOwnerCost(group: readonly RunSample[]): { ownerCost?: OwnerCostSample } {
  const costs = group.map((g) => g.ownerCost);
  if (costs.some((c) => c === undefined)) return {};
  const mean = (k: keyof OwnerCostSample) => meanSd(costs.map((c) => c![k])).mean;
  return {
    ownerCost: {
      accuracy: mean("accuracy"),
      accuracyUndefended: mean("accuracyUndefended"),
      distortionL1: mean("distortionL1"),
    },
  };
}

/** The rows as a Markdown table; with a column of the owner's cost when a row has one. */
export function reportMarkdown(rows: readonly ReportRow[]): string {
  const costs = rows.some((r) => r.ownerCost !== undefined);
  const head = "| attack | data set | setting | metric | mean ± sd | n | seeds | baselines (mean) |";
  const lines = [
    costs ? `${head} owner's accuracy (undefended), L1 distortion |` : head,
    `|${" --- |".repeat(costs ? 9 : 8)}`,
  ];
  for (const r of rows) {
    const base = Object.entries(r.baselines)
      .map(([k, v]) => `${k} ${Number(v.toPrecision(3))}`)
      .join(", ");
    const c = r.ownerCost;
    const cost = c
      ? ` ${c.accuracy.toFixed(3)} (${c.accuracyUndefended.toFixed(3)}), ${c.distortionL1.toFixed(3)} |`
      : " - |";
    lines.push(
      `| ${r.attack} | ${r.dataset} | ${r.differs.join(", ") || "-"} | ${r.metric} | ` +
        `${formatMeanSd(r.mean, r.sd)} | ${r.n} | ${r.seeds.join(", ")} | ${base} |${costs ? cost : ""}`,
    );
  }
  return lines.join("\n");
}
