/**
 * A_SSR on CIFAR-10 with the deltas of several shadow models: the adversary trains two more shadow
 * models on the same shadow data (other seeds), updates 5,000 copies of each, and fits the attack
 * on deltas of all three. The question: does this close the shadow-to-target transfer gap?
 * (It led to the pipeline's `--shadow-originals K`, whose shadow originals 2 and 3 these are; this
 * script keeps the variants the pipeline does not run: 9,000 and 20,000 deltas.)
 *
 *   npm run leak -- reconstruct --dataset cifar10 --seed 0 --run-dir runs/reconstruct-cifar10-v3-s0 --shard 1/1
 *   npx bun tools/experiments/ssr-multi-shadow.ts runs/reconstruct-cifar10-v3-s0
 *
 * About 35 minutes on 2 cores (6 min the two extra originals, 5 min the autoencoder, 5 and 13 min
 * the two attacks). Measured on seed 0 (target MSE on [0,1]; Random 0.126, Label-random 0.116):
 * one shadow model, 9,000 deltas 0.0701 (10,000 in the pipeline: 0.0739); three models, 3,000
 * each: 0.0648; three models, 10,000 + 5,000 + 5,000: 0.0622.
 */
import {
  extraShadowModels,
  generateSide,
  MemoryShardStore,
  mse,
  type RunContext,
  readSide,
  trainAutoencoder,
  trainReconstructAttack,
} from "@updates-leak/attacks";
import { PAPER_EPOCHS, PAPER_UPDATE, Rng, SPECS, selectBackend, UpdateEngine } from "@updates-leak/core";
import { loadDataset, makeSplits } from "@updates-leak/datasets";
import { readRunSide, runConfig } from "./run-side.ts";

const runDir = process.argv[2] ?? "runs/reconstruct-cifar10-v3-s0";
const cfg = runConfig(runDir);
if (cfg.dataset !== "cifar10" || cfg.attack !== "reconstruct") {
  throw new Error(`${runDir}: expected a reconstruct run on cifar10, got ${cfg.attack} on ${cfg.dataset}`);
}
await selectBackend({ backend: "wasm", quiet: true });
const ds = await loadDataset("cifar10");
const splits = makeSplits(ds, { seed: cfg.seed, probeSize: Math.max(100, cfg.probeCount) });
const spec = SPECS.cifar10;
const probes = ds.gather(splits.probe.subarray(0, cfg.probeCount)).x;
const ctx: RunContext = {
  shadowStore: new MemoryShardStore(),
  targetStore: new MemoryShardStore(),
  metric: () => {},
  progress: () => {},
  log: (m) => console.log(m),
};
const secondsSince = (t: number) => ((performance.now() - t) / 1000).toFixed(1);

// Two more shadow models: the pipeline's shadow originals 2 and 3 (`--shadow-originals 3`).
let t = performance.now();
const extraParams = (
  await extraShadowModels({ ...cfg, shadowOriginals: 3 }, splits.shadow, ds, PAPER_EPOCHS.cifar10, ctx)
).map((m) => m.params);
console.log(`two extra shadow models trained in ${secondsSince(t)} s`);

interface Side {
  deltas: Float32Array;
  indices: Int32Array;
}
const extra: Side[] = [];
for (const [k, params] of extraParams.entries()) {
  t = performance.now();
  const engine = new UpdateEngine({ spec, original: params, probes, update: PAPER_UPDATE, dropout: true });
  const store = new MemoryShardStore();
  await generateSide(cfg, "shadow", 5000, splits.shadow, ds, engine, store, ctx, undefined, {
    stream: ["shadow-extra", k],
    label: `extra shadow ${k}`,
  });
  engine.dispose();
  extra.push(await readSide(store, 5000, cfg.shardSize, 1));
  console.log(`extra shadow model ${k}: 5,000 updated models in ${secondsSince(t)} s`);
}
const shadow = await readRunSide(runDir, "shadow");
const target = await readRunSide(runDir, "target");
const D = ds.sampleSize;
const d = shadow.deltaSize;

// The autoencoder as the pipeline trains it.
const rng = new Rng(cfg.seed).fork("attack", "reconstruct");
t = performance.now();
const ae = trainAutoencoder(
  ds.gatherUnit(splits.shadow.train),
  splits.shadow.train.length,
  D,
  rng.fork("ae"),
  {
    output: "sigmoid",
    epochs: 30,
  },
);
console.log(`autoencoder trained in ${secondsSince(t)} s`);

/** Rows [from, from + count) of each side, concatenated (training shuffles them). */
function mix(parts: [Side, number, number][]): Side & { n: number } {
  const n = parts.reduce((a, p) => a + p[2], 0);
  const deltas = new Float32Array(n * d);
  const indices = new Int32Array(n);
  let o = 0;
  for (const [side, from, count] of parts) {
    deltas.set(side.deltas.subarray(from * d, (from + count) * d), o * d);
    indices.set(side.indices.subarray(from, from + count), o);
    o += count;
  }
  return { n, deltas, indices };
}
const variants: [string, Side & { n: number }][] = [
  ["one shadow model, 9,000 deltas", mix([[shadow, 0, 9000]])],
  [
    "three shadow models, 3,000 each",
    mix([
      [shadow, 0, 3000],
      [extra[0]!, 0, 3000],
      [extra[1]!, 0, 3000],
    ]),
  ],
  [
    "three shadow models, 10,000 + 5,000 + 5,000",
    mix([
      [shadow, 0, 10000],
      [extra[0]!, 0, 5000],
      [extra[1]!, 0, 5000],
    ]),
  ],
];
const truth = ds.gatherUnit(target.indices);
for (const [name, v] of variants) {
  t = performance.now();
  const attack = trainReconstructAttack(v.deltas, ds.gatherUnit(v.indices), v.n, d, ae, rng.fork("train"), {
    epochs: cfg.attackEpochs,
  });
  const value = mse(attack.reconstruct(target.deltas, target.models), truth);
  console.log(
    JSON.stringify({ variant: name, deltas: v.n, targetMse: value, seconds: Number(secondsSince(t)) }),
  );
  attack.dispose();
}
