/**
 * The pipeline keeps its sides apart. A tiny run through the CLI's data step (loadExperimentData:
 * Insta-NY, the synthetic stand-in when no insta-ny.csv is found, split with the run's seed and
 * probe count, standardised on the adversary's side) and the pipeline's generation step
 * (generateShards: original models, K = 2 shadow originals, the extra target set size of A_LDE's
 * relaxation), then every shard's ground truth read back: each updating set lies in its own
 * side's update pool, outside the probing set and both training sets. Insta-NY keeps it fast
 * (on the cpu backend, where the originals train batched in this process: about 20 s in all).
 */
import { beforeAll, describe, expect, test } from "bun:test";
import {
  type ExperimentData,
  generateShards,
  MemoryShardStore,
  type RunContext,
  type ShardStore,
} from "@updates-leak/attacks";
import { selectBackend } from "@updates-leak/core";
import { fitStandardisation } from "@updates-leak/datasets";
import type { CliRunContext } from "../tools/src/run-attack.ts";
import { adversaryRows, loadExperimentData } from "../tools/src/run-experiment.ts";
import { testConfig } from "./test-config.ts";

const config = testConfig("distribution", "insta-ny", {
  seed: 3,
  shadowModels: 12,
  targetModels: 6,
  setSize: 20,
  targetSetSizes: [5],
  shadowOriginals: 2,
  probeCount: 150,
  shardSize: 3,
  trainEpochs: 1,
  attackEpochs: 1,
  backend: "cpu",
  smoke: true,
});

const logs: string[] = [];
const extra = new Map<number, MemoryShardStore>();
const ctx: CliRunContext = {
  shadowStore: new MemoryShardStore(),
  targetStore: new MemoryShardStore(),
  extraTargetStore: (n) => {
    if (!extra.has(n)) extra.set(n, new MemoryShardStore());
    return extra.get(n)!;
  },
  metric: () => {},
  progress: () => {},
  log: (m) => logs.push(m),
};

let data: ExperimentData;

/** Every updating set of a store: [model, dataset indices, labels]. */
async function sets(store: ShardStore, setSize: number): Promise<[number, number[], number[]][]> {
  const out: [number, number[], number[]][] = [];
  for (const k of [...(await store.completed())].sort((a, b) => a - b)) {
    const s = await store.read(k);
    expect(s.truthSize).toBe(2 * setSize);
    for (let m = 0; m < s.count; m++) {
      const row = s.truth.subarray(m * 2 * setSize, (m + 1) * 2 * setSize);
      out.push([
        k * config.shardSize + m,
        Array.from(row.subarray(0, setSize)),
        Array.from(row.subarray(setSize)),
      ]);
    }
  }
  return out;
}

beforeAll(async () => {
  const t0 = performance.now();
  await selectBackend({ backend: "cpu", quiet: true });
  const t1 = performance.now();
  data = await loadExperimentData(config, ctx);
  const t2 = performance.now();
  await generateShards(config, ctx as RunContext, data);
  const s = (a: number, b: number) => ((b - a) / 1000).toFixed(1);
  console.log(
    `split.test: backend ${s(t0, t1)} s, data ${s(t1, t2)} s, originals and shards ${s(t2, performance.now())} s`,
  );
}, 600_000);

describe("split of a tiny pipeline run (Insta-NY, seed 3, 150 probes)", () => {
  test("the split itself: probes, training sets and pools are disjoint and cover their sizes", () => {
    const { probe, target, shadow } = data.splits;
    expect(probe.length).toBe(150);
    const all = [probe, target.train, target.pool, shadow.train, shadow.pool];
    const seen = new Set<number>();
    for (const part of all) for (const i of part) seen.add(i);
    expect(seen.size).toBe(all.reduce((n, p) => n + p.length, 0));
    expect([...seen].filter((i) => !(Number.isInteger(i) && i >= 0 && i < data.dataset.count))).toEqual([]);
  });

  test("every updating set lies in its own side's pool, outside the probes and both training sets", async () => {
    const { probe, target, shadow } = data.splits;
    const setOf = (a: Int32Array) => new Set(a);
    const forbidden = [setOf(probe), setOf(target.train), setOf(shadow.train)];
    const sides: [string, ShardStore, number, number, Set<number>][] = [
      ["shadow", ctx.shadowStore, config.shadowModels, config.setSize, setOf(shadow.pool)],
      ["target", ctx.targetStore, config.targetModels, config.setSize, setOf(target.pool)],
      ["target-s5", extra.get(5)!, config.targetModels, 5, setOf(target.pool)],
    ];
    const problems: string[] = [];
    for (const [name, store, models, S, pool] of sides) {
      const all = await sets(store, S);
      expect(all.map(([m]) => m)).toEqual(Array.from({ length: models }, (_, i) => i));
      for (const [m, idx, labels] of all) {
        for (const [j, i] of idx.entries()) {
          if (!pool.has(i)) problems.push(`${name} model ${m}: sample ${i} is not in the ${name} pool`);
          if (forbidden.some((f) => f.has(i)))
            problems.push(`${name} model ${m}: sample ${i} is a probe or a training sample`);
          if (labels[j] !== data.dataset.labels[i])
            problems.push(`${name} model ${m}: label of ${i} is wrong`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  test("the features are standardised with the statistics of the adversary's side only", () => {
    const ds = data.dataset as typeof data.dataset & {
      raw: Float32Array;
      normalization: { mean: Float32Array };
    };
    const { mean } = fitStandardisation(ds.raw, ds.sampleSize, adversaryRows(data.splits));
    expect(ds.normalization.mean).toEqual(Float32Array.from(mean));
    expect(logs.some((l) => l.includes("original shadow and target models"))).toBe(true);
  });
});
