/**
 * One benchmark result: a JSON object on one line (of stdout with --json, and of the results
 * file). Every line carries the machine and the runtime it came from, so lines from different
 * machines and runs can be mixed in one file and still be told apart.
 */
import os from "node:os";
import { probeWebGpu, type RuntimeFacts, runtimeFacts } from "@updates-leak/core";
import type { Spread } from "./stats.ts";
import { round4 } from "./stats.ts";

export const SCHEMA = "updates-leak-bench/1";
export const SUITES = ["kernels", "engine", "train", "data", "pipeline"] as const;
export type SuiteName = (typeof SUITES)[number];

export interface MachineFacts {
  host: string;
  cpuModel: string;
  cores: number;
  totalMemoryBytes: number;
  /** The WebGPU adapter found (description), or null when none. */
  gpuAdapter: string | null;
  /** "hardware" | "software" | "null" (Dawn's Null adapter), or null when none. */
  gpuAdapterKind: string | null;
  /** 1-minute load average when the record was made: other load inflates wall clocks. */
  loadavg1: number;
}

/** Items processed per second, from the per-run count and the timing. */
export interface Rate {
  unit: string;
  /** Items per timed run. */
  perRun: number;
  /** perRun / median time, perRun / fastest time. */
  median: number;
  best: number;
}

export interface BenchRecord {
  schema: typeof SCHEMA;
  /** Shared by every record of one CLI invocation. */
  runId: string;
  /** ISO time the record was made. */
  time: string;
  smoke: boolean;
  suite: SuiteName;
  /** Stable name of the case inside its suite. */
  case: string;
  /** "wasm:1", "wasm:2", "cpu", "webgpu" (as it ran; see runtime.backend), or "none". */
  backend: string;
  status: "ok" | "skipped";
  /** Shapes, counts and settings of the case: part of the key when comparing. */
  params: Record<string, unknown>;
  /** Per timed run (ms), the first run apart; null when skipped. */
  timing: Spread | null;
  /** FLOP per timed run and how it was counted; null when FLOPs do not apply. */
  work: { flop: number; formula: string } | null;
  /** work.flop / median and / fastest run. */
  gflops: { median: number; best: number } | null;
  rate: Rate | null;
  /** Derived figures: ratios (engine vs reference, backend vs backend), fraction of peak, extrapolations. */
  derived: Record<string, number | string | null>;
  notes: string[];
  machine: MachineFacts;
  runtime: Readonly<RuntimeFacts>;
}

/** What a suite says about one case; the CLI adds the rest. */
export interface CaseResult {
  case: string;
  status?: "ok" | "skipped";
  params: Record<string, unknown>;
  timing: Spread | null;
  flop?: number;
  formula?: string;
  rate?: { unit: string; perRun: number };
  derived?: Record<string, number | string | null>;
  notes?: string[];
}

let gpu: Promise<{ adapter: string | null; kind: string | null }> | null = null;

/** The WebGPU adapter, probed once per process (loads Dawn; reports null if it cannot). */
export function gpuFacts(): Promise<{ adapter: string | null; kind: string | null }> {
  gpu ??= probeWebGpu().then(
    (p) => ({ adapter: p.adapter ? p.why : null, kind: p.adapter ? p.adapter.kind : null }),
    () => ({ adapter: null, kind: null }),
  );
  return gpu;
}

export async function machineFacts(): Promise<MachineFacts> {
  const cpus = os.cpus();
  const g = await gpuFacts();
  return {
    host: os.hostname(),
    cpuModel: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    totalMemoryBytes: os.totalmem(),
    gpuAdapter: g.adapter,
    gpuAdapterKind: g.kind,
    loadavg1: Math.round((os.loadavg()[0] ?? 0) * 100) / 100,
  };
}

/** The label of the running backend: "wasm:<threads>", "cpu", "webgpu", or "none" before any. */
export function backendLabel(facts: Readonly<RuntimeFacts>): string {
  const b = facts.backend;
  if (!b) return "none";
  return b.backend === "wasm" ? `wasm:${b.threads}` : b.backend;
}

export interface RecordContext {
  runId: string;
  smoke: boolean;
  suite: SuiteName;
  machine: MachineFacts;
  /** Override the backend label (the data suite runs no tensors: "none"). */
  backend?: string;
}

export function makeRecord(ctx: RecordContext, r: CaseResult): BenchRecord {
  const runtime = runtimeFacts();
  const t = r.timing;
  const flop = r.flop;
  const gflops =
    t && flop !== undefined && t.medianMs > 0
      ? { median: round4(flop / t.medianMs / 1e6), best: round4(flop / t.minMs / 1e6) }
      : null;
  const rate =
    t && r.rate
      ? {
          unit: r.rate.unit,
          perRun: r.rate.perRun,
          median: round4((r.rate.perRun * 1000) / t.medianMs),
          best: round4((r.rate.perRun * 1000) / t.minMs),
        }
      : null;
  return {
    schema: SCHEMA,
    runId: ctx.runId,
    time: new Date().toISOString(),
    smoke: ctx.smoke,
    suite: ctx.suite,
    case: r.case,
    backend: ctx.backend ?? backendLabel(runtime),
    status: r.status ?? (t ? "ok" : "skipped"),
    params: r.params,
    timing: t,
    work: flop !== undefined ? { flop, formula: r.formula ?? "" } : null,
    gflops,
    rate,
    derived: r.derived ?? {},
    notes: r.notes ?? [],
    machine: { ...ctx.machine, loadavg1: Math.round((os.loadavg()[0] ?? 0) * 100) / 100 },
    runtime,
  };
}

/** A run id: UTC time to the second plus a random suffix. */
export function newRunId(): string {
  const t = new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${t}-${Math.random().toString(36).slice(2, 6)}`;
}
