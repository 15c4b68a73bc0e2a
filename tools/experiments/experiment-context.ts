/**
 * What an experiment script outside the CLI needs to run the pipeline's pieces as the CLI runs them:
 * wasm started, a run context with in-memory shard stores and the CLI's model cache (so originals
 * are trained once and shared with `leak` runs), the data set and its splits, and the probes.
 */
import { MemoryShardStore } from "@updates-leak/attacks";
import type { ExperimentConfig } from "@updates-leak/attacks/config";
import { selectBackend } from "@updates-leak/core";
import { FileModelCache } from "../src/model-cache.ts";
import type { CliRunContext } from "../src/run-attack.ts";
import { loadExperimentData, loadExperimentDataset } from "../src/run-experiment.ts";

/** Starts wasm, loads `cfg`'s data and splits; `log` gets progress and warnings. */
export async function experimentContext(cfg: ExperimentConfig, log: (m: string) => void) {
  await selectBackend({ backend: "wasm", quiet: true });
  const ctx: CliRunContext = {
    shadowStore: new MemoryShardStore(),
    targetStore: new MemoryShardStore(),
    metric: () => {},
    progress: () => {},
    log,
    modelCache: new FileModelCache({ onWarn: log }),
  };
  ctx.preparedData = await loadExperimentDataset(cfg, {}, log);
  const { dataset: ds, splits } = await loadExperimentData(cfg, ctx);
  const probes = ds.gather(splits.probe.subarray(0, cfg.probeCount)).x;
  return { ctx, ds, splits, probes };
}
