/**
 * Configs and contexts for the in-process pipeline tests. A config has every field at the CLI's
 * paper default for the attack and data set (`resolveConfig`), then the test's own sizes, so a
 * field added to the table later needs no change in the tests.
 */
import {
  type AttackName,
  type DatasetName,
  type ExperimentConfig,
  MemoryShardStore,
  type RunContext,
} from "@updates-leak/attacks";
import { resolveConfig } from "../tools/src/resolve-config.ts";

/** A run context with a memory store per side that reports nothing. */
export function quietContext(): RunContext {
  return {
    shadowStore: new MemoryShardStore(),
    targetStore: new MemoryShardStore(),
    metric: () => {},
    progress: () => {},
    log: () => {},
  };
}

export function testConfig(
  attack: AttackName,
  dataset: DatasetName,
  over: Partial<ExperimentConfig> = {},
): ExperimentConfig {
  return { ...resolveConfig(attack, { dataset }), ...over };
}
