/**
 * trainAlone: each model trained alone, in worker threads on wasm with two threads, gives exactly
 * the parameters of trainModels with that one job (bit for bit), in job order, with progress per
 * model; a NaN loss names the model; nothing leaks on the main thread.
 */

import { afterAll, describe, expect, test } from "bun:test";
import { sameBits } from "./backend/compare.ts";
import { selectBackend } from "./backend/select.ts";
import { initParams, instaMlp, type ModelSpec, mnistCnn, type Params } from "./models/spec.ts";
import { Rng } from "./random.ts";
import { sizeFromShape } from "./shape.ts";
import { tf } from "./tf.ts";
import { NonFiniteLossError } from "./train.ts";
import { aloneParallelism, trainAlone } from "./train-alone.ts";
import { type TrainJob, trainModels } from "./train-batched.ts";
import { PAPER_SGD } from "./update-spec.ts";

function jobsFor(spec: ModelSpec, n: number, seed: string, count: number): TrainJob[] {
  const size = sizeFromShape(spec.inputShape);
  return Array.from({ length: count }, (_, m) => {
    const rng = new Rng(seed).fork("model", m);
    const x = rng.fork("data").normals(n * size);
    return {
      init: initParams(spec, rng.fork("init")),
      data: { x, y: Int32Array.from({ length: n }, (_, i) => (i * 7 + m) % spec.numClasses), n },
      rng: rng.fork("train"),
    };
  });
}

const same = (a: Params, b: Params) => a.length === b.length && a.every((p, i) => sameBits(p, b[i]!));

describe("trainAlone", () => {
  afterAll(async () => {
    await selectBackend({ backend: "wasm", threads: 2, quiet: true });
  });

  for (const [spec, n, threads] of [
    [mnistCnn, 96, 2],
    [instaMlp, 150, 2],
    [mnistCnn, 96, 1],
  ] as const) {
    test(`${spec.name}, wasm with ${threads} thread(s): each model's bits are trainModels' for it alone`, async () => {
      await selectBackend({ backend: "wasm", threads, quiet: true });
      expect(aloneParallelism(3)).toBe(threads); // workers on two threads, the main thread on one
      const cfg = { ...PAPER_SGD, lr: 0.05, epochs: 2 };
      const jobs = jobsFor(spec, n, `alone-${spec.name}-${threads}`, 3);
      const before = tf.memory().numTensors;
      const epochs: number[][] = [[], [], []];
      const got = await trainAlone(spec, jobs, cfg, (m, p) => epochs[m]!.push(p.epoch));
      expect(tf.memory().numTensors).toBe(before);
      expect(epochs).toEqual([
        [1, 2],
        [1, 2],
        [1, 2],
      ]);
      for (const [m, job] of jobs.entries()) {
        const [alone] = await trainModels(spec, [job], cfg);
        expect([m, same(got[m]!, alone!)]).toEqual([m, true]);
        expect(same(got[m]!, job.init)).toBe(false); // training moved the weights
      }
    }, 600_000);
  }

  test("a NaN loss stops training with the model, epoch and step named; other workers stop", async () => {
    await selectBackend({ backend: "wasm", threads: 2, quiet: true });
    const jobs = jobsFor(mnistCnn, 64, "alone-nan", 2);
    jobs[1]!.data.x.fill(Number.NaN);
    const run = trainAlone(mnistCnn, jobs, { ...PAPER_SGD, epochs: 1 });
    await expect(run).rejects.toBeInstanceOf(NonFiniteLossError);
    await expect(trainAlone(mnistCnn, jobs, { ...PAPER_SGD, epochs: 1 })).rejects.toThrow(
      /model 1 of 2\): loss is NaN at epoch 1, step 1/,
    );
  }, 600_000);

  test("on cpu the models train one after another on the main thread", async () => {
    await selectBackend({ backend: "cpu", quiet: true });
    expect(aloneParallelism(2)).toBe(1);
  });
});
