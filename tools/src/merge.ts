/**
 * `leak merge --run-dir DIR`: after a job array of `--shard K/N` processes, fold their part
 * manifests into each side's manifest.json, verify every shard's checksum, fold the per-target
 * results parts saved (msr's scored targets, target-results.ts) into scores/, and report what is
 * present and what is missing. A later plain run on the same --run-dir then only fits the attack
 * and scores the targets no part scored.
 */

import { ExperimentConfig, shardCount } from "@updates-leak/attacks/config";
import { type } from "arktype";
import { configHash, dataFields } from "./config-hash.ts";
import { UsageError } from "./errors.ts";
import { RunFolder, type ShardSide } from "./run-folder.ts";
import { ConfigMismatchError, FileShardStore } from "./shard-store.ts";
import { mergeTargetResults, type TargetResultsReport } from "./target-results.ts";

export interface SideReport {
  expected: number;
  present: number;
  missing: number[];
}

export interface MergeReport {
  dir: string;
  config: ExperimentConfig;
  shadow: SideReport;
  target: SideReport;
  /** distribution --target-set-sizes: the extra target sides, by set size. */
  extraTargets: { setSize: number; report: SideReport }[];
  /** msr: the targets scored by parts, per name (GAN and inference settings). */
  targetResults: TargetResultsReport[];
  /** Every shard present, and every target of each name in `targetResults`. */
  complete: boolean;
}

/** `[0,1,2,5,7,8]` -> `0-2, 5, 7-8`. */
export function formatRanges(xs: number[]): string {
  const out: string[] = [];
  let i = 0;
  while (i < xs.length) {
    let j = i;
    while (j + 1 < xs.length && xs[j + 1] === xs[j]! + 1) j++;
    out.push(i === j ? `${xs[i]}` : `${xs[i]}-${xs[j]}`);
    i = j + 1;
  }
  return out.join(", ");
}

export async function mergeRun(runDir: string, log: (m: string) => void = () => {}): Promise<MergeReport> {
  const { folder, record } = RunFolder.open(runDir);
  const parsed = ExperimentConfig(record.config);
  if (parsed instanceof type.errors) {
    throw new UsageError(`${folder.configFile}: stored config is not valid: ${parsed.summary}`);
  }
  const config = parsed;
  const hash = configHash(config);
  const side = async (
    role: "shadow" | "target",
    models: number,
    dir: ShardSide = role,
  ): Promise<SideReport> => {
    let store: FileShardStore;
    try {
      store = FileShardStore.open({
        dir: folder.shardsDir(dir),
        role,
        configHash: hash,
        config: dataFields(config),
        onWarn: log,
      });
    } catch (err) {
      if (err instanceof ConfigMismatchError) throw new UsageError(err.message);
      throw err;
    }
    const done = await store.completed();
    const expected = shardCount(models, config.shardSize);
    const missing: number[] = [];
    for (let i = 0; i < expected; i++) if (!done.has(i)) missing.push(i);
    return { expected, present: expected - missing.length, missing };
  };
  const shadow = await side("shadow", config.shadowModels);
  const target = await side("target", config.targetModels);
  const extraTargets: MergeReport["extraTargets"] = [];
  for (const n of config.targetSetSizes) {
    extraTargets.push({ setSize: n, report: await side("target", config.targetModels, `target-s${n}`) });
  }
  const targetResults = mergeTargetResults(folder.dir, hash);
  const complete = [shadow, target, ...extraTargets.map((e) => e.report), ...targetResults].every(
    (r) => r.missing.length === 0,
  );
  folder.metric({
    stage: "merge",
    shadow: { present: shadow.present, expected: shadow.expected },
    target: { present: target.present, expected: target.expected },
    ...Object.fromEntries(
      extraTargets.map((e) => [
        `target-s${e.setSize}`,
        { present: e.report.present, expected: e.report.expected },
      ]),
    ),
    ...(targetResults.length > 0
      ? {
          targetResults: Object.fromEntries(
            targetResults.map((t) => [t.name, { present: t.present, expected: t.targets }]),
          ),
        }
      : {}),
    complete,
  });
  folder.close();
  return { dir: folder.dir, config, shadow, target, extraTargets, targetResults, complete };
}

export function formatMergeReport(r: MergeReport): string {
  const line = (name: string, s: SideReport) =>
    `  ${name.padEnd(Math.max(7, name.length))} ${s.present}/${s.expected} shards${s.missing.length ? `, missing ${formatRanges(s.missing)}` : ""}`;
  const shardsMissing = [r.shadow, r.target, ...r.extraTargets.map((e) => e.report)].some(
    (s) => s.missing.length > 0,
  );
  const next = r.complete
    ? `all ${r.targetResults.length > 0 ? "shards and scored targets" : "shards"} present; fit the attack with: npm run leak -- ${r.config.attack} --dataset ${r.config.dataset} --run-dir ${r.dir} (same flags as the parts)`
    : shardsMissing
      ? "shards missing: rerun the failed parts (same --shard K/N) or run without --shard to generate the rest"
      : "targets not scored: rerun the failed parts (same --shard K/N) or run without --shard to score the rest";
  const scored = (t: TargetResultsReport) =>
    `  ${t.name} ${t.present}/${t.targets} targets scored${t.missing.length ? `, missing ${formatRanges(t.missing)}` : ""}`;
  return [
    `run folder ${r.dir}`,
    line("shadow", r.shadow),
    line("target", r.target),
    ...r.extraTargets.map((e) => line(`target-s${e.setSize}`, e.report)),
    ...r.targetResults.map(scored),
    next,
  ].join("\n");
}
