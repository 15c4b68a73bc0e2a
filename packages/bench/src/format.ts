/**
 * The readable output: one table per suite (case, backend, runs, first run, median with min-max
 * and IQR, GFLOP/s, rate, the derived figures), and the table of the compare command.
 */
import type { BenchRecord } from "./record.ts";

/** Left-aligned text columns, numbers right-aligned; a header rule under the first row. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  const numeric = (s: string) => /^[-+]?[\d.,]+(e[-+]?\d+)?[x%]?$/.test(s);
  const line = (r: readonly string[]) =>
    r
      .map((c, i) => (numeric(c) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const [head, ...body] = rows;
  if (!head) return "";
  return [line(head), widths.map((w) => "-".repeat(w)).join("  "), ...body.map(line)].join("\n");
}

export function fmt(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "-";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5) return v.toExponential(2);
  if (a >= 100) return v.toFixed(0);
  return v.toPrecision(digits);
}

function derivedText(r: BenchRecord): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(r.derived)) {
    if (v === null) continue;
    if (k.startsWith("seconds_") && !["seconds_total", "seconds_generate_total"].includes(k)) continue;
    parts.push(`${k}=${typeof v === "number" ? fmt(v) : v}`);
  }
  return parts.join(" ");
}

export function recordsTable(records: readonly BenchRecord[]): string {
  const rows: string[][] = [
    [
      "case",
      "backend",
      "runs",
      "first ms",
      "median ms",
      "min-max ms",
      "IQR ms",
      "GFLOP/s",
      "rate",
      "derived",
    ],
  ];
  for (const r of records) {
    const t = r.timing;
    if (!t) {
      rows.push([r.case, r.backend, "skipped", "", "", "", "", "", "", (r.notes[0] ?? "").split("\n")[0]!]);
      continue;
    }
    rows.push([
      r.case,
      r.backend,
      String(t.runs),
      fmt(t.firstMs),
      fmt(t.medianMs),
      `${fmt(t.minMs)}-${fmt(t.maxMs)}`,
      fmt(t.q3Ms - t.q1Ms),
      r.gflops ? fmt(r.gflops.median) : "",
      r.rate ? `${fmt(r.rate.median)} ${r.rate.unit}` : "",
      derivedText(r),
    ]);
  }
  return table(rows);
}
