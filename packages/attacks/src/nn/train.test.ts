import { beforeAll, describe, expect, test } from "bun:test";
import { Rng, selectBackend, tf } from "@updates-leak/core";
import { createMlp, disposeMlp, mlpForward, mlpParams, trainMode } from "./mlp.ts";
import { gatherRows } from "./rows.ts";
import { NonFiniteLossError, scheduledLr, trainMinibatches } from "./train.ts";

beforeAll(async () => {
  await selectBackend({ backend: "wasm", quiet: true });
});

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

describe("trainMinibatches", () => {
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
