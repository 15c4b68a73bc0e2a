/**
 * Test helpers: synthetic "posterior differences" whose information content is known. A delta is a
 * fixed random linear map of a known vector (a one-hot label, a sample, a label histogram) plus
 * Gaussian noise, at a chosen scale (real deltas are often ~1e-3).
 */
import { Rng } from "@updates-leak/core";

export interface LinearDeltas {
  deltas: Float32Array;
  deltaSize: number;
}

/** deltas[i] = scale * (A @ v_i + noise * eps), A: [deltaSize, width] with N(0, 1/width) entries. */
export function linearDeltas(
  seed: number,
  vectors: Float32Array,
  n: number,
  width: number,
  deltaSize: number,
  scale: number,
  noise: number,
): LinearDeltas {
  const rng = new Rng(seed);
  const a = rng.normals(deltaSize * width, 1 / Math.sqrt(width));
  const nr = rng.fork("noise");
  const deltas = new Float32Array(n * deltaSize);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < deltaSize; r++) {
      let s = 0;
      for (let c = 0; c < width; c++) s += (a[r * width + c] as number) * (vectors[i * width + c] as number);
      deltas[i * deltaSize + r] = scale * (s + noise * nr.normal());
    }
  }
  return { deltas, deltaSize };
}

export function oneHot(labels: Int32Array, classes: number): Float32Array {
  const out = new Float32Array(labels.length * classes);
  for (let i = 0; i < labels.length; i++) out[i * classes + (labels[i] as number)] = 1;
  return out;
}

/**
 * Samples on [0,1] with low-dimensional structure: x = sigmoid(B @ z), z = class mean + noise in
 * R^latent; class means are well separated, so labels carry part of the information.
 */
export function clusteredSamples(
  seed: number,
  n: number,
  sampleSize: number,
  classes: number,
  latent = 4,
): { samples: Float32Array; labels: Int32Array } {
  const rng = new Rng(seed);
  const b = rng.normals(sampleSize * latent, 1.5 / Math.sqrt(latent));
  const means = rng.normals(classes * latent, 1.5);
  const samples = new Float32Array(n * sampleSize);
  const labels = new Int32Array(n);
  const z = new Float64Array(latent);
  for (let i = 0; i < n; i++) {
    const l = rng.int(classes);
    labels[i] = l;
    for (let k = 0; k < latent; k++) z[k] = (means[l * latent + k] as number) + 0.8 * rng.normal();
    for (let r = 0; r < sampleSize; r++) {
      let s = 0;
      for (let k = 0; k < latent; k++) s += (b[r * latent + k] as number) * (z[k] as number);
      samples[i * sampleSize + r] = 1 / (1 + Math.exp(-s));
    }
  }
  return { samples, labels };
}

/**
 * Updating sets of prototype samples (+ noise 0.03) with skewed per-set prototype frequencies, the
 * per-set prototype count histograms, and a pool of 200 prototype samples for baselines.
 */
export function prototypeSets(seed: number, n: number, protos: number, d: number, setSize: number) {
  const rng = new Rng(seed);
  const p = new Float32Array(protos * d);
  for (let i = 0; i < p.length; i++) p[i] = 0.1 + 0.8 * rng.next();
  const sets = new Float32Array(n * setSize * d);
  const hist = new Float32Array(n * protos);
  const w = new Float64Array(protos);
  for (let i = 0; i < n; i++) {
    let tot = 0;
    for (let c = 0; c < protos; c++) {
      w[c] = Math.exp(2 * rng.normal());
      tot += w[c] as number;
    }
    for (let j = 0; j < setSize; j++) {
      let u = rng.next() * tot;
      let c = 0;
      while (c < protos - 1 && u >= (w[c] as number)) u -= w[c++] as number;
      hist[i * protos + c] = (hist[i * protos + c] as number) + 1;
      for (let t = 0; t < d; t++) {
        sets[(i * setSize + j) * d + t] = Math.min(
          1,
          Math.max(0, (p[c * d + t] as number) + 0.03 * rng.normal()),
        );
      }
    }
  }
  const pool = new Float32Array(200 * d);
  for (let i = 0; i < 200; i++) {
    const c = rng.int(protos);
    for (let t = 0; t < d; t++)
      pool[i * d + t] = Math.min(1, Math.max(0, (p[c * d + t] as number) + 0.03 * rng.normal()));
  }
  return { prototypes: p, sets, hist, pool };
}
