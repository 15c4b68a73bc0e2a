/**
 * A_SSR's open choices made on the adversary's side only: the attack's input scaling, then the
 * number of shadow models (`--shadow-originals K`). Each candidate is trained as the pipeline
 * trains it (same splits, shadow updating sets, autoencoder and random streams) and scored on a
 * validation shadow model: one more shadow original, trained on the same shadow data with a stream
 * no candidate uses, updated with 1,000 single samples of the shadow update pool that no
 * candidate's shadow updated model used. The target is looked at once, for the chosen candidate.
 *
 *   npx bun tools/experiments/ssr-choices.ts --dataset cifar10 [--seed 0] \
 *     [--scalings scale,unit-scale] [--shadow-originals 1,3,5] [--validation-models 1000]
 *
 * Step 1 picks the scaling with K = 1 (the paper's protocol); step 2 picks K with that scaling.
 * Originals go to the model cache, as the CLI's do. Prints one JSON line per candidate, then the
 * choice with its target score. Measured numbers: docs/RESULTS.md, "How each choice was made".
 */
import {
  DELTA_PREPROCESSING,
  type DeltaPreprocessing,
  extraShadowModels,
  generateSide,
  MemoryShardStore,
  mse,
  type OriginalModel,
  originalModels,
  originalOfShard,
  randomSamples,
  readSide,
  shardCount,
  trainAutoencoder,
  trainReconstructAttack,
} from "@updates-leak/attacks";
import type { ExperimentConfig } from "@updates-leak/attacks/config";
import { PAPER_EPOCHS, PAPER_UPDATE, Rng, SPECS, UpdateEngine } from "@updates-leak/core";
import { Command } from "commander";
import { resolveConfig } from "../src/resolve-config.ts";
import { experimentContext } from "./experiment-context.ts";

type SideData = Awaited<ReturnType<typeof readSide>>;

interface Options {
  dataset: string;
  seed: string;
  scalings: string;
  shadowOriginals: string;
  validationModels: string;
  smoke?: boolean;
}
const opts = new Command()
  .requiredOption("--dataset <name>", "mnist, cifar10 or insta-ny")
  .option("--seed <n>", "the run's seed", "0")
  .option("--scalings <list>", "input scalings to compare in step 1", "scale,unit-scale")
  .option("--shadow-originals <list>", "shadow model counts to compare in step 2 (1 among them)", "1,3,5")
  .option("--validation-models <n>", "updated models of the validation shadow model", "1000")
  .option("--smoke", "the pipeline's smoke sizes, to try the script")
  .parse()
  .opts<Options>();
const list = (s: string) => s.split(",").filter((x) => x !== "");
const ks = list(opts.shadowOriginals).map(Number);
if (!ks.includes(1) || ks.some((k) => !Number.isInteger(k) || k < 1)) {
  throw new Error(`--shadow-originals ${opts.shadowOriginals}: expected positive integers, 1 among them`);
}
const scalings = list(opts.scalings) as DeltaPreprocessing[];
for (const s of scalings) {
  if (!DELTA_PREPROCESSING.includes(s)) {
    throw new Error(`--scalings: unknown ${s}; allowed: ${DELTA_PREPROCESSING.join(", ")}`);
  }
}
const validationModels = Number(opts.validationModels);
const cfg = resolveConfig("reconstruct", {
  dataset: opts.dataset,
  seed: Number(opts.seed),
  shadowOriginals: Math.max(...ks),
  smoke: opts.smoke ?? false,
});
const log = (m: string) => console.error(m);
const { ctx, ds, splits, probes } = await experimentContext(cfg, log);
const epochs = cfg.trainEpochs > 0 ? cfg.trainEpochs : PAPER_EPOCHS[cfg.dataset];
const since = (t: number) => Number(((performance.now() - t) / 1000).toFixed(1));

// The originals: the pipeline's pair, its shadow originals 2..maxK, and one more for validation
// (stream "shadow-extra", maxK - 1, which no candidate uses).
let t = performance.now();
const pair = await originalModels(cfg, splits, ds, epochs, ctx);
const more = { ...cfg, shadowOriginals: cfg.shadowOriginals + 1 };
const extras = await extraShadowModels(more, splits.shadow, ds, epochs, ctx);
const shadowOriginals = [pair.shadow, ...extras.slice(0, -1)];
const validationOriginal = extras.at(-1) as OriginalModel;
log(`originals ready in ${since(t)} s`);

/** `models` updated copies of `original`, their sets drawn from `pool` on `stream`, as the pipeline draws them. */
async function updated(
  original: OriginalModel,
  models: number,
  pool: Int32Array,
  stream: string[],
  c: ExperimentConfig = cfg,
): Promise<SideData> {
  const engine = new UpdateEngine({
    spec: SPECS[c.dataset],
    original: original.params,
    probes,
    update: PAPER_UPDATE,
    dropout: true,
  });
  const store = new MemoryShardStore();
  try {
    const split = { train: splits.shadow.train, pool };
    await generateSide(c, "shadow", models, split, ds, engine, store, ctx, undefined, { stream });
  } finally {
    engine.dispose();
  }
  return readSide(store, models, c.shardSize, c.setSize);
}

// Each shadow original updated with the pipeline's shadow sets (stream "shadow": the same sets
// whatever K is); the validation model with samples of the pool that none of those sets holds.
t = performance.now();
const perOriginal: SideData[] = [];
for (const o of shadowOriginals)
  perOriginal.push(await updated(o, cfg.shadowModels, splits.shadow.pool, ["shadow"]));
const used = new Set(perOriginal[0]!.indices);
const unused = splits.shadow.pool.filter((i) => !used.has(i));
const validation = await updated(validationOriginal, validationModels, unused, ["shadow-validation"]);
const validationTruth = ds.gatherUnit(validation.indices);
log(`updated models in ${since(t)} s; validation sets drawn from ${unused.length} unused pool samples`);

/** The shadow rows with K originals: shard k from original originalOfShard(k, shards, K). */
function rowsFor(K: number): Float32Array {
  const d = perOriginal[0]!.deltaSize;
  const out = new Float32Array(cfg.shadowModels * d);
  const shards = shardCount(cfg.shadowModels, cfg.shardSize);
  for (let k = 0; k < shards; k++) {
    const from = k * cfg.shardSize * d;
    const to = Math.min(cfg.shadowModels, (k + 1) * cfg.shardSize) * d;
    out.set(perOriginal[originalOfShard(k, shards, K)]!.deltas.subarray(from, to), from);
  }
  return out;
}

// The autoencoder and the attack's streams, as runReconstructAttack seeds them.
const rng = new Rng(cfg.seed).fork("attack", "reconstruct");
t = performance.now();
const aeEpochs = cfg.smoke ? 5 : 30;
const ae = trainAutoencoder(
  ds.gatherUnit(splits.shadow.train),
  splits.shadow.train.length,
  ds.sampleSize,
  rng.fork("ae"),
  {
    output: ds.reconSpace === "unit" ? "sigmoid" : "linear",
    epochs: aeEpochs,
  },
);
log(`autoencoder in ${since(t)} s`);
const shadowSamples = ds.gatherUnit(perOriginal[0]!.indices);
const pool = ds.gatherUnit(splits.shadow.pool);
const random = randomSamples(
  new Rng(cfg.seed).fork("validation-random"),
  pool,
  splits.shadow.pool.length,
  ds.sampleSize,
  validationModels,
);
console.log(
  JSON.stringify({
    dataset: ds.name,
    seed: cfg.seed,
    validation: { models: validationModels, random: mse(random, validationTruth) },
  }),
);

type Attack = ReturnType<typeof trainReconstructAttack>;
interface Candidate {
  K: number;
  scaling: DeltaPreprocessing;
  validationMse: number;
  attack: Attack;
}
let best: Candidate | undefined;
const scored: Candidate[] = [];
/** Trains one candidate, scores it on the validation model, keeps the best attack alive. */
function candidate(K: number, scaling: DeltaPreprocessing): Candidate {
  const done = scored.find((c) => c.K === K && c.scaling === scaling);
  if (done) return done;
  const t0 = performance.now();
  const attack = trainReconstructAttack(
    rowsFor(K),
    shadowSamples,
    cfg.shadowModels,
    perOriginal[0]!.deltaSize,
    ae,
    rng.fork("train"),
    {
      epochs: cfg.attackEpochs,
      preprocessing: scaling,
    },
  );
  const validationMse = mse(attack.reconstruct(validation.deltas, validationModels), validationTruth);
  const c = { K, scaling, validationMse, attack };
  console.log(JSON.stringify({ K, scaling, validationMse, seconds: since(t0) }));
  if (best === undefined || validationMse < best.validationMse) {
    best?.attack.dispose();
    best = c;
  } else {
    attack.dispose();
  }
  scored.push(c);
  return c;
}
const argmin = (cs: Candidate[]) => cs.reduce((a, b) => (b.validationMse < a.validationMse ? b : a));

// Step 1: the scaling, with one shadow model. Step 2: K, with that scaling.
const scaling = argmin(scalings.map((s) => candidate(1, s))).scaling;
const chosen = argmin(ks.map((K) => candidate(K, scaling)));

// The target, looked at once: the pipeline's target side, scored with the chosen attack.
const target = await updated(pair.target, cfg.targetModels, splits.target.pool, ["target"]);
const targetMse = mse(
  best!.attack.reconstruct(target.deltas, cfg.targetModels),
  ds.gatherUnit(target.indices),
);
console.log(
  JSON.stringify({
    chosen: { K: chosen.K, scaling: chosen.scaling, validationMse: chosen.validationMse },
    targetMse,
  }),
);
best!.attack.dispose();
ae.dispose();
