/**
 * The owner's cost of defences (docs/DEFENCES.md's "owner's accuracy" and "mean L1 distortion"
 * columns) without running the attacks: for each spec, `ownerCost` on the first 100 target updated
 * models of the run `leak ATTACK --dataset D --seed S` would make, the originals from the CLI's
 * model cache (trained and cached when missing). One JSON line per defence on stdout.
 *
 *   npx bun tools/experiments/owner-cost.ts --dataset mnist [--attack label] [--seed 0] dpsgd:1:0 dpsgd:1:1 ...
 */
import { originalModels, ownerCost } from "@updates-leak/attacks";
import { PAPER_EPOCHS, SPECS } from "@updates-leak/core";
import { parseDefence } from "@updates-leak/core/defence";
import { Command } from "commander";
import { resolveConfig } from "../src/resolve-config.ts";
import { experimentContext } from "./experiment-context.ts";

const program = new Command()
  .requiredOption("--dataset <name>", "mnist, cifar10 or insta-ny")
  .option("--attack <name>", "the attack whose target updates to measure (its set size)", "label")
  .option("--seed <n>", "the run's seed", "0")
  .argument("<defences...>", "defence specs, as --defence takes them")
  .parse();
const opts = program.opts<{ dataset: string; attack: string; seed: string }>();
// resolveConfig checks each spec against the attack as `leak` does, before anything runs.
const cfgs = program.args.map((d) =>
  resolveConfig(opts.attack as "label", { dataset: opts.dataset, seed: Number(opts.seed), defence: d }),
);
const log = (m: string) => console.error(m);
const { ctx, ds, splits } = await experimentContext(cfgs[0]!, log);
const epochs = cfgs[0]!.trainEpochs > 0 ? cfgs[0]!.trainEpochs : PAPER_EPOCHS[cfgs[0]!.dataset];
const { target } = await originalModels(cfgs[0]!, splits, ds, epochs, ctx);
for (const cfg of cfgs) {
  const t = performance.now();
  const cost = await ownerCost(
    cfg,
    SPECS[cfg.dataset],
    target.params,
    parseDefence(cfg.defence),
    splits.target,
    splits.shadow.pool,
    ds,
  );
  const seconds = Number(((performance.now() - t) / 1000).toFixed(1));
  console.log(
    JSON.stringify({ dataset: cfg.dataset, seed: cfg.seed, defence: cfg.defence, ...cost, seconds }),
  );
}
