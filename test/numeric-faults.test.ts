/**
 * Numeric faults stop a run with the stage and the index named, and keep what was finished:
 * - a NaN delta during generation (`generateSide`, NonFiniteDeltaError): the side, the updated
 *   model and its shard are named; shards before it stay in the store, the bad one is not written.
 *   Two ways in: one poisoned sample (NaN features) in one model's updating set, and NaN original
 *   weights on a resumed side (the first model of the first missing shard is named);
 * - a NaN loss while training an original model (core `trainModel`, NonFiniteLossError): the epoch,
 *   step and batch start are named, checked against a plain re-run of the same loop that stops
 *   at the first non-finite loss.
 * Insta-NY synthetic data and its MLP (dense + relu, through which NaN propagates on every
 * backend), on the cpu backend: a few seconds.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type DatasetLike, generateSide, MemoryShardStore, NonFiniteDeltaError } from "@updates-leak/attacks";
import {
  gatherBatch,
  initParams,
  instaMlp,
  NonFiniteLossError,
  PAPER_SGD,
  PAPER_UPDATE,
  type Params,
  Rng,
  selectBackend,
  sgdStep,
  type TrainConfig,
  tf,
  toTensors,
  trainModel,
  UpdateEngine,
} from "@updates-leak/core";
import { drawMasks } from "@updates-leak/core/internal";
import { type Dataset, loadDataset, makeSplits, type Splits } from "@updates-leak/datasets";
import { quietContext, testConfig } from "./test-config.ts";

let ds: Dataset;
let splits: Splits;
let probes: Float32Array;

beforeAll(async () => {
  await selectBackend({ backend: "cpu", quiet: true });
  ds = await loadDataset("insta-ny-synthetic");
  splits = makeSplits(ds, { seed: 3, probeSize: 100 });
  probes = ds.gather(splits.probe.subarray(0, 20)).x;
});
afterAll(async () => {
  await selectBackend({ backend: "cpu", quiet: true });
});

const ctx = quietContext();

const cfg = testConfig("label", "insta-ny", {
  seed: 3,
  shadowModels: 40,
  targetModels: 40,
  probeCount: 20,
  shardSize: 10,
  chunkSize: 4,
  trainEpochs: 1,
  attackEpochs: 1,
  backend: "cpu",
});

/** `ds` with the features of dataset index `bad` replaced by NaN. */
function poisoned(bad: number): DatasetLike {
  const size = ds.sampleSize;
  return {
    name: ds.name,
    numClasses: ds.numClasses,
    sampleShape: ds.sampleShape,
    sampleSize: ds.sampleSize,
    count: ds.count,
    labels: ds.labels,
    reconSpace: ds.reconSpace,
    gatherUnit: (idx) => ds.gatherUnit(idx),
    gather: (idx) => {
      const g = ds.gather(idx);
      for (let i = 0; i < idx.length; i++) if (idx[i] === bad) g.x.fill(Number.NaN, i * size, (i + 1) * size);
      return g;
    },
  };
}

/** The dataset index in updated model i's set: the documented derivation, Rng(seed).fork(side, "model", i). */
function sampleOf(side: "shadow" | "target", i: number): number {
  const pool = splits[side].pool;
  const pick = new Rng(cfg.seed).fork(side).fork("model", i).fork("set").sample(pool.length, 1);
  return pool[pick[0]!]!;
}

function engineFor(original: Params): UpdateEngine {
  return new UpdateEngine({ spec: instaMlp, original, probes, update: PAPER_UPDATE, dropout: true });
}

describe("a NaN delta stops generation, naming side, model and shard", () => {
  test("one poisoned sample: the model that drew it is named; earlier shards are kept", async () => {
    const bad = sampleOf("shadow", 13);
    // The first model (in generation order) whose set holds the poisoned sample.
    let first = 0;
    while (sampleOf("shadow", first) !== bad) first++;
    expect(first).toBeLessThanOrEqual(13);
    const shard = Math.floor(first / cfg.shardSize);
    const store = new MemoryShardStore();
    const original = initParams(instaMlp, new Rng(3).fork("init"));
    const before = tf.memory().numTensors;
    const engine = engineFor(original);
    let err: unknown = null;
    try {
      await generateSide(cfg, "shadow", cfg.shadowModels, splits.shadow, poisoned(bad), engine, store, ctx);
    } catch (e) {
      err = e;
    } finally {
      engine.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(err).toBeInstanceOf(NonFiniteDeltaError);
    expect((err as Error).message).toBe(
      `generate shadow: delta of updated model ${first} (shard ${shard}) is NaN`,
    );
    // Shards before the bad one are complete and finite; the bad one and later ones are absent.
    expect([...(await store.completed())].sort((a, b) => a - b)).toEqual([...Array(shard).keys()]);
    for (let k = 0; k < shard; k++) {
      const s = await store.read(k);
      expect(s.deltas.every(Number.isFinite)).toBe(true);
    }

    // The same run without the poison goes through (the fault, not the setup, stopped it).
    const clean = new MemoryShardStore();
    const e2 = engineFor(original);
    try {
      await generateSide(cfg, "shadow", cfg.shadowModels, splits.shadow, ds, e2, clean, ctx);
    } finally {
      e2.dispose();
    }
    expect([...(await clean.completed())].sort()).toEqual([0, 1, 2, 3]);
    expect(tf.memory().numTensors).toBe(before);
  });

  test("NaN original weights on a resumed side: the first model of the first missing shard", async () => {
    const store = new MemoryShardStore();
    // Shards 0 and 1 are already complete (a resume): generation starts at shard 2, model 20.
    for (const k of [0, 1]) {
      await store.write(k, {
        count: 10,
        deltaSize: 20 * 8,
        truthSize: 2,
        deltas: new Float32Array(10 * 160),
        truth: new Float32Array(20),
      });
    }
    const original = initParams(instaMlp, new Rng(3).fork("init"));
    original[original.length - 1]![0] = Number.NaN; // one output bias
    const before = tf.memory().numTensors;
    const engine = engineFor(original);
    try {
      await expect(
        generateSide(cfg, "target", cfg.targetModels, splits.target, ds, engine, store, ctx),
      ).rejects.toThrow(
        new NonFiniteDeltaError("generate target: delta of updated model 20 (shard 2) is NaN"),
      );
    } finally {
      engine.dispose();
    }
    expect(tf.memory().numTensors).toBe(before);
    expect([...(await store.completed())].sort()).toEqual([0, 1]);
  });
});

/** A plain re-run of trainModel's loop: (epoch, step, batch start) of the first non-finite loss. */
function firstBadStep(init: Params, x: Float32Array, y: Int32Array, c: TrainConfig, rng: Rng) {
  const n = y.length;
  const data = { x, y, n };
  let params = toTensors(instaMlp, init);
  let velocity: tf.Tensor[] | null = null;
  try {
    for (let epoch = 1; epoch <= c.epochs; epoch++) {
      const order = rng.fork("epoch", epoch).permutation(n);
      const maskRng = rng.fork("masks", epoch);
      let step = 0;
      for (let start = 0; start < n; start += c.batchSize) {
        const idx = order.subarray(start, Math.min(start + c.batchSize, n));
        const [xb, yb] = gatherBatch(instaMlp, data, idx);
        const masks = drawMasks(instaMlp, idx.length, maskRng).map((m) =>
          tf.tensor2d(m, [idx.length, m.length / idx.length]),
        );
        const s = sgdStep(instaMlp, params, velocity, xb, yb, masks, c);
        tf.dispose([xb, yb, ...masks, ...params, ...(velocity ?? [])]);
        params = s.params;
        velocity = s.velocity;
        const loss = s.loss.dataSync()[0]!;
        s.loss.dispose();
        step++;
        if (!Number.isFinite(loss)) return { epoch, step, start, loss };
      }
    }
    return null;
  } finally {
    tf.dispose([...params, ...(velocity ?? [])]);
  }
}

describe("a NaN loss stops training of an original model, naming epoch and step", () => {
  const n = 640;
  const labelled = () => {
    const g = ds.gather(Int32Array.from({ length: n }, (_, i) => splits.shadow.train[i]!));
    return { x: g.x, y: Int32Array.from(g.labels), n };
  };

  test("a diverging learning rate: the first non-finite step, as a plain re-run finds it", async () => {
    const data = labelled();
    const c: TrainConfig = { ...PAPER_SGD, lr: 1e4, epochs: 3 };
    const init = initParams(instaMlp, new Rng(5).fork("init"));
    const ref = firstBadStep(init, data.x, data.y, c, new Rng(5).fork("train"));
    expect(ref).not.toBeNull();
    console.log(`numeric-faults.test: lr 1e4 diverges at epoch ${ref!.epoch}, step ${ref!.step}`);
    expect(ref!.step).toBeGreaterThan(1); // it diverged, it did not start broken
    const before = tf.memory().numTensors;
    let err: unknown = null;
    const epochs: number[] = [];
    try {
      await trainModel(instaMlp, init, data, c, new Rng(5).fork("train"), (p) => epochs.push(p.epoch));
    } catch (e) {
      err = e;
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as Error).message).toBe(
      `training insta-ny-mlp: loss is ${ref!.loss} at epoch ${ref!.epoch}, step ${ref!.step} (batch starting at sample ${ref!.start})`,
    );
    expect(epochs).toEqual([...Array(ref!.epoch - 1).keys()].map((e) => e + 1));
  });

  test("NaN initial weights: epoch 1, step 1", async () => {
    const data = labelled();
    const init = initParams(instaMlp, new Rng(5).fork("init"));
    init[0]![7] = Number.NaN;
    const before = tf.memory().numTensors;
    await expect(
      trainModel(instaMlp, init, data, { ...PAPER_SGD, epochs: 1 }, new Rng(5).fork("train")),
    ).rejects.toThrow("training insta-ny-mlp: loss is NaN at epoch 1, step 1 (batch starting at sample 0)");
    expect(tf.memory().numTensors).toBe(before);
  });
});
