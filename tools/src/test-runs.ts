/**
 * For the report tests: a finished run folder as `leak report` reads it, config.json's config and
 * a result.json of an A_LI run on MNIST (accuracy, a random baseline of 0.1) with the given fields.
 */
import fs from "node:fs";
import path from "node:path";

export function writeRunFolder(
  dir: string,
  config: Record<string, unknown>,
  result: Record<string, unknown>,
): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify({ config }));
  const full = {
    attack: "label",
    dataset: "mnist",
    metric: "accuracy",
    baselines: { random: 0.1 },
    ...result,
  };
  fs.writeFileSync(path.join(dir, "result.json"), JSON.stringify(full));
  return dir;
}
