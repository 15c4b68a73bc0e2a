/**
 * One experiment from split data to result, top to bottom:
 *   1. the original target and shadow models (trained, or loaded from the model cache);
 *   2. updated models and their deltas, shard by shard, for the shadow side and the target side;
 *   3. the attack: fit on the shadow deltas, evaluate on the target deltas, with its baselines.
 * `generateShards` runs step 1-2 only (for `--shard k/n` job arrays); `runExperiment` all of it.
 */
import { currentBackend, PAPER_EPOCHS, PAPER_SGD, UpdateEngine } from "@updates-leak/core";
import { runDistributionAttack } from "./attack-distribution.ts";
import { runLabelAttack } from "./attack-label.ts";
import { runMsrAttack } from "./attack-msr.ts";
import { runReconstructionAttack } from "./attack-reconstruct.ts";
import type { ExperimentConfig } from "./config.ts";
import type { ExperimentResult, RunContext } from "./context.ts";
import type { ExperimentData } from "./data.ts";
import { type GenerateStats, generateSide, type ShardSelection } from "./generate.ts";
import { heldOutAccuracy, originalModel, specFor } from "./originals.ts";

export interface GenerationReport {
  timings: Record<string, number>;
  counts: Record<string, number>;
  originals: Record<string, { cached: boolean; key: string; trainSeconds: number; heldOutAccuracy: number }>;
}

export async function generateShards(
  cfg: ExperimentConfig,
  ctx: RunContext,
  data: ExperimentData,
  select?: ShardSelection,
): Promise<GenerationReport> {
  const { dataset: ds, splits } = data;
  const spec = specFor(cfg.dataset);
  if (ds.sampleSize !== spec.inputShape.reduce((a, b) => a * b, 1)) {
    throw new Error(
      `data set ${ds.name} samples (${ds.sampleShape}) do not fit ${spec.name} (${spec.inputShape})`,
    );
  }
  const epochs = cfg.trainEpochs > 0 ? cfg.trainEpochs : PAPER_EPOCHS[cfg.dataset];
  const timings: Record<string, number> = {};
  const counts: Record<string, number> = {};
  const originals: GenerationReport["originals"] = {};
  const probes = ds.gather(splits.probe.subarray(0, cfg.probeCount)).x;
  if (splits.probe.length < cfg.probeCount) {
    throw new Error(`probe count ${cfg.probeCount} is larger than the probing set (${splits.probe.length})`);
  }
  for (const side of ["shadow", "target"] as const) {
    const split = splits[side];
    const models = side === "shadow" ? cfg.shadowModels : cfg.targetModels;
    const original = await originalModel(cfg, side, split, ds, epochs, ctx);
    const other = side === "shadow" ? splits.target : splits.shadow;
    const acc = heldOutAccuracy(cfg, original.params, other.pool, ds);
    originals[side] = {
      cached: original.cached,
      key: original.key,
      trainSeconds: original.trainSeconds,
      heldOutAccuracy: acc,
    };
    ctx.log(`${side} original model: accuracy ${acc.toFixed(4)} on 2,000 held-out samples`);
    timings[`train_${side}_model`] = original.trainSeconds;
    const engine = new UpdateEngine({
      spec,
      original: original.params,
      probes,
      sgd: PAPER_SGD,
      dropout: true,
    });
    let stats: GenerateStats;
    try {
      const store = side === "shadow" ? ctx.shadowStore : ctx.targetStore;
      stats = await generateSide(cfg, side, models, split, ds, engine, store, ctx, select);
    } finally {
      engine.dispose();
    }
    timings[`generate_${side}`] = stats.seconds;
    counts[`${side}_models`] = models;
    counts[`${side}_shards_generated`] = stats.generated;
    counts[`${side}_shards_resumed`] = stats.skipped;
    ctx.log(
      `${side}: ${models} updated models (${stats.generated} shards generated, ${stats.skipped} resumed) in ${stats.seconds.toFixed(1)} s`,
    );
  }
  return { timings, counts, originals };
}

export async function runExperiment(
  cfg: ExperimentConfig,
  ctx: RunContext,
  data: ExperimentData,
): Promise<ExperimentResult> {
  const t0 = performance.now();
  const gen = await generateShards(cfg, ctx, data);
  const t1 = performance.now();
  const run = {
    label: runLabelAttack,
    reconstruct: runReconstructionAttack,
    distribution: runDistributionAttack,
    msr: runMsrAttack,
  }[cfg.attack];
  const result = await run(cfg, ctx, data);
  result.timingsSeconds = {
    ...gen.timings,
    ...result.timingsSeconds,
    generate_total: (t1 - t0) / 1000,
    attack_total: (performance.now() - t1) / 1000,
    total: (performance.now() - t0) / 1000,
  };
  result.counts = { ...gen.counts, ...result.counts };
  result.extra = { ...result.extra, originals: gen.originals, backend: currentBackend() };
  return result;
}
