/**
 * End-to-end smoke tests of the four attacks on real MNIST (found by the data search order, e.g.
 * $UPDATES_LEAK_DATA): the whole pipeline in process (original models, batched engine, shard store,
 * attack, baselines) at a small size, each asserting that the attack beats its baselines by a clear
 * margin. The original models are trained once (2 epochs) and shared through an in-memory model cache.
 */
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  type ExperimentConfig,
  type ExperimentData,
  type ExperimentResult,
  MemoryShardStore,
  type ModelCache,
  type RelaxationRow,
  type RunContext,
  runExperiment,
} from "@updates-leak/attacks";
import { selectBackend, tf } from "@updates-leak/core";
import { loadDataset, makeSplits } from "@updates-leak/datasets";
import { testConfig } from "./test-config.ts";

setDefaultTimeout(600_000);

const models = new Map<string, Float32Array[]>();
const cache: ModelCache = {
  get: async (k) => models.get(k) ?? null,
  put: async (k, p) => {
    models.set(k, p);
  },
};

function context(): RunContext {
  const extra = new Map<number, MemoryShardStore>();
  return {
    shadowStore: new MemoryShardStore(),
    targetStore: new MemoryShardStore(),
    extraTargetStore: (n) => {
      if (!extra.has(n)) extra.set(n, new MemoryShardStore());
      return extra.get(n)!;
    },
    metric: () => {},
    progress: () => {},
    log: () => {},
    modelCache: cache,
  };
}

function config(attack: ExperimentConfig["attack"], over: Partial<ExperimentConfig> = {}): ExperimentConfig {
  const multi = attack === "distribution" || attack === "msr";
  return testConfig(attack, "mnist", {
    shadowModels: multi ? 400 : 600,
    targetModels: multi ? 50 : 150,
    shardSize: 100,
    trainEpochs: 2,
    attackEpochs: 20,
    backend: "wasm",
    smoke: true,
    inferenceSamples: 1000,
    evalTargets: 10,
    ...over,
  });
}

let data: ExperimentData;

/** The result's prediction array `name`. */
function prediction(r: ExperimentResult, name: string) {
  const p = r.predictions?.find((x) => x.name === name);
  if (!p) throw new Error(`no prediction ${name} in the ${r.attack} result`);
  return p;
}

beforeAll(async () => {
  await selectBackend({ backend: "wasm", quiet: true });
  const dataset = await loadDataset("mnist");
  data = { dataset, splits: makeSplits(dataset, { seed: 0 }) };
});

describe("attacks end to end on real MNIST (smoke size)", () => {
  test("A_LI beats the Random baseline by a wide margin", async () => {
    const before = tf.memory().numTensors;
    const r = await runExperiment(config("label"), context(), data);
    expect(tf.memory().numTensors).toBe(before);
    expect(r.baselines.random!).toBeLessThan(0.25);
    expect(r.value).toBeGreaterThan(0.5);
    expect(r.value).toBeGreaterThan(r.baselines.random! + 0.3);
    // The kept predictions give the accuracy again.
    const [pred, truth] = [prediction(r, "predicted_label"), prediction(r, "true_label")];
    expect(pred.shape).toEqual([150]);
    expect(pred.data.filter((v, i) => v === truth.data[i]).length / 150).toBe(r.value);
  });

  test("A_SSR beats Random and Label-random; the AE oracle bounds it; Random is about twice the mean sample", async () => {
    const r = await runExperiment(config("reconstruct"), context(), data);
    expect(r.value).toBeLessThan(0.8 * r.baselines.random!);
    expect(r.value).toBeLessThan(r.baselines.label_random!);
    expect(r.baselines.ae_oracle!).toBeLessThan(r.value);
    // E|x - x'|^2 = 2 Var for independent samples: Random's MSE is about twice the mean sample's.
    const ratio = r.baselines.random! / r.baselines.mean_sample!;
    expect(ratio).toBeGreaterThan(1.7);
    expect(ratio).toBeLessThan(2.3);
    // The kept reconstructions against the samples named by their indices give the MSE again.
    const recon = prediction(r, "reconstruction");
    expect(recon.shape).toEqual([150, 28, 28, 1]);
    const truth = data.dataset.gatherUnit(prediction(r, "true_index").data);
    let se = 0;
    for (let i = 0; i < truth.length; i++) se += (recon.data[i]! - truth[i]!) ** 2;
    expect(se / truth.length).toBeCloseTo(r.value, 6);
    // A second run loads the autoencoder from the model cache: the same result, bit for bit.
    expect(r.extra?.autoencoderCached).toBe(false);
    const again = await runExperiment(config("reconstruct"), context(), data);
    expect(again.extra?.autoencoderCached).toBe(true);
    expect([again.value, again.baselines]).toEqual([r.value, r.baselines]);
  });

  test("A_LDE's KL is clearly below the random-histogram baseline; relaxation to test sets of 10", async () => {
    const ctx = context();
    const cfg = config("distribution", { targetSetSizes: [10] });
    const r = await runExperiment(cfg, ctx, data);
    expect(r.value).toBeLessThan(0.5 * r.baselines.random_histogram!);
    // The kept histograms: each true one sums to 1 over 10 classes for every target set.
    const [pred, truth] = [prediction(r, "predicted_distribution"), prediction(r, "true_distribution")];
    expect([pred.shape, truth.shape]).toEqual([
      [50, 10],
      [50, 10],
    ]);
    for (let i = 0; i < 50; i++)
      expect(Array.from(truth.data.subarray(i * 10, (i + 1) * 10)).reduce((a, v) => a + v, 0)).toBeCloseTo(
        1,
        5,
      );
    // The same attack (trained on sets of 100) scored on an extra target side with sets of 10.
    const rows = r.extra.relaxation as RelaxationRow[];
    expect(rows.map((x) => [x.trainSetSize, x.testSetSize])).toEqual([
      [100, 10],
      [100, 100],
    ]);
    expect(rows[1]!.kl).toBe(r.value);
    expect(rows[1]!.klPrior).toBe(r.baselines.prior!);
    for (const x of rows) {
      for (const v of [x.kl, x.klStd, x.klRandom, x.klPrior, x.topLabel, x.topLabelPrior])
        expect(Number.isFinite(v)).toBe(true);
      expect(x.kl).toBeLessThan(x.klRandom);
    }
    // Sets of 10 have coarser histograms, so both the attack and the prior are further off.
    expect(rows[0]!.klPrior).toBeGreaterThan(rows[1]!.klPrior);
    expect(r.counts.target_s10_models).toBe(cfg.targetModels);
    expect(r.figures.bars.length).toBe(2);
    const store = ctx.extraTargetStore!(10);
    const shards = await store.completed();
    expect(shards.size).toBe(Math.ceil(cfg.targetModels / cfg.shardSize));
    for (const k of shards) {
      const s = await store.read(k);
      expect(s.truthSize).toBe(2 * 10);
      expect(s.truth.length).toBe(s.count * 2 * 10);
      // labels (the second half of each row) are classes; indices are distinct within a set
      for (let j = 0; j < s.count; j++) {
        const row = s.truth.subarray(j * 20, (j + 1) * 20);
        expect(new Set(row.subarray(0, 10)).size).toBe(10);
        for (const l of row.subarray(10)) expect(l >= 0 && l < 10 && Number.isInteger(l)).toBe(true);
      }
    }
  });

  test("A_MSR's matched MSE is below the random-set baseline; the delta-blind baselines are there", async () => {
    const r = await runExperiment(config("msr", { attackEpochs: 2 }), context(), data);
    expect(r.value).toBeLessThan(r.baselines.random_set!);
    const perSet = prediction(r, "matched_mse");
    expect(perSet.shape).toEqual([10]);
    expect(Array.from(perSet.data).reduce((a, v) => a + v, 0) / 10).toBeCloseTo(r.value, 5);
    // The delta-blind baselines: the pool's k-means set, and the GAN given another target's delta.
    for (const b of ["pool_kmeans", "cbm_gan_other_delta"]) expect(r.baselines[b]).toBeGreaterThan(0);
    expect(r.extra?.otherDeltaTargets).toBe(10);
  });
});
