import { beforeAll, describe, expect, test } from "bun:test";
import { Rng, selectBackend, tf } from "@updates-leak/core";
import { kmeans, nearestRows } from "./kmeans.ts";

beforeAll(async () => {
  await selectBackend({ backend: "wasm", quiet: true });
});

/** Plain nearest-center search, the reference for the matMul distances. */
function plainAssign(
  data: Float32Array,
  n: number,
  d: number,
  centers: Float32Array,
  k: number,
): { a: Int32Array; inertia: number } {
  const a = new Int32Array(n);
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    let best = 0;
    let bd = Number.POSITIVE_INFINITY;
    for (let j = 0; j < k; j++) {
      let s = 0;
      for (let t = 0; t < d; t++) s += ((data[i * d + t] as number) - (centers[j * d + t] as number)) ** 2;
      if (s < bd) {
        bd = s;
        best = j;
      }
    }
    a[i] = best;
    inertia += bd;
  }
  return { a, inertia };
}

function blobs(seed: number, k: number, per: number, d: number, spread: number) {
  const rng = new Rng(seed);
  const means = rng.normals(k * d, 10);
  const n = k * per;
  const data = new Float32Array(n * d);
  const truth = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % k;
    truth[i] = c;
    for (let t = 0; t < d; t++) data[i * d + t] = (means[c * d + t] as number) + spread * rng.normal();
  }
  return { data, truth, n };
}

describe("kmeans", () => {
  test("recovers well-separated blobs; result is a Lloyd fixed point; seeded; no leak", () => {
    const before = tf.memory().numTensors;
    const k = 8;
    const d = 16;
    const { data, truth, n } = blobs(1, k, 50, d, 0.5);
    const r = kmeans(data, n, d, k, new Rng(2));
    expect(r.converged).toBe(true);
    // Each found cluster is exactly one true blob.
    const map = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const a = r.assignments[i] as number;
      const t = truth[i] as number;
      if (!map.has(a)) map.set(a, t);
      expect(map.get(a)).toBe(t);
    }
    expect(map.size).toBe(k);
    // Assignments equal plain nearest-centroid search; inertia matches.
    const ref = plainAssign(data, n, d, r.centroids, k);
    expect(Array.from(r.assignments)).toEqual(Array.from(ref.a));
    expect(r.inertia / ref.inertia).toBeCloseTo(1, 3);
    // Centroids are the means of their points.
    for (let j = 0; j < k; j++) {
      let cnt = 0;
      const m = new Float64Array(d);
      for (let i = 0; i < n; i++) {
        if (r.assignments[i] !== j) continue;
        cnt++;
        for (let t = 0; t < d; t++) m[t] = (m[t] as number) + (data[i * d + t] as number);
      }
      for (let t = 0; t < d; t++) expect(r.centroids[j * d + t]).toBeCloseTo((m[t] as number) / cnt, 3);
    }
    expect(kmeans(data, n, d, k, new Rng(2)).centroids).toEqual(r.centroids);
    expect(tf.memory().numTensors).toBe(before);
  });

  test("nearestRows finds the nearest data row of each center", () => {
    const before = tf.memory().numTensors;
    const { data, n } = blobs(3, 5, 20, 6, 2);
    const centers = new Rng(4).normals(7 * 6, 10);
    const got = nearestRows(data, n, 6, centers, 7);
    // Swap roles: nearest data row to each center = argmin over rows.
    const ref = plainAssign(centers, 7, 6, data, n);
    expect(Array.from(got)).toEqual(Array.from(ref.a));
    expect(tf.memory().numTensors).toBe(before);
  });

  test("k = n puts every point in its own cluster; bad k is named", () => {
    const data = new Float32Array([0, 0, 5, 5, 10, 0]);
    const r = kmeans(data, 3, 2, 3, new Rng(1));
    expect(new Set(r.assignments).size).toBe(3);
    expect(r.inertia).toBeCloseTo(0, 5);
    expect(() => kmeans(data, 3, 2, 4, new Rng(1))).toThrow("k must be");
  });
});
