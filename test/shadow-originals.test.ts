/**
 * `shadowOriginals` (K shadow original models, block b of the shadow shards updating copies of the
 * b-th) through the pipeline's generation step on real MNIST, at a size that runs in seconds:
 * - K = 2: block 0 is bit for bit the K = 1 run's (same pair, same sets); block 1 holds the same
 *   updating sets but other deltas (another original); the target side does not change;
 * - shadow original 2 is cached under its own key and a second run loads it: identical shards;
 * - a resume whose block-1 shards are all there loads no extra original;
 * - no tensors leak.
 * Skipped, with a note, when no MNIST files are found.
 */
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  type ExperimentConfig,
  type ExperimentData,
  generateShards,
  MemoryShardStore,
  type ModelCache,
  type RunContext,
  type ShardData,
} from "@updates-leak/attacks";
import { selectBackend, tf } from "@updates-leak/core";
import { relativeError, sameBits } from "@updates-leak/core/internal";
import { loadDataset, locateDataset, makeSplits } from "@updates-leak/datasets";
import { testConfig } from "./test-config.ts";

setDefaultTimeout(300_000);

const haveMnist = locateDataset("mnist").chosen !== undefined;
if (!haveMnist) console.warn("shadow-originals.test: no MNIST files found; skipped");

const models = new Map<string, Float32Array[]>();
const cache: ModelCache = {
  get: async (k) => models.get(k) ?? null,
  put: async (k, p) => {
    models.set(k, p);
  },
};

function context(logs: string[] = []): RunContext {
  return {
    shadowStore: new MemoryShardStore(),
    targetStore: new MemoryShardStore(),
    metric: () => {},
    progress: () => {},
    log: (m) => logs.push(m),
    modelCache: cache,
  };
}

function config(shadowOriginals: number): ExperimentConfig {
  return testConfig("label", "mnist", {
    seed: 5,
    shadowModels: 8,
    targetModels: 2,
    shadowOriginals,
    probeCount: 20,
    shardSize: 2,
    trainEpochs: 1,
    attackEpochs: 1,
    backend: "wasm",
  });
}

async function shards(store: MemoryShardStore): Promise<ShardData[]> {
  const done = [...(await store.completed())].sort((a, b) => a - b);
  return Promise.all(done.map((k) => store.read(k)));
}

describe.skipIf(!haveMnist)("shadow originals on real MNIST", () => {
  let data: ExperimentData;
  beforeAll(async () => {
    await selectBackend({ backend: "wasm", quiet: true });
    const dataset = await loadDataset("mnist", { download: false });
    data = { dataset, splits: makeSplits(dataset, { seed: 5, probeSize: 100 }) };
  });

  test("K = 2: block 0 as with K = 1, block 1 updates shadow original 2; cached; resumed without it", async () => {
    const before = tf.memory().numTensors;
    const one = context();
    await generateShards(config(1), one, data);
    const ref = await shards(one.shadowStore as MemoryShardStore);
    const refTarget = await shards(one.targetStore as MemoryShardStore);
    expect(ref.length).toBe(4);

    const logs: string[] = [];
    const two = context(logs);
    const report = await generateShards(config(2), two, data);
    const got = await shards(two.shadowStore as MemoryShardStore);
    expect(got.length).toBe(4);
    for (const k of [0, 1]) expect(sameBits(got[k]!.deltas, ref[k]!.deltas)).toBe(true);
    for (const k of [2, 3]) {
      // The same updating sets (ground truth) on another model: other deltas.
      expect(sameBits(got[k]!.truth, ref[k]!.truth)).toBe(true);
      expect(relativeError(got[k]!.deltas, ref[k]!.deltas)).toBeGreaterThan(1e-3);
    }
    const target = await shards(two.targetStore as MemoryShardStore);
    for (const [k, s] of target.entries()) expect(sameBits(s.deltas, refTarget[k]!.deltas)).toBe(true);
    expect(report.originals.shadow!.cached).toBe(true);
    expect(report.originals.shadow2!.cached).toBe(false);
    expect(report.originals.shadow2!.key).toContain("shadow2of2");
    expect(report.originals.shadow2!.heldOutAccuracy).toBeGreaterThan(0.5);
    expect(report.counts.shadow_shards_generated).toBe(4);
    expect(logs.some((l) => l.includes("shadow originals 2-2: training 1 (each alone"))).toBe(true);

    // Again, with every original cached: the same shards.
    const again = context();
    const r2 = await generateShards(config(2), again, data);
    expect(r2.originals.shadow2!.cached).toBe(true);
    const got2 = await shards(again.shadowStore as MemoryShardStore);
    for (const [k, s] of got2.entries()) expect(sameBits(s.deltas, got[k]!.deltas)).toBe(true);

    // A resume with block 1 complete needs no shadow original 2.
    const resumed = context();
    for (const k of [2, 3]) await resumed.shadowStore.write(k, got[k]!);
    const r3 = await generateShards(config(2), resumed, data);
    expect(r3.originals.shadow2).toBeUndefined();
    expect([r3.counts.shadow_shards_generated, r3.counts.shadow_shards_resumed]).toEqual([2, 2]);
    const got3 = await shards(resumed.shadowStore as MemoryShardStore);
    for (const [k, s] of got3.entries()) expect(sameBits(s.deltas, got[k]!.deltas)).toBe(true);
    expect(tf.memory().numTensors).toBe(before);
  });
});
