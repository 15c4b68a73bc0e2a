/**
 * Reads one side of an existing run folder (its verified shards) for the experiments in this
 * folder: deltas [models, deltaSize] and the updating samples' dataset indices and labels.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { readSide } from "@updates-leak/attacks";
import type { ExperimentConfig } from "@updates-leak/attacks/config";
import { configHash, dataFields } from "../src/config-hash.ts";
import { FileShardStore } from "../src/shard-store.ts";

export interface RunSide {
  models: number;
  deltaSize: number;
  deltas: Float32Array;
  indices: Int32Array;
  labels: Int32Array;
}

/** The resolved config of a run folder (its config.json). */
export function runConfig(runDir: string): ExperimentConfig {
  const file = path.join(runDir, "config.json");
  const json = JSON.parse(readFileSync(file, "utf8")) as { config?: ExperimentConfig };
  if (!json.config) throw new Error(`${file}: no "config" field; is this a run folder?`);
  return json.config;
}

/** All shards of `side` ("shadow" or "target") of the run in `runDir`. */
export async function readRunSide(runDir: string, side: "shadow" | "target"): Promise<RunSide> {
  const cfg = runConfig(runDir);
  const store = FileShardStore.open({
    dir: path.join(runDir, "shards", side),
    role: side,
    configHash: configHash(cfg),
    config: dataFields(cfg),
  });
  const models = side === "shadow" ? cfg.shadowModels : cfg.targetModels;
  const s = await readSide(store, models, cfg.shardSize, cfg.setSize);
  return { models, deltaSize: s.deltaSize, deltas: s.deltas, indices: s.indices, labels: s.labels };
}
