/**
 * Configs for the in-process pipeline tests: every field at the CLI's paper default for the attack
 * and data set (`resolveConfig`), then the test's own sizes. A field added to the table later needs
 * no change in the tests.
 */
import type { AttackName, DatasetName, ExperimentConfig } from "@updates-leak/attacks";
import { resolveConfig } from "../tools/src/resolve-config.ts";

export function testConfig(
  attack: AttackName,
  dataset: DatasetName,
  over: Partial<ExperimentConfig> = {},
): ExperimentConfig {
  return { ...resolveConfig(attack, { dataset }), ...over };
}
