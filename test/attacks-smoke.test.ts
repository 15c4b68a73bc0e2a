/**
 * End-to-end smoke tests of the four attacks on real MNIST (../shared/data): the whole pipeline in
 * process (original models, batched engine, shard store, attack, baselines) at a small size, each
 * asserting that the attack beats its baselines by a clear margin. The original models are
 * trained once (2 epochs) and shared through an in-memory model cache.
 */
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  type ExperimentConfig,
  type ExperimentData,
  MemoryShardStore,
  type ModelCache,
  type RunContext,
  runExperiment,
} from "@updates-leak/attacks";
import { selectBackend, tf } from "@updates-leak/core";
import { loadDataset, makeSplits } from "@updates-leak/datasets";

setDefaultTimeout(600_000);

const models = new Map<string, Float32Array[]>();
const cache: ModelCache = {
  get: async (k) => models.get(k) ?? null,
  put: async (k, p) => {
    models.set(k, p);
  },
};

function context(): RunContext {
  return {
    shadowStore: new MemoryShardStore(),
    targetStore: new MemoryShardStore(),
    metric: () => {},
    progress: () => {},
    log: () => {},
    modelCache: cache,
  };
}

function config(attack: ExperimentConfig["attack"], over: Partial<ExperimentConfig> = {}): ExperimentConfig {
  const multi = attack === "distribution" || attack === "msr";
  return {
    attack,
    dataset: "mnist",
    seed: 0,
    shadowModels: multi ? 400 : 600,
    targetModels: multi ? 50 : 150,
    setSize: multi ? 100 : 1,
    probeCount: 100,
    shardSize: 100,
    chunkSize: 0,
    trainEpochs: 2,
    attackEpochs: 20,
    backend: "wasm",
    threads: 0,
    smoke: true,
    inferenceSamples: 1000,
    evalTargets: 10,
    ...over,
  };
}

let data: ExperimentData;

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
  });

  test("A_SSR beats Random and Label-random; the AE oracle bounds it", async () => {
    const r = await runExperiment(config("reconstruct"), context(), data);
    expect(r.value).toBeLessThan(0.8 * r.baselines.random!);
    expect(r.value).toBeLessThan(r.baselines.label_random!);
    expect(r.baselines.ae_oracle!).toBeLessThan(r.value);
  });

  test("A_LDE's KL is clearly below the random-histogram baseline", async () => {
    const r = await runExperiment(config("distribution"), context(), data);
    expect(r.value).toBeLessThan(0.5 * r.baselines.random_histogram!);
  });

  test("A_MSR's matched MSE is below the random-set baseline", async () => {
    const r = await runExperiment(config("msr", { attackEpochs: 2 }), context(), data);
    expect(r.value).toBeLessThan(r.baselines.random_set!);
  });
});
