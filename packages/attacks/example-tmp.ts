import { MemoryShardStore, runExperiment } from "@updates-leak/attacks";
import { selectBackend } from "@updates-leak/core";
import { loadDataset, makeSplits } from "@updates-leak/datasets";

await selectBackend({ backend: "wasm", threads: 1, quiet: true });
const dataset = await loadDataset("insta-ny-synthetic"); // seeded generator: no files needed
const config = {
  attack: "label", dataset: "insta-ny", seed: 0, shadowModels: 200, targetModels: 100, setSize: 1,
  targetSetSizes: [], shadowOriginals: 1, probeCount: 100, shardSize: 100, chunkSize: 0,
  trainEpochs: 2, attackEpochs: 5, inferenceSamples: 1, evalTargets: 0, backend: "wasm", threads: 1, smoke: true,
} as const;
const result = await runExperiment(
  { ...config, targetSetSizes: [] },
  {
    shadowStore: new MemoryShardStore(), // deltas stay in memory; the CLI passes a file store
    targetStore: new MemoryShardStore(),
    metric: () => {},
    progress: () => {},
    log: (line) => console.log(line),
  },
  { dataset, splits: makeSplits(dataset, { seed: 0 }) },
);
console.log(`A_LI ${result.metric} ${result.value.toFixed(3)}, Random baseline ${result.baselines.random?.toFixed(3)}`);
