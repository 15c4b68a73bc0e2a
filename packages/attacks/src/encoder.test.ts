import { beforeAll, describe, expect, test } from "bun:test";
import { Rng, selectBackend, tf } from "@updates-leak/core";
import { createEncoder, ENCODER_DEFAULTS, encoderSpecs, fitDeltaScaler, unitRows } from "./encoder.ts";
import { disposeMlp, EVAL, mlpForward, trainMode } from "./nn/mlp.ts";

beforeAll(async () => {
  await selectBackend({ backend: "wasm", quiet: true });
});

describe("encoder", () => {
  test("paper architecture: delta -> 128 -> 64, LeakyReLU, dropout 0.2 / 0.4", () => {
    const specs = encoderSpecs();
    expect(specs.map((s) => s.units)).toEqual([128, 64]);
    expect(specs.map((s) => s.dropout)).toEqual([0.2, 0.4]);
    expect(specs.every((s) => typeof s.activation === "object" && s.activation.leakyRelu === 0.01)).toBe(
      true,
    );
    expect(() => encoderSpecs({ ...ENCODER_DEFAULTS, dropout: [0.2] })).toThrow("one rate per hidden layer");
  });

  test("eval is deterministic, training applies dropout; no leak", () => {
    const before = tf.memory().numTensors;
    const enc = createEncoder(new Rng(1), 30);
    const x = tf.tensor2d(new Rng(2).normals(4 * 30), [4, 30]);
    const [a, b, c] = tf.tidy(() => [
      mlpForward(enc, x, EVAL),
      mlpForward(enc, x, EVAL),
      mlpForward(enc, x, trainMode(new Rng(3))),
    ]) as [tf.Tensor, tf.Tensor, tf.Tensor];
    expect(a.shape).toEqual([4, 64]);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    const cv = c.dataSync();
    let zeros = 0;
    for (const v of cv) if (v === 0) zeros++;
    expect(zeros).toBeGreaterThan(0.2 * cv.length);
    tf.dispose([x, a, b, c]);
    disposeMlp(enc);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("delta preprocessing", () => {
  test("standardize: shadow features get mean 0, std 1; targets use the shadow statistics", () => {
    const n = 500;
    const w = 3;
    const rng = new Rng(4);
    const d = new Float32Array(n * w);
    for (let i = 0; i < n; i++) {
      d[i * w] = 1e-3 * rng.normal() + 2e-3;
      d[i * w + 1] = 5 * rng.normal() - 1;
      d[i * w + 2] = 7; // constant feature
    }
    const s = fitDeltaScaler("standardize", d, n, w);
    const z = s.apply(d, n);
    for (let j = 0; j < 2; j++) {
      let m = 0;
      let q = 0;
      for (let i = 0; i < n; i++) m += (z[i * w + j] as number) / n;
      for (let i = 0; i < n; i++) q += ((z[i * w + j] as number) - m) ** 2 / n;
      expect(m).toBeCloseTo(0, 4);
      expect(Math.sqrt(q)).toBeCloseTo(1, 3);
    }
    expect(z[2]).toBeCloseTo(0, 6);
    const t = s.apply(new Float32Array([2e-3 + 1e-3 * 2, -1, 8]), 1);
    expect(t[0]).toBeCloseTo(2 * (1e-3 / (s.std[0] as number)), 1);
    expect(t[1]).toBeCloseTo((-1 - (s.mean[1] as number)) / (s.std[1] as number), 5);
    expect(t[2]).toBeCloseTo(1, 5);
    // "scale": centred, one shared divisor, mean squared value 1 over the non-constant features' total.
    const g = fitDeltaScaler("scale", d, n, w);
    expect(g.std[0]).toBe(g.std[1] as number);
    const gz = g.apply(d, n);
    let ms = 0;
    for (const v of gz) ms += (v * v) / (n * w);
    expect(ms).toBeCloseTo(1, 3);
    expect(Math.abs(gz[0] as number)).toBeLessThan(1e-2); // a small-variance feature stays small
    const none = fitDeltaScaler("none", d, n, w);
    expect(none.apply(d, n)).toBe(d);
    expect(() => s.apply(new Float32Array(4), 1)).toThrow("DeltaScaler.apply deltas");
  });

  test("unit-scale: each delta on the unit sphere, then scale; a zero delta stays zero", () => {
    const n = 400;
    const w = 4;
    const rng = new Rng(5);
    const d = new Float32Array(n * w);
    // Same directions at norms from 1e-3 to 10: only the direction should survive.
    for (let i = 0; i < n; i++) {
      const r = 10 ** (rng.next() * 4 - 3);
      for (let j = 0; j < w; j++) d[i * w + j] = r * (j + 1 + 0.1 * rng.normal());
    }
    const u = unitRows(d, n, w);
    for (let i = 0; i < n; i++) {
      let q = 0;
      for (let j = 0; j < w; j++) q += (u[i * w + j] as number) ** 2;
      expect(Math.sqrt(q)).toBeCloseTo(1, 5);
    }
    expect(Array.from(unitRows(new Float32Array(3), 1, 3))).toEqual([0, 0, 0]);
    const s = fitDeltaScaler("unit-scale", d, n, w);
    expect(s.kind).toBe("unit-scale");
    const z = s.apply(d, n);
    // Equal to "scale" fitted and applied on the unit rows.
    const ref = fitDeltaScaler("scale", u, n, w).apply(u, n);
    for (let i = 0; i < z.length; i++) expect(z[i]).toBeCloseTo(ref[i] as number, 5);
    // A delta and the same delta 1000x larger give the same features.
    const a = s.apply(d.slice(0, w), 1);
    const b = s.apply(
      d.slice(0, w).map((v) => v * 1000),
      1,
    );
    for (let j = 0; j < w; j++) expect(a[j]).toBeCloseTo(b[j] as number, 4);
    expect(() => fitDeltaScaler("bogus" as never, d, n, w)).toThrow(
      'delta preprocessing must be "none", "standardize", "scale" or "unit-scale", got bogus',
    );
  });
});
