/**
 * trainModels (several models in lockstep through grouped ops) against trainModel (one model, plain
 * tfjs ops) on fresh random data, on every available backend, with dropout on and no leaks.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { relativeError } from "./backend/compare.ts";
import { availableBackends, selectBackend } from "./backend/select.ts";
import { initParams, instaMlp, type ModelSpec, mnistCnn, type Params } from "./models/spec.ts";
import { Rng } from "./random.ts";
import { sizeFromShape } from "./shape.ts";
import { tf } from "./tf.ts";
import { type LabelledData, NonFiniteLossError, trainModel } from "./train.ts";
import { type TrainJob, trainModels } from "./train-batched.ts";
import { PAPER_SGD } from "./update-spec.ts";

function data(spec: ModelSpec, n: number, rng: Rng): LabelledData {
  const size = sizeFromShape(spec.inputShape);
  return {
    x: rng.normals(n * size),
    y: Int32Array.from({ length: n }, () => rng.int(spec.numClasses)),
    n,
  };
}

/** The worst relativeError over the parameter arrays. */
function relErr(a: Params, b: Params): number {
  return Math.max(...b.map((ref, i) => relativeError(a[i]!, ref)));
}

function jobsFor(spec: ModelSpec, n: number, seed: string, count: number): TrainJob[] {
  return Array.from({ length: count }, (_, m) => {
    const rng = new Rng(seed).fork("model", m);
    return {
      init: initParams(spec, rng.fork("init")),
      data: data(spec, n, rng.fork("data")),
      rng: rng.fork("train"),
    };
  });
}

const backends = await availableBackends();

describe.each(backends)("trainModels on %s", (backend) => {
  beforeAll(async () => {
    await selectBackend({ backend, quiet: true, allowSoftware: true });
  });
  afterAll(async () => {
    await selectBackend({ backend: "cpu", quiet: true });
  });

  const cases: [ModelSpec, number, number][] = [
    [instaMlp, 150, 2],
    [mnistCnn, 80, 1],
  ];
  for (const [spec, n, epochs] of cases) {
    test(`${spec.name}: two models together equal each trained alone (dropout on, ${epochs} epoch(s) of ${n})`, async () => {
      // A larger learning rate than the paper's so that training moves the weights visibly.
      const cfg = { ...PAPER_SGD, lr: 0.05, epochs };
      const jobs = jobsFor(spec, n, `train-batched-${backend}-${spec.name}`, 2);
      const before = tf.memory().numTensors;
      const losses: number[][] = [[], []];
      const together = await trainModels(spec, jobs, cfg, (m, p) => losses[m]!.push(p.meanLoss));
      expect(tf.memory().numTensors).toBe(before);
      for (const [m, job] of jobs.entries()) {
        const alone = await trainModel(spec, job.init, job.data, cfg, job.rng);
        expect(relErr(alone, job.init)).toBeGreaterThan(1e-3); // training moved the weights
        expect(relErr(together[m]!, alone)).toBeLessThanOrEqual(1e-4);
        expect(losses[m]!.length).toBe(epochs);
        expect(losses[m]!.every(Number.isFinite)).toBe(true);
      }
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  test("the models trained beside a model change it by float rounding at most (none on cpu)", async () => {
    const cfg = { ...PAPER_SGD, lr: 0.05, epochs: 1 };
    const jobs = jobsFor(instaMlp, 100, `train-batched-alone-${backend}`, 3);
    const three = await trainModels(instaMlp, jobs, cfg);
    const one = await trainModels(instaMlp, [jobs[1]!], cfg);
    // wasm and webgpu reduce [M, ...] tensors in M-dependent blocks, so the last bits can move.
    if (backend === "cpu") expect(three[1]).toEqual(one[0]!);
    else expect(relErr(three[1]!, one[0]!)).toBeLessThanOrEqual(1e-6);
  });

  test("a NaN loss stops training with the model, epoch and step named", async () => {
    const cfg = { ...PAPER_SGD, epochs: 1 };
    const jobs = jobsFor(instaMlp, 100, `train-batched-nan-${backend}`, 2);
    jobs[1]!.data.x.fill(Number.NaN);
    const before = tf.memory().numTensors;
    const run = trainModels(instaMlp, jobs, cfg);
    await expect(run).rejects.toBeInstanceOf(NonFiniteLossError);
    await expect(trainModels(instaMlp, jobs, cfg)).rejects.toThrow(
      /model 1 of 2\): loss is NaN at epoch 1, step 1/,
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});
