/**
 * One experiment from split data to result, top to bottom:
 *   1. the original target and shadow models (trained together, or loaded from the model cache),
 *      and shadow originals 2..K when the adversary uses K (`shadowOriginals`);
 *   2. updated models and their deltas, shard by shard, for the shadow side and the target side;
 *   3. the attack: fit on the shadow deltas, evaluate on the target deltas, with its baselines.
 * `generateShards` runs step 1-2 only (for `--shard k/n` job arrays); `runExperiment` all of it.
 */
import {
  currentBackend,
  dpSgdEpsilon,
  dpSgdOf,
  type ModelSpec,
  PAPER_EPOCHS,
  sizeFromShape,
  UpdateEngine,
} from "@updates-leak/core";
import type { ShardStore } from "../store.ts";
import { runDistributionAttack } from "./attack-distribution.ts";
import { runLabelAttack } from "./attack-label.ts";
import { type MsrPartReport, runMsrAttack, scoreMsrPart, trainMsrGans } from "./attack-msr.ts";
import { runReconstructAttack } from "./attack-reconstruct.ts";
import { checkedConfig, type ExperimentConfig, shardCount } from "./config.ts";
import type { ExperimentResult, RunContext } from "./context.ts";
import type { ExperimentData } from "./data.ts";
import {
  type GenerateStats,
  generateSide,
  originalOfShard,
  type ShardSelection,
  sideDefence,
  sideUpdateRule,
} from "./generate.ts";
import {
  extraShadowModels,
  heldOutAccuracy,
  type OriginalModel,
  originalModels,
  specFor,
} from "./originals.ts";
import { type OwnerCost, ownerCost } from "./owner-cost.ts";

export type { MsrPartReport } from "./attack-msr.ts";

/**
 * What generation did (`generateShards`): timings in seconds, model and shard counts per side, and
 * each original model's cache state, key, training time and held-out accuracy.
 */
export interface GenerationReport {
  timings: Record<string, number>;
  counts: Record<string, number>;
  originals: Record<string, { cached: boolean; key: string; trainSeconds: number; heldOutAccuracy: number }>;
  /** A defended full run: what the defence costs the owner (owner-cost.ts). */
  ownerCost?: OwnerCost;
}

type Side = "shadow" | "target";

/** One generation run: its inputs, and the report it fills in. */
interface Generation {
  cfg: ExperimentConfig;
  ctx: RunContext;
  data: ExperimentData;
  spec: ModelSpec;
  probes: Float32Array;
  select: ShardSelection | undefined;
  sel: ShardSelection;
  /** Shadow shards (cfg.shadowOriginals blocks of them). */
  shadowShards: number;
  report: GenerationReport;
}

/** Checks the config against the data set and the run context, before anything is generated. */
function startGeneration(
  cfg: ExperimentConfig,
  ctx: RunContext,
  data: ExperimentData,
  select: ShardSelection | undefined,
): Generation {
  const { dataset: ds, splits } = data;
  if (cfg.targetSetSizes.length > 0) {
    const sizes = `targetSetSizes [${cfg.targetSetSizes.join(", ")}]`;
    if (cfg.attack !== "distribution") {
      throw new Error(`${sizes}: only the distribution attack (A_LDE) scores other set sizes`);
    }
    if (!ctx.extraTargetStore) throw new Error(`${sizes} needs a run context with extraTargetStore(setSize)`);
  }
  const spec = specFor(cfg.dataset);
  if (ds.sampleSize !== sizeFromShape(spec.inputShape)) {
    throw new Error(
      `data set ${ds.name} samples (${ds.sampleShape}) do not fit ${spec.name} (${spec.inputShape})`,
    );
  }
  const probes = ds.gather(splits.probe.subarray(0, cfg.probeCount)).x;
  if (splits.probe.length < cfg.probeCount) {
    throw new Error(`probe count ${cfg.probeCount} is larger than the probing set (${splits.probe.length})`);
  }
  const K = cfg.shadowOriginals;
  const shadowShards = shardCount(cfg.shadowModels, cfg.shardSize);
  if (K > shadowShards) {
    throw new Error(
      `shadowOriginals ${K} is more than the ${shadowShards} shadow shards: each shadow original needs a shard`,
    );
  }
  const report: GenerationReport = { timings: {}, counts: {}, originals: {} };
  const sel = select ?? { part: 0, of: 1 };
  return { cfg, ctx, data, spec, probes, select, sel, shadowShards, report };
}

/**
 * Counts this process's shards on every side as resumed, and returns how many are missing, and how
 * many of those belong to shadow originals 2..K (needed only then).
 */
async function planShards(g: Generation): Promise<{ missing: number; extrasMissing: number }> {
  const { cfg, ctx, sel } = g;
  const stores: [string, ShardStore, number][] = [
    ["shadow", ctx.shadowStore, cfg.shadowModels],
    ["target", ctx.targetStore, cfg.targetModels],
    ...cfg.targetSetSizes.map((n): [string, ShardStore, number] => [
      `target_s${n}`,
      ctx.extraTargetStore!(n),
      cfg.targetModels,
    ]),
  ];
  let missing = 0;
  let extrasMissing = 0;
  for (const [name, store, models] of stores) {
    const done = await store.completed();
    let mine = 0;
    const shards = shardCount(models, cfg.shardSize);
    for (let k = 0; k < shards; k++) {
      if (k % sel.of !== sel.part) continue;
      mine++;
      if (done.has(k)) continue;
      missing++;
      if (name === "shadow" && originalOfShard(k, shards, cfg.shadowOriginals) > 0) extrasMissing++;
    }
    g.report.counts[`${name}_models`] = models;
    g.report.counts[`${name}_shards_generated`] = 0;
    g.report.counts[`${name}_shards_resumed`] = mine;
  }
  return { missing, extrasMissing };
}

/** Records a side's (or an extra target side's) generation in the report and the log. */
function recordSide(g: Generation, name: string, n: number, stats: GenerateStats): void {
  const { timings, counts } = g.report;
  timings[`generate_${name}`] = stats.seconds;
  counts[`${name}_models`] = n;
  counts[`${name}_shards_generated`] = stats.generated;
  counts[`${name}_shards_resumed`] = stats.skipped;
  g.ctx.log(
    `${name.replace("_", "-")}: ${n} updated models (${stats.generated} shards generated, ${stats.skipped} resumed) in ${stats.seconds.toFixed(1)} s`,
  );
}

/** Block b of a side: updated copies of `original`; on the target side also the extra set sizes. */
async function generateBlock(
  g: Generation,
  side: Side,
  b: number,
  of: number,
  original: OriginalModel,
): Promise<GenerateStats> {
  const { cfg, ctx, data, select } = g;
  const { dataset: ds, splits } = data;
  const models = side === "shadow" ? cfg.shadowModels : cfg.targetModels;
  const name = of > 1 ? `${side}${b + 1}` : side;
  const other = side === "shadow" ? splits.target : splits.shadow;
  const acc = heldOutAccuracy(cfg, original.params, other.pool, ds);
  g.report.originals[b === 0 ? side : name] = {
    cached: original.cached,
    key: original.key,
    trainSeconds: original.trainSeconds,
    heldOutAccuracy: acc,
  };
  ctx.log(`${name} original model: accuracy ${acc.toFixed(4)} on 2,000 held-out samples`);
  const engine = new UpdateEngine({
    spec: g.spec,
    original: original.params,
    probes: g.probes,
    update: sideUpdateRule(cfg, sideDefence(cfg, side)),
    dropout: true,
    dp: dpSgdOf(sideDefence(cfg, side)),
  });
  try {
    const store = side === "shadow" ? ctx.shadowStore : ctx.targetStore;
    const stats = await generateSide(cfg, side, models, splits[side], ds, engine, store, ctx, select, {
      label: of > 1 ? `${side} (original ${b + 1} of ${of})` : side,
      block: { index: b, of },
    });
    // A_LDE's update-set-size relaxation: the same target model updated with sets of other sizes,
    // each size its own side (store, random stream), so the main sides do not change.
    if (side === "target") {
      for (const n of cfg.targetSetSizes) {
        const extra = await generateSide(
          { ...cfg, setSize: n },
          side,
          models,
          splits[side],
          ds,
          engine,
          ctx.extraTargetStore!(n),
          ctx,
          select,
          { stream: ["target", "set-size", n], label: `target-s${n}` },
        );
        recordSide(g, `target_s${n}`, models, extra);
      }
    }
    return stats;
  } finally {
    engine.dispose();
  }
}

/** A side's updated models: block b of its shards updates copies of its b-th original. */
async function generateSideBlocks(g: Generation, side: Side, blocks: (OriginalModel | undefined)[]) {
  const { cfg, sel, shadowShards } = g;
  const K = cfg.shadowOriginals;
  const of = side === "shadow" ? K : 1;
  const total: GenerateStats = { generated: 0, skipped: 0, seconds: 0 };
  for (let b = 0; b < of; b++) {
    const original = blocks[b];
    if (!original) {
      // Shadow originals 2..K were not loaded: every shard of their blocks is there.
      for (let k = 0; k < shadowShards; k++) {
        if (k % sel.of === sel.part && originalOfShard(k, shadowShards, K) === b) total.skipped++;
      }
      continue;
    }
    const stats = await generateBlock(g, side, b, of, original);
    total.generated += stats.generated;
    total.skipped += stats.skipped;
    total.seconds += stats.seconds;
  }
  recordSide(g, side, side === "shadow" ? cfg.shadowModels : cfg.targetModels, total);
}

/**
 * Steps 1-2 of the file comment: check, plan which shards are missing, load or train the originals
 * they need, and generate the missing shards side by side.
 */
export async function generateShards(
  cfg: ExperimentConfig,
  ctx: RunContext,
  data: ExperimentData,
  select?: ShardSelection,
): Promise<GenerationReport> {
  cfg = checkedConfig(cfg);
  const g = startGeneration(cfg, ctx, data, select);
  // A resumed run whose shards are all there (e.g. to re-fit the attack with other epochs) needs
  // no original models: skip training or loading them.
  const { missing, extrasMissing } = await planShards(g);
  // A defended full run measures the owner's cost on the target original's updates.
  const defence = sideDefence(cfg, "target");
  const costNeeded = defence.length > 0 && select === undefined;
  if (missing === 0 && !costNeeded) {
    ctx.log("every shard is already there: the original models are not needed");
    return g.report;
  }
  const { dataset: ds, splits } = data;
  const epochs = cfg.trainEpochs > 0 ? cfg.trainEpochs : PAPER_EPOCHS[cfg.dataset];
  const pair = await originalModels(cfg, splits, ds, epochs, ctx);
  g.report.timings.train_original_models = pair.shadow.trainSeconds;
  const extras = extrasMissing > 0 ? await extraShadowModels(cfg, splits.shadow, ds, epochs, ctx) : [];
  if (extras.length > 0) g.report.timings.train_extra_shadow_models = extras[0]!.trainSeconds;
  await generateSideBlocks(g, "shadow", [pair.shadow, ...extras]);
  await generateSideBlocks(g, "target", [pair.target]);
  if (costNeeded) {
    const t = performance.now();
    const cost = await ownerCost(
      cfg,
      g.spec,
      pair.target.params,
      defence,
      splits.target,
      splits.shadow.pool,
      ds,
    );
    g.report.ownerCost = cost;
    g.report.timings.owner_cost = (performance.now() - t) / 1000;
    ctx.log(
      `owner's cost of ${cfg.defence} (first ${cost.models} target updated models, ${cost.heldOut} held-out samples each): accuracy ${cost.accuracy.toFixed(4)} (undefended ${cost.accuracyUndefended.toFixed(4)}), mean L1 distortion ${cost.distortionL1.toFixed(4)}`,
    );
  }
  return g.report;
}

/**
 * A `--shard K/N` part's share of the attack after its shards (`select` 0-based: part K - 1 of N):
 * for msr, once every shard is there and the GANs are trained, the targets i with i % N == K - 1
 * are scored and saved to `ctx.targetResults` (`scoreMsrPart`); the other attacks have nothing to
 * spread (null).
 */
export async function scoreTargetsPart(
  cfg: ExperimentConfig,
  ctx: RunContext,
  data: ExperimentData,
  select: ShardSelection,
): Promise<MsrPartReport | null> {
  cfg = checkedConfig(cfg);
  return cfg.attack === "msr" ? scoreMsrPart(cfg, ctx, data, select) : null;
}

/**
 * The missing shards, then the attack's training only (msr: both GANs, checkpointed), no scoring:
 * the step between a job array that generates the shards and one that scores the targets.
 */
export async function trainAttackOnly(
  cfg: ExperimentConfig,
  ctx: RunContext,
  data: ExperimentData,
): Promise<void> {
  cfg = checkedConfig(cfg);
  if (cfg.attack !== "msr")
    throw new Error(`train only: only msr trains separately from scoring, not ${cfg.attack}`);
  await generateShards(cfg, ctx, data);
  await trainMsrGans(cfg, ctx, data);
}

/**
 * Runs one experiment (see the file comment): the missing shards, then the attack `cfg.attack`.
 * Returns its result with the generation's timings, counts and originals merged in; throws on a
 * config the schema rejects.
 */
export async function runExperiment(
  cfg: ExperimentConfig,
  ctx: RunContext,
  data: ExperimentData,
): Promise<ExperimentResult> {
  cfg = checkedConfig(cfg);
  const t0 = performance.now();
  const gen = await generateShards(cfg, ctx, data);
  const t1 = performance.now();
  const run = {
    label: runLabelAttack,
    reconstruct: runReconstructAttack,
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
  if (cfg.defence !== "none") {
    const dp = dpSgdOf(sideDefence(cfg, "target"));
    result.extra.defence = {
      spec: cfg.defence,
      threat: cfg.threat,
      ownerCost: gen.ownerCost,
      // One DP-SGD update of one sample: a Gaussian mechanism, sampling rate 1, one step.
      ...(dp ? { epsilon: dpSgdEpsilon(1, dp.noiseMultiplier, 1, 1e-5), delta: 1e-5 } : {}),
    };
  }
  return result;
}
