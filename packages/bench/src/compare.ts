/**
 * `bench compare A B`: speed ratios between two sets of results.
 *   - two results files: each (suite, case, backend, params) present in both, the latest record of
 *     each file;
 *   - two backends of one file (`compare wasm:2 wasm:1 [--file F]`): each (suite, case, params)
 *     measured on both IN THE SAME RUN (same runId; the latest run that has both, or --run ID),
 *     so both sides saw the same machine load.
 * speed ratio = median time of B / median time of A: above 1, A is faster. Skipped records and
 * records without timing are left out; smoke and full records never match (their params differ,
 * and `smoke` is part of the key).
 */
import { UsageError } from "./args.ts";
import { fmt, table } from "./format.ts";
import type { BenchRecord } from "./record.ts";
import { round4 } from "./stats.ts";

export interface CompareSide {
  label: string;
  medianMs: number;
  minMs: number;
  maxMs: number;
  runId: string;
}

export interface CompareRow {
  suite: string;
  case: string;
  params: Record<string, unknown>;
  /** Present when comparing files. */
  backend?: string;
  a: CompareSide;
  b: CompareSide;
  /** b.medianMs / a.medianMs: above 1, A is faster. */
  speedRatio: number;
}

/** Canonical JSON (sorted keys) for keys. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

function caseKey(r: BenchRecord, withBackend: boolean): string {
  return [
    r.suite,
    r.case,
    r.smoke ? "smoke" : "full",
    withBackend ? r.backend : "",
    canonical(r.params),
  ].join("|");
}

function timed(records: readonly BenchRecord[]): BenchRecord[] {
  return records.filter((r) => r.status === "ok" && r.timing !== null && r.timing.medianMs > 0);
}

function side(label: string, r: BenchRecord): CompareSide {
  const t = r.timing!;
  return { label, medianMs: t.medianMs, minMs: t.minMs, maxMs: t.maxMs, runId: r.runId };
}

function row(r: BenchRecord, a: CompareSide, b: CompareSide, backend?: string): CompareRow {
  return {
    suite: r.suite,
    case: r.case,
    params: r.params,
    ...(backend === undefined ? {} : { backend }),
    a,
    b,
    speedRatio: round4(b.medianMs / a.medianMs),
  };
}

/** Latest record per key (later lines win). */
function latest(records: readonly BenchRecord[], withBackend: boolean): Map<string, BenchRecord> {
  const m = new Map<string, BenchRecord>();
  for (const r of timed(records)) m.set(caseKey(r, withBackend), r);
  return m;
}

export function compareFiles(
  aRecords: readonly BenchRecord[],
  bRecords: readonly BenchRecord[],
  aLabel: string,
  bLabel: string,
): CompareRow[] {
  const a = latest(aRecords, true);
  const b = latest(bRecords, true);
  const rows: CompareRow[] = [];
  for (const [k, ra] of a) {
    const rb = b.get(k);
    if (rb) rows.push(row(ra, side(aLabel, ra), side(bLabel, rb), ra.backend));
  }
  return rows;
}

/**
 * Backends `a` and `b` within one run: the given runId, else the latest run holding timed records
 * of both. Throws, naming what is there, when no run has both.
 */
export function compareBackends(
  records: readonly BenchRecord[],
  a: string,
  b: string,
  runId?: string,
): { runId: string; rows: CompareRow[] } {
  const ok = timed(records);
  const runs: string[] = [];
  for (const r of ok) if (!runs.includes(r.runId)) runs.push(r.runId);
  const both = runs.filter(
    (id) =>
      ok.some((r) => r.runId === id && r.backend === a) && ok.some((r) => r.runId === id && r.backend === b),
  );
  const chosen = runId ?? both[both.length - 1];
  if (chosen === undefined || !both.includes(chosen)) {
    const backends = [...new Set(ok.map((r) => r.backend))].join(", ") || "none";
    throw new UsageError(
      runId === undefined
        ? `compare: no run holds results of both '${a}' and '${b}' (backends in the file: ${backends})`
        : `compare: --run ${runId} does not hold results of both '${a}' and '${b}'`,
    );
  }
  const inRun = ok.filter((r) => r.runId === chosen);
  const ma = latest(
    inRun.filter((r) => r.backend === a),
    false,
  );
  const mb = latest(
    inRun.filter((r) => r.backend === b),
    false,
  );
  const rows: CompareRow[] = [];
  for (const [k, ra] of ma) {
    const rb = mb.get(k);
    if (rb) rows.push(row(ra, side(a, ra), side(b, rb)));
  }
  return { runId: chosen, rows };
}

export function compareTable(rows: readonly CompareRow[]): string {
  if (rows.length === 0) return "(no case measured on both sides)";
  const a = rows[0]!.a.label;
  const b = rows[0]!.b.label;
  const withBackend = rows.some((r) => r.backend !== undefined);
  const out: string[][] = [
    [
      "suite",
      "case",
      ...(withBackend ? ["backend"] : []),
      `${a} median ms`,
      `${b} median ms`,
      `speed ${a} / ${b}`,
    ],
  ];
  for (const r of rows) {
    out.push([
      r.suite,
      r.case,
      ...(withBackend ? [r.backend ?? ""] : []),
      fmt(r.a.medianMs),
      fmt(r.b.medianMs),
      `${fmt(r.speedRatio)}x`,
    ]);
  }
  return table(out);
}
