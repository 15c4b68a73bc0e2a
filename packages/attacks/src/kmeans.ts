/**
 * k-means for A_MSR inference: k-means++ seeding from a seeded Rng, then Lloyd iterations.
 * Squared distances come from one tfjs matMul per iteration, ||x||^2 - 2 x c^T + ||c||^2, then
 * argmin; centroid sums are accumulated in TypeScript (one pass over the data, faster here than a
 * [k, n] x [n, d] product). An emptied cluster is re-seeded with the point farthest from its
 * centroid [choice]. Stops when no assignment changes or after maxIter iterations.
 */
import { type Rng, tf } from "@updates-leak/core";
import { readTidy } from "./nn/predict.ts";
import { checkRows } from "./nn/rows.ts";

/** Settings of `kmeans`, merged over KMEANS_DEFAULTS. */
export interface KMeansConfig {
  /** [choice] 100 */
  maxIter: number;
}

/** At most 100 Lloyd iterations [choice]. */
export const KMEANS_DEFAULTS: KMeansConfig = { maxIter: 100 };

/**
 * A clustering from `kmeans`: centroids, each point's cluster, the iterations run, and whether it
 * converged (an iteration changed no assignment) within maxIter.
 */
export interface KMeansResult {
  k: number;
  /** [k, d] */
  centroids: Float32Array;
  /** [n], cluster of each point */
  assignments: Int32Array;
  iterations: number;
  /** Sum of squared distances of points to their centroids. */
  inertia: number;
  converged: boolean;
}

/** Squared distances [n, k] of the rows of x (tensor, with row norms xx [n, 1]) to centers [k, d]. */
function sqDistances(
  x: tf.Tensor2D,
  xx: tf.Tensor2D,
  centers: Float32Array,
  k: number,
  d: number,
): tf.Tensor2D {
  return tf.tidy(() => {
    const c = tf.tensor2d(centers, [k, d]);
    const cc = tf.reshape(tf.sum(tf.square(c), 1), [1, k]);
    const ct = tf.transpose(c); // explicit transpose: wasm's transposeB path is slow
    return tf.add(tf.sub(xx, tf.mul(tf.matMul(x, ct), 2)), cc);
  });
}

/**
 * k-means++ seeding: first center uniform, each next one drawn with probability proportional to D^2.
 * One [1, d] x [d, n] product per center against the transposed data (4x faster on wasm than the
 * [n, d] x [d, 1] form), finished in TypeScript.
 */
function seedPlusPlus(
  rng: Rng,
  data: Float32Array,
  xNorms: Float64Array,
  n: number,
  d: number,
  k: number,
): Float32Array {
  const centers = new Float32Array(k * d);
  const minD = new Float64Array(n).fill(Number.POSITIVE_INFINITY);
  const xt = tf.tidy(() => {
    const t = new Float32Array(n * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) t[j * n + i] = data[i * d + j] as number;
    return tf.tensor2d(t, [d, n]);
  });
  try {
    let idx = rng.int(n);
    for (let j = 0; j < k; j++) {
      const center = data.subarray(idx * d, (idx + 1) * d);
      centers.set(center, j * d);
      if (j === k - 1) break;
      const dots = readTidy(() => tf.matMul(tf.tensor2d(center, [1, d]), xt));
      const cc = xNorms[idx] as number;
      let total = 0;
      for (let i = 0; i < n; i++) {
        const v = Math.max(0, (xNorms[i] as number) - 2 * (dots[i] as number) + cc);
        if (v < (minD[i] as number)) minD[i] = v;
        total += minD[i] as number;
      }
      if (!(total > 0)) {
        // All points coincide with chosen centers: take any (duplicates are harmless).
        idx = rng.int(n);
        continue;
      }
      let u = rng.next() * total;
      idx = n - 1;
      for (let i = 0; i < n; i++) {
        u -= minD[i] as number;
        if (u < 0) {
          idx = i;
          break;
        }
      }
    }
  } finally {
    xt.dispose();
  }
  return centers;
}

/**
 * Lloyd's update step: each centroid becomes the mean of its points (sums and counts are scratch
 * space). An emptied cluster is re-seeded with the point farthest from its centroid, which is then
 * unassigned so that another iteration runs.
 */
function updateCentroids(
  data: Float32Array,
  n: number,
  d: number,
  k: number,
  assignments: Int32Array,
  minDist: Float32Array,
  centroids: Float32Array,
  sums: Float64Array,
  counts: Int32Array,
): void {
  sums.fill(0);
  counts.fill(0);
  for (let i = 0; i < n; i++) {
    const a = assignments[i] as number;
    counts[a] = (counts[a] as number) + 1;
    const so = a * d;
    const xo = i * d;
    for (let j = 0; j < d; j++) sums[so + j] = (sums[so + j] as number) + (data[xo + j] as number);
  }
  for (let j = 0; j < k; j++) {
    const cnt = counts[j] as number;
    if (cnt > 0) {
      for (let t = 0; t < d; t++) centroids[j * d + t] = (sums[j * d + t] as number) / cnt;
    } else {
      // Re-seed an empty cluster with the point farthest from its centroid.
      let far = 0;
      for (let i = 1; i < n; i++) if ((minDist[i] as number) > (minDist[far] as number)) far = i;
      centroids.set(data.subarray(far * d, (far + 1) * d), j * d);
      minDist[far] = 0;
      assignments[far] = -1; // forces another iteration
    }
  }
}

/** Clusters n points of dimension d (row-major) into k clusters. */
export function kmeans(
  data: Float32Array,
  n: number,
  d: number,
  k: number,
  rng: Rng,
  cfg: Partial<KMeansConfig> = {},
): KMeansResult {
  const c: KMeansConfig = { ...KMEANS_DEFAULTS, ...cfg };
  checkRows("kmeans data", data, n, d);
  if (!Number.isInteger(k) || k < 1 || k > n)
    throw new Error(`kmeans: k must be an integer in [1, n=${n}], got ${k}`);
  const xNorms = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = i * d; j < (i + 1) * d; j++) s += (data[j] as number) ** 2;
    xNorms[i] = s;
  }
  const centroids = seedPlusPlus(rng, data, xNorms, n, d, k);
  const x = tf.tensor2d(data, [n, d]);
  const xx = tf.tensor2d(Float32Array.from(xNorms), [n, 1]);
  try {
    const assignments = new Int32Array(n).fill(-1);
    const minDist = new Float32Array(n);
    const sums = new Float64Array(k * d);
    const counts = new Int32Array(k);
    let iterations = 0;
    let converged = false;
    let inertia = 0;
    while (iterations < c.maxIter) {
      iterations++;
      const [amT, mdT] = tf.tidy(() => {
        const dist = sqDistances(x, xx, centroids, k, d);
        return [tf.argMin(dist, 1), tf.min(dist, 1)];
      });
      const am = amT.dataSync() as Int32Array;
      const md = mdT.dataSync() as Float32Array;
      tf.dispose([amT, mdT]);
      let changed = 0;
      inertia = 0;
      for (let i = 0; i < n; i++) {
        const a = am[i] as number;
        if (a !== assignments[i]) changed++;
        assignments[i] = a;
        const v = Math.max(0, md[i] as number);
        minDist[i] = v;
        inertia += v;
      }
      if (changed === 0) {
        converged = true;
        break;
      }
      updateCentroids(data, n, d, k, assignments, minDist, centroids, sums, counts);
    }
    return { k, centroids, assignments, iterations, inertia, converged };
  } finally {
    x.dispose();
    xx.dispose();
  }
}

/** For each of the k centers, the index of the nearest row of data [n, d] (first on ties). */
export function nearestRows(
  data: Float32Array,
  n: number,
  d: number,
  centers: Float32Array,
  k: number,
): Int32Array {
  checkRows("nearestRows data", data, n, d);
  checkRows("nearestRows centers", centers, k, d);
  return readTidy<"int32">(() => {
    const x = tf.tensor2d(data, [n, d]);
    const xx = tf.reshape(tf.sum(tf.square(x), 1), [n, 1]) as tf.Tensor2D;
    return tf.argMin(sqDistances(x, xx, centers, k, d), 0);
  });
}
