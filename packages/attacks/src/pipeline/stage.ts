/**
 * What the four attack stages (attack-*.ts) share: the prologue that reads both sides' shards and
 * seeds the stage's stream, the per-epoch progress and metric lines, and the result they return.
 */
import { Rng } from "@updates-leak/core";
import type { EpochReport } from "../nn/train.ts";
import type { AttackName, ExperimentConfig } from "./config.ts";
import type { BarChart, ExperimentResult, ImageGrid, RunContext } from "./context.ts";
import type { DatasetLike, ExperimentData, SplitsLike } from "./data.ts";
import { readSide } from "./generate.ts";

export type SideData = Awaited<ReturnType<typeof readSide>>;

export interface StageInputs {
  ds: DatasetLike;
  splits: SplitsLike;
  /** Every shadow and target model's delta and updating set (`setSize` samples each). */
  shadow: SideData;
  target: SideData;
  /** `Rng(seed).fork("attack", attack)`: the stage's own stream. */
  rng: Rng;
}

/** The stage prologue: both sides' shards, read whole, and the stage's random stream. */
export async function stageInputs(
  cfg: ExperimentConfig,
  ctx: RunContext,
  data: ExperimentData,
  attack: AttackName,
  setSize: number,
): Promise<StageInputs> {
  const shadow = await readSide(ctx.shadowStore, cfg.shadowModels, cfg.shardSize, setSize);
  const target = await readSide(ctx.targetStore, cfg.targetModels, cfg.shardSize, setSize);
  const rng = new Rng(cfg.seed).fork("attack", attack);
  return { ds: data.dataset, splits: data.splits, shadow, target, rng };
}

/** Labels of the shadow pool, the adversary's own labelled data. */
export function shadowPoolLabels(ds: DatasetLike, splits: SplitsLike): number[] {
  return Array.from(splits.shadow.pool, (i) => ds.labels[i] as number);
}

/** An `onEpoch` that reports progress under `task` and writes a metric line under `stage`. */
export function epochReporter(
  ctx: RunContext,
  task: string,
  stage: string,
  epochs: number,
): (r: EpochReport) => void {
  return (r) => {
    ctx.progress(task, r.epoch, epochs);
    ctx.metric({ stage, epoch: r.epoch, loss: r.loss });
  };
}

/** Seconds since `t0` (a performance.now() reading). */
export function secondsSince(t0: number): number {
  return (performance.now() - t0) / 1000;
}

export interface StageResult extends Omit<ExperimentResult, "counts" | "timingsSeconds" | "figures"> {
  attack: AttackName;
  /** Target models scored (attack_test); attack_train is always the shadow models. */
  tested: number;
  /** Counts beyond attack_train and attack_test. */
  counts?: Record<string, number>;
  timings: Record<string, number>;
  /** The first bar chart: the attack against its baselines. */
  chart: BarChart;
  /** Further bar charts, after the first. */
  moreCharts?: BarChart[];
  grids?: ImageGrid[];
}

/** A stage's ExperimentResult. */
export function stageResult(cfg: ExperimentConfig, r: StageResult): ExperimentResult {
  const { tested, counts, timings, chart, moreCharts, grids, ...head } = r;
  return {
    ...head,
    counts: { attack_train: cfg.shadowModels, attack_test: tested, ...counts },
    timingsSeconds: timings,
    figures: { bars: [chart, ...(moreCharts ?? [])], grids: grids ?? [] },
  };
}
