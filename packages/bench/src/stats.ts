/**
 * Summary statistics of repeated timings: median, quartiles (linear interpolation between order
 * statistics, as numpy's default), min and max. Pure functions, no I/O.
 */

/** The q-quantile (0 <= q <= 1) of `values` by linear interpolation; NaN for an empty list. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Spread of the timed runs (milliseconds), the first (warm-up) run reported apart. */
export interface Spread {
  /** Timed runs (the warm-up run not counted). */
  runs: number;
  /** Wall clock of the first, untimed-for-statistics run: compilation, kernel set-up, first touch. */
  firstMs: number;
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Quartiles: the interquartile range is q3Ms - q1Ms. */
  q1Ms: number;
  q3Ms: number;
  /** Median CPU time (user + system, all threads of the process) of the timed runs. */
  cpuMs: number;
}

/** Rounds to 4 significant digits (enough for timings; keeps the JSON lines short). */
export function round4(v: number): number {
  if (!Number.isFinite(v) || v === 0) return v;
  const m = 10 ** (3 - Math.floor(Math.log10(Math.abs(v))));
  return Math.round(v * m) / m;
}

export function spreadOf(firstMs: number, ms: readonly number[], cpuMs: readonly number[]): Spread {
  if (ms.length === 0) throw new Error("spreadOf: no timed runs");
  return {
    runs: ms.length,
    firstMs: round4(firstMs),
    medianMs: round4(median(ms)),
    minMs: round4(Math.min(...ms)),
    maxMs: round4(Math.max(...ms)),
    q1Ms: round4(quantile(ms, 0.25)),
    q3Ms: round4(quantile(ms, 0.75)),
    cpuMs: round4(median(cpuMs)),
  };
}
