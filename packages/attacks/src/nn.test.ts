import { beforeAll, describe, expect, test } from "bun:test";
import { Rng, selectBackend, tf } from "@updates-leak/core";
import {
  AdamStep,
  batchNorm,
  cloneMlp,
  createBatchNorm,
  createMlp,
  DeviceRows,
  disposeMlp,
  dropout,
  EVAL,
  gatherRows,
  initWeights,
  matMulDataT,
  matMulT,
  mlpForward,
  mlpParams,
  NonFiniteLossError,
  newVariable,
  predictInChunks,
  scheduledLr,
  trainMinibatches,
  trainMode,
} from "./nn.ts";

beforeAll(async () => {
  await selectBackend({ backend: "wasm", quiet: true });
});

function stats(a: Float32Array): { mean: number; std: number; min: number; max: number } {
  let s = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const v of a) {
    s += v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const mean = s / a.length;
  let q = 0;
  for (const v of a) q += (v - mean) ** 2;
  return { mean, std: Math.sqrt(q / a.length), min, max };
}

describe("init", () => {
  test("he is normal with std sqrt(2/fanIn); glorot and torch are bounded uniforms", () => {
    const he = stats(initWeights(new Rng(1), 200, 300, "he"));
    expect(Math.abs(he.mean)).toBeLessThan(0.002);
    expect(he.std).toBeCloseTo(Math.sqrt(2 / 200), 3);
    const lim = Math.sqrt(6 / 500);
    const gl = stats(initWeights(new Rng(2), 200, 300, "glorot"));
    expect(gl.max).toBeLessThanOrEqual(lim);
    expect(gl.min).toBeGreaterThanOrEqual(-lim);
    expect(gl.std).toBeCloseTo(lim / Math.sqrt(3), 3);
    const to = stats(initWeights(new Rng(3), 200, 300, "torch"));
    expect(to.max).toBeLessThanOrEqual(1 / Math.sqrt(200));
    expect(initWeights(new Rng(4), 5, 5, "he")).toEqual(initWeights(new Rng(4), 5, 5, "he"));
  });
});

describe("layers", () => {
  test("matMulT value and gradients equal tf.matMul's", () => {
    const before = tf.memory().numTensors;
    const rng = new Rng(5);
    const x = tf.tensor2d(rng.normals(7 * 5), [7, 5]);
    const w = tf.tensor2d(rng.normals(5 * 3), [5, 3]);
    const dy = tf.tensor2d(rng.normals(7 * 3), [7, 3]);
    const f1 = (a: tf.Tensor, b: tf.Tensor) => matMulT(a as tf.Tensor2D, b as tf.Tensor2D);
    const f2 = (a: tf.Tensor, b: tf.Tensor) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D);
    const g1 = tf.grads(f1)([x, w], dy);
    const g2 = tf.grads(f2)([x, w], dy);
    const v1 = f1(x, w);
    const v2 = f2(x, w);
    for (const [a, b] of [
      [v1, v2],
      [g1[0], g2[0]],
      [g1[1], g2[1]],
    ] as [tf.Tensor, tf.Tensor][]) {
      const da = a.dataSync();
      const db = b.dataSync();
      for (let i = 0; i < da.length; i++) expect(da[i]).toBeCloseTo(db[i] as number, 4);
    }
    tf.dispose([x, w, dy, v1, v2, ...g1, ...g2]);
    expect(tf.memory().numTensors).toBe(before);
  });

  test("dataInput: the MLP's value and parameter gradients equal the plain path's (matMulDataT)", () => {
    const before = tf.memory().numTensors;
    const rng = new Rng(55);
    const mlp = createMlp(rng, 9, [
      { units: 6, activation: { leakyRelu: 0.2 } },
      { units: 4, activation: "linear" },
    ]);
    const x = tf.tensor2d(rng.normals(5 * 9), [5, 9]);
    const lossOf = (dataInput: boolean) => () =>
      tf.sum(tf.square(mlpForward(mlp, x, EVAL, dataInput))) as tf.Scalar;
    const a = tf.variableGrads(lossOf(true), mlpParams(mlp));
    const b = tf.variableGrads(lossOf(false), mlpParams(mlp));
    expect(a.value.dataSync()[0]).toBeCloseTo(b.value.dataSync()[0] as number, 4);
    for (const p of mlpParams(mlp)) {
      const ga = (a.grads[p.name] as tf.Tensor).dataSync();
      const gb = (b.grads[p.name] as tf.Tensor).dataSync();
      let worst = 0;
      let scale = 0;
      for (let i = 0; i < gb.length; i++) {
        worst = Math.max(worst, Math.abs((ga[i] as number) - (gb[i] as number)));
        scale = Math.max(scale, Math.abs(gb[i] as number));
      }
      expect(scale).toBeGreaterThan(0);
      expect(worst / scale).toBeLessThan(1e-5);
    }
    // matMulDataT alone: its w gradient is tf.matMul's.
    const w = tf.tensor2d(rng.normals(9 * 3), [9, 3]);
    const dy = tf.tensor2d(rng.normals(5 * 3), [5, 3]);
    const [gw] = tf.grads((wt: tf.Tensor) => matMulDataT(x, wt as tf.Tensor2D))([w], dy);
    const [gwRef] = tf.grads((wt: tf.Tensor) => tf.matMul(x, wt as tf.Tensor2D))([w], dy);
    const d1 = (gw as tf.Tensor).dataSync();
    const d2 = (gwRef as tf.Tensor).dataSync();
    for (let i = 0; i < d2.length; i++) expect(d1[i]).toBeCloseTo(d2[i] as number, 4);
    tf.dispose([
      a.value,
      b.value,
      ...Object.values(a.grads),
      ...Object.values(b.grads),
      x,
      w,
      dy,
      gw!,
      gwRef!,
    ]);
    disposeMlp(mlp);
    expect(tf.memory().numTensors).toBe(before);
  });

  test("batch norm: batch statistics, PyTorch running-stat update, running stats in eval", () => {
    const before = tf.memory().numTensors;
    const bn = createBatchNorm(3, 0.1, 1e-5);
    const data = [1, 2, 3, 3, 6, 9, 5, 10, 21, 7, 2, -3];
    const x = tf.tensor2d(data, [4, 3]);
    const y = tf.tidy(() => batchNorm(bn, x, true, true));
    const yv = y.dataSync();
    for (let c = 0; c < 3; c++) {
      const col = [0, 1, 2, 3].map((r) => data[r * 3 + c] as number);
      const m = col.reduce((a, b) => a + b) / 4;
      const v = col.reduce((a, b) => a + (b - m) ** 2, 0) / 4;
      for (let r = 0; r < 4; r++)
        expect(yv[r * 3 + c]).toBeCloseTo(((col[r] as number) - m) / Math.sqrt(v + 1e-5), 4);
      expect(bn.runningMean.dataSync()[c]).toBeCloseTo(0.1 * m, 5);
      expect(bn.runningVar.dataSync()[c]).toBeCloseTo(0.9 + 0.1 * ((v * 4) / 3), 4);
    }
    const e = tf.tidy(() => batchNorm(bn, x, false, false));
    const rm = bn.runningMean.dataSync();
    const rv = bn.runningVar.dataSync();
    expect(e.dataSync()[4]).toBeCloseTo(
      ((data[4] as number) - (rm[1] as number)) / Math.sqrt((rv[1] as number) + 1e-5),
      4,
    );
    tf.dispose([x, y, e, bn.gamma, bn.beta, bn.runningMean, bn.runningVar]);
    expect(tf.memory().numTensors).toBe(before);
  });

  test("dropout keeps about 1-rate of units scaled by 1/(1-rate), is seeded, and is identity without rng", () => {
    const before = tf.memory().numTensors;
    const x = tf.ones([100, 100]) as tf.Tensor2D;
    const y = tf.tidy(() => dropout(x, 0.4, new Rng(9)));
    const v = y.dataSync();
    let kept = 0;
    for (const a of v) {
      if (a !== 0) {
        kept++;
        expect(a).toBeCloseTo(1 / 0.6, 5);
      }
    }
    expect(kept / v.length).toBeGreaterThan(0.57);
    expect(kept / v.length).toBeLessThan(0.63);
    const y2 = tf.tidy(() => dropout(x, 0.4, new Rng(9)));
    expect(Array.from(y2.dataSync())).toEqual(Array.from(v));
    expect(dropout(x, 0.4, null)).toBe(x);
    tf.dispose([x, y, y2]);
    expect(tf.memory().numTensors).toBe(before);
  });

  test("cloneMlp makes independent variables with equal values; gatherRows and predictInChunks", () => {
    const before = tf.memory().numTensors;
    const m = createMlp(new Rng(1), 4, [
      { units: 6, activation: { leakyRelu: 0.2 }, batchNorm: true },
      { units: 2, activation: "sigmoid" },
    ]);
    const c = cloneMlp(m);
    const xs = new Rng(2).normals(10 * 4);
    const a = predictInChunks(10, 2, 3, (s, k) =>
      mlpForward(m, tf.tensor2d(xs.subarray(s * 4, (s + k) * 4), [k, 4])),
    );
    const b = tf.tidy(() => mlpForward(c, tf.tensor2d(xs, [10, 4])).dataSync());
    for (let i = 0; i < 20; i++) expect(a[i]).toBeCloseTo(b[i] as number, 5);
    tf.tidy(() => (mlpParams(c)[0] as tf.Variable).assign(tf.zeros([4, 6])));
    expect(mlpParams(m)[0]?.dataSync()[0]).not.toBe(0);
    disposeMlp(m);
    disposeMlp(c);
    expect(Array.from(gatherRows(new Float32Array([0, 1, 2, 3, 4, 5]), 2, [2, 0]))).toEqual([4, 5, 0, 1]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("DeviceRows", () => {
  test("take gathers the rows gatherRows builds; a bad size is named; no leak", () => {
    const before = tf.memory().numTensors;
    const rng = new Rng(56);
    const data = rng.normals(50 * 7);
    const rows = new DeviceRows("test rows", data, 50, 7);
    const idx = rng.permutation(50).subarray(10, 27);
    const got = rows.take(idx);
    expect(got.shape).toEqual([17, 7]);
    expect(Array.from(got.dataSync())).toEqual(Array.from(gatherRows(data, 7, idx)));
    got.dispose();
    rows.dispose();
    expect(() => new DeviceRows("test rows", data, 51, 7)).toThrow(
      "test rows: expected 51 x 7 = 357 values, got 350",
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("AdamStep", () => {
  test("one step with coupled weight decay matches a hand-written PyTorch Adam", () => {
    const before = tf.memory().numTensors;
    const p = newVariable(tf.tensor1d([1, -2, 3]));
    const cfg = { lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 };
    const adam = new AdamStep([p], cfg);
    // loss = sum(p^2)/2 -> grad p
    let ref = [1, -2, 3];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    for (let t = 1; t <= 3; t++) {
      adam.step(() => tf.div(tf.sum(tf.square(p)), 2) as tf.Scalar).dispose();
      ref = ref.map((x, i) => {
        const g = x + cfg.weightDecay * x;
        m[i] = cfg.beta1 * (m[i] as number) + (1 - cfg.beta1) * g;
        v[i] = cfg.beta2 * (v[i] as number) + (1 - cfg.beta2) * g * g;
        const mh = (m[i] as number) / (1 - cfg.beta1 ** t);
        const vh = (v[i] as number) / (1 - cfg.beta2 ** t);
        return x - (cfg.lr * mh) / (Math.sqrt(vh) + cfg.epsilon);
      });
    }
    const got = p.dataSync();
    for (let i = 0; i < 3; i++) expect(got[i]).toBeCloseTo(ref[i] as number, 4);
    adam.dispose();
    p.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("AdamStep inside tf.tidy", () => {
  test("made and stepped inside a caller's tidy, its moments survive; dispose frees them", () => {
    const before = tf.memory().numTensors;
    const cfg = { lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 };
    const run = (inTidy: boolean) => {
      const p = newVariable(tf.tensor1d([1, -2, 3]));
      const make = () => new AdamStep([p], cfg);
      let made: AdamStep | null = null;
      // Made inside a tidy that returns nothing, so tidy cannot find the moments in its result.
      if (inTidy)
        tf.tidy(() => {
          made = make();
        });
      const adam: AdamStep = made ?? make();
      const loss = () => tf.div(tf.sum(tf.square(p)), 2) as tf.Scalar;
      for (let t = 0; t < 3; t++) {
        if (inTidy)
          tf.tidy(() => {
            adam.step(loss);
          });
        else adam.step(loss).dispose();
      }
      const out = Array.from(p.dataSync());
      adam.dispose();
      p.dispose();
      return out;
    };
    expect(run(true)).toEqual(run(false));
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("trainMinibatches", () => {
  // y = x @ wTrue + noise; a linear model must recover wTrue.
  const n = 200;
  const dIn = 5;
  const rng = new Rng(11);
  const X = rng.normals(n * dIn);
  const wTrue = rng.normals(dIn);
  const Y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < dIn; j++) s += (X[i * dIn + j] as number) * (wTrue[j] as number);
    Y[i] = s + 0.01 * rng.normal();
  }

  function run(seed: number, dropoutRate = 0, nanAt?: [number, number], lrSchedule?: "constant" | "cosine") {
    const m = createMlp(new Rng(seed), dIn, [{ units: 1, activation: "linear", dropout: dropoutRate }]);
    const reports: number[] = [];
    try {
      const h = trainMinibatches(
        n,
        mlpParams(m),
        (ctx) => {
          const xb = tf.tensor2d(gatherRows(X, dIn, ctx.indices), [ctx.indices.length, dIn]);
          const yb = tf.tensor2d(gatherRows(Y, 1, ctx.indices), [ctx.indices.length, 1]);
          const loss = tf.mean(tf.square(tf.sub(mlpForward(m, xb, trainMode(ctx.rng)), yb))) as tf.Scalar;
          if (nanAt && ctx.epoch === nanAt[0] && ctx.step === nanAt[1])
            return tf.mul(loss, Number.NaN) as tf.Scalar;
          return loss;
        },
        {
          epochs: 20,
          batchSize: 25,
          adam: { lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 },
          rng: new Rng(seed).fork("loop"),
          label: "test-regression",
          onEpoch: (r) => reports.push(r.epoch),
          syncEvery: 4,
          ...(lrSchedule ? { lrSchedule } : {}),
        },
      );
      return { h, w: Array.from(m.layers[0]?.dense.w.dataSync() ?? []), reports };
    } finally {
      disposeMlp(m);
    }
  }

  test("cosine schedule: the rate falls from lr to 0, and training with it still fits", () => {
    expect(scheduledLr("cosine", 0.1, 0, 100)).toBeCloseTo(0.1, 12);
    expect(scheduledLr("cosine", 0.1, 50, 100)).toBeCloseTo(0.05, 12);
    expect(scheduledLr("cosine", 0.1, 99, 100)).toBeLessThan(0.1 * 0.001);
    expect(scheduledLr("constant", 0.1, 99, 100)).toBe(0.1);
    const before = tf.memory().numTensors;
    const cos = run(1, 0, undefined, "cosine");
    const flat = run(1);
    expect(tf.memory().numTensors).toBe(before);
    expect(cos.h.epochLosses.at(-1)).toBeLessThan(0.001);
    // The schedule reached the optimiser: same data and seed, a different path.
    expect(cos.h.epochLosses[5]).not.toBe(flat.h.epochLosses[5]);
  });

  test("fits a linear map, reports every epoch, is reproducible, does not leak", () => {
    const before = tf.memory().numTensors;
    const a = run(1);
    expect(tf.memory().numTensors).toBe(before);
    expect(a.reports).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(a.h.epochLosses.at(-1)).toBeLessThan(0.001);
    for (let j = 0; j < dIn; j++) expect(a.w[j]).toBeCloseTo(wTrue[j] as number, 2);
    const b = run(1);
    expect(b.h.epochLosses).toEqual(a.h.epochLosses);
    const c = run(2);
    expect(c.h.epochLosses[0]).not.toBe(a.h.epochLosses[0]);
    // Dropout draws from the per-step Rng: still reproducible.
    expect(run(3, 0.3).h.epochLosses).toEqual(run(3, 0.3).h.epochLosses);
  });

  test("a NaN loss stops training with an error naming the epoch and step", () => {
    const before = tf.memory().numTensors;
    let err: unknown;
    try {
      run(1, 0, [2, 7]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as NonFiniteLossError).epoch).toBe(2);
    expect((err as NonFiniteLossError).step).toBe(7);
    expect((err as Error).message).toContain("test-regression");
    expect((err as Error).message).toContain("epoch 2, step 7");
    expect(tf.memory().numTensors).toBe(before);
  });
});
