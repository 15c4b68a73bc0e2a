/**
 * Attack metrics in plain TypeScript (float64 accumulation): accuracy, MSE, KL divergence, top-label
 * agreement, one-to-one matched MSE for multi-sample reconstruction, and a mean/std helper.
 * All arrays are row-major [n, width].
 */
import { hungarian } from "./hungarian.ts";
import { checkRows } from "./nn/rows.ts";

/** Fraction of positions where pred equals truth. */
export function accuracy(pred: ArrayLike<number>, truth: ArrayLike<number>): number {
  if (pred.length !== truth.length || pred.length === 0) {
    throw new Error(
      `accuracy: pred (${pred.length}) and truth (${truth.length}) must be equal, non-empty lengths`,
    );
  }
  let hit = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] === truth[i]) hit++;
  return hit / pred.length;
}

/** Mean squared difference over all values. */
export function mse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length || a.length === 0) {
    throw new Error(`mse: arrays must have equal, non-empty lengths, got ${a.length} and ${b.length}`);
  }
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    s += d * d;
  }
  return s / a.length;
}

/** Per-row mean squared difference: [n]. */
export function msePerRow(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  n: number,
  width: number,
): Float64Array {
  checkRows("msePerRow a", a, n, width);
  checkRows("msePerRow b", b, n, width);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = i * width; j < (i + 1) * width; j++) {
      const d = (a[j] as number) - (b[j] as number);
      s += d * d;
    }
    out[i] = s / width;
  }
  return out;
}

/**
 * Per-row KL(p || q) = sum_c p_c log(p_c / q_c), natural log. Terms with p_c = 0 are 0; q is
 * clipped below at `eps` so a zero predicted mass gives a large finite value.
 */
export function klPerRow(
  p: ArrayLike<number>,
  q: ArrayLike<number>,
  n: number,
  classes: number,
  eps = 1e-12,
): Float64Array {
  checkRows("klPerRow p", p, n, classes);
  checkRows("klPerRow q", q, n, classes);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let c = i * classes; c < (i + 1) * classes; c++) {
      const pc = p[c] as number;
      if (pc > 0) s += pc * Math.log(pc / Math.max(q[c] as number, eps));
    }
    out[i] = s;
  }
  return out;
}

/** Index of the maximum of each row (first index on ties). */
export function argmaxRows(x: ArrayLike<number>, n: number, width: number): Int32Array {
  checkRows("argmaxRows", x, n, width);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bv = x[i * width] as number;
    for (let c = 1; c < width; c++) {
      const v = x[i * width + c] as number;
      if (v > bv) {
        bv = v;
        best = c;
      }
    }
    out[i] = best;
  }
  return out;
}

/**
 * Fraction of rows whose predicted top label (argmax of q) is a most frequent label of the true
 * histogram p. ties "any" [choice, default]: when several labels tie for the maximum of p, any of
 * them counts; "first": only p's first maximal index counts.
 */
export function topLabelAgreement(
  p: ArrayLike<number>,
  q: ArrayLike<number>,
  n: number,
  classes: number,
  ties: "any" | "first" = "any",
): number {
  const qa = argmaxRows(q, n, classes);
  const pa = argmaxRows(p, n, classes);
  let hit = 0;
  for (let i = 0; i < n; i++) {
    const k = qa[i] as number;
    if (ties === "first") {
      if (k === pa[i]) hit++;
    } else if ((p[i * classes + k] as number) === (p[i * classes + (pa[i] as number)] as number)) {
      hit++;
    }
  }
  return hit / n;
}

/** Mean, sample standard deviation and count of a list of values (`meanStd`). */
export interface MeanStd {
  mean: number;
  /** Sample standard deviation (n - 1); 0 for a single value. */
  std: number;
  n: number;
}

/** Mean and sample standard deviation (n - 1; 0 for a single value) of `values`; throws if empty. */
export function meanStd(values: ArrayLike<number>): MeanStd {
  const n = values.length;
  if (n === 0) throw new Error("meanStd: values is empty");
  let s = 0;
  for (let i = 0; i < n; i++) s += values[i] as number;
  const mean = s / n;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = (values[i] as number) - mean;
    v += d * d;
  }
  return { mean, std: n > 1 ? Math.sqrt(v / (n - 1)) : 0, n };
}

/** Result of `matchedMse`: the mean MSE over the one-to-one matching, and the matching. */
export interface MatchedMse {
  /** Mean per-sample MSE over the one-to-one matching. */
  mse: number;
  /** realToRecon[i] = the reconstruction matched to real sample i. */
  realToRecon: Int32Array;
}

/**
 * Matches k real samples to k reconstructions one-to-one (Hungarian on the per-sample MSE matrix)
 * and returns the mean matched MSE. Both arrays are [k, width].
 */
export function matchedMse(
  real: ArrayLike<number>,
  recon: ArrayLike<number>,
  k: number,
  width: number,
): MatchedMse {
  checkRows("matchedMse real", real, k, width);
  checkRows("matchedMse recon", recon, k, width);
  const cost = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let d = 0; d < width; d++) {
        const x = (real[i * width + d] as number) - (recon[j * width + d] as number);
        s += x * x;
      }
      cost[i * k + j] = s / width;
    }
  }
  const a = hungarian(cost, k, k);
  return { mse: a.cost / k, realToRecon: a.rowToCol };
}
