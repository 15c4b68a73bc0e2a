/**
 * The paper's baselines, seeded, in plain TypeScript:
 * - labels: Random (uniform; or drawn from class frequencies for unbalanced data). [paper]
 * - samples: Random (a random shadow sample) and Label-random (a random shadow sample of a given
 *   label: the true one, or the one A_LI predicts) [paper]; the mean shadow sample, the best
 *   guess under MSE that knows nothing of the update (Random's MSE is about twice its). [choice]
 * - label histograms: a random histogram (Dirichlet(1), i.e. uniform on the simplex, by default;
 *   or the histogram of a set of uniformly random labels) and the shadow pool's label frequencies. [choice]
 * - sample sets: k random shadow samples (the A_MSR baseline). [choice]
 * The AE oracle lives in autoencoder.ts (it needs the trained autoencoder).
 */
import type { Rng } from "@updates-leak/core";
import { checkRows } from "./nn/rows.ts";

/** Label frequencies (sum 1) of integer labels in [0, numClasses). */
export function classFrequencies(labels: ArrayLike<number>, numClasses: number): Float64Array {
  const f = new Float64Array(numClasses);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i] as number;
    if (!Number.isInteger(l) || l < 0 || l >= numClasses) {
      throw new Error(`classFrequencies: labels[${i}] = ${l} is not in [0, ${numClasses})`);
    }
    f[l] = (f[l] as number) + 1;
  }
  if (labels.length > 0) for (let c = 0; c < numClasses; c++) f[c] = (f[c] as number) / labels.length;
  return f;
}

/** Draws one index from a discrete distribution (weights need not sum to 1). */
export function drawCategorical(rng: Rng, weights: ArrayLike<number>): number {
  let total = 0;
  for (let i = 0; i < weights.length; i++) total += weights[i] as number;
  if (!(total > 0)) throw new Error("drawCategorical: weights must have a positive sum");
  let u = rng.next() * total;
  for (let i = 0; i < weights.length; i++) {
    u -= weights[i] as number;
    if (u < 0) return i;
  }
  // Rounding: return the last index with positive weight.
  for (let i = weights.length - 1; i >= 0; i--) if ((weights[i] as number) > 0) return i;
  return weights.length - 1;
}

/**
 * Random label baseline: n labels, uniform over classes, or drawn from `classFreqs` when given
 * (the paper's baseline for unbalanced Insta-NY).
 */
export function randomLabels(
  rng: Rng,
  n: number,
  numClasses: number,
  classFreqs?: ArrayLike<number>,
): Int32Array {
  const out = new Int32Array(n);
  if (classFreqs && classFreqs.length !== numClasses) {
    throw new Error(`randomLabels: classFreqs must have ${numClasses} entries, got ${classFreqs.length}`);
  }
  for (let i = 0; i < n; i++) out[i] = classFreqs ? drawCategorical(rng, classFreqs) : rng.int(numClasses);
  return out;
}

/** Mean-sample baseline for A_SSR: n rows, each the pool's mean row (summed in float64). */
export function meanSamples(
  pool: Float32Array,
  poolCount: number,
  sampleSize: number,
  n: number,
): Float32Array {
  checkRows("meanSamples pool", pool, poolCount, sampleSize);
  const mean = new Float64Array(sampleSize);
  for (let i = 0; i < poolCount; i++) {
    for (let j = 0; j < sampleSize; j++) mean[j]! += pool[i * sampleSize + j]!;
  }
  const row = Float32Array.from(mean, (v) => v / poolCount);
  const out = new Float32Array(n * sampleSize);
  for (let i = 0; i < n; i++) out.set(row, i * sampleSize);
  return out;
}

/** Random baseline for A_SSR: n rows, each a uniformly random row of the pool. */
export function randomSamples(
  rng: Rng,
  pool: Float32Array,
  poolCount: number,
  sampleSize: number,
  n: number,
): Float32Array {
  checkRows("randomSamples pool", pool, poolCount, sampleSize);
  const out = new Float32Array(n * sampleSize);
  for (let i = 0; i < n; i++) {
    const r = rng.int(poolCount);
    out.set(pool.subarray(r * sampleSize, (r + 1) * sampleSize), i * sampleSize);
  }
  return out;
}

/**
 * Label-random baseline for A_SSR: for each wanted label, a uniformly random pool row of that label.
 * Pass the true labels, or those A_LI predicts (the paper's deployable variant).
 */
export function labelRandomSamples(
  rng: Rng,
  pool: Float32Array,
  poolLabels: ArrayLike<number>,
  sampleSize: number,
  labels: ArrayLike<number>,
): Float32Array {
  const poolCount = poolLabels.length;
  checkRows("labelRandomSamples pool", pool, poolCount, sampleSize);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < poolCount; i++) {
    const l = poolLabels[i] as number;
    let list = byClass.get(l);
    if (!list) {
      list = [];
      byClass.set(l, list);
    }
    list.push(i);
  }
  const out = new Float32Array(labels.length * sampleSize);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i] as number;
    const list = byClass.get(l);
    if (!list) throw new Error(`labelRandomSamples: the pool has no sample of label ${l} (labels[${i}])`);
    const r = list[rng.int(list.length)] as number;
    out.set(pool.subarray(r * sampleSize, (r + 1) * sampleSize), i * sampleSize);
  }
  return out;
}

/**
 * Random label-histogram baseline for A_LDE, [n, numClasses], each row summing to 1.
 * - "dirichlet" (default): Dirichlet(1,...,1), uniform on the simplex (normalised Exp(1) draws).
 * - "uniformSet": the histogram of `setSize` labels drawn uniformly at random.
 */
export function randomHistograms(
  rng: Rng,
  n: number,
  numClasses: number,
  kind: "dirichlet" | "uniformSet" = "dirichlet",
  setSize = 100,
): Float32Array {
  const out = new Float32Array(n * numClasses);
  const row = new Float64Array(numClasses);
  for (let i = 0; i < n; i++) {
    row.fill(0);
    let s = 0;
    if (kind === "dirichlet") {
      for (let c = 0; c < numClasses; c++) {
        let u = 0;
        while (u === 0) u = rng.next();
        const e = -Math.log(u);
        row[c] = e;
        s += e;
      }
    } else {
      for (let k = 0; k < setSize; k++) {
        const c = rng.int(numClasses);
        row[c] = (row[c] as number) + 1;
      }
      s = setSize;
    }
    for (let c = 0; c < numClasses; c++) out[i * numClasses + c] = (row[c] as number) / s;
  }
  return out;
}

/** The prior baseline for A_LDE: the same histogram (e.g. the shadow pool's label frequencies) for all n rows. */
export function repeatHistogram(hist: ArrayLike<number>, n: number): Float32Array {
  const out = new Float32Array(n * hist.length);
  for (let i = 0; i < n; i++)
    for (let c = 0; c < hist.length; c++) out[i * hist.length + c] = hist[c] as number;
  return out;
}

/** A_MSR baseline: k distinct random pool rows (without replacement), [k, sampleSize]. */
export function randomSet(
  rng: Rng,
  pool: Float32Array,
  poolCount: number,
  sampleSize: number,
  k: number,
): Float32Array {
  checkRows("randomSet pool", pool, poolCount, sampleSize);
  const idx = rng.sample(poolCount, k);
  const out = new Float32Array(k * sampleSize);
  for (let i = 0; i < k; i++) {
    const r = idx[i] as number;
    out.set(pool.subarray(r * sampleSize, (r + 1) * sampleSize), i * sampleSize);
  }
  return out;
}
