/**
 * The mean-sample baseline of A_SSR run folders made before it was recorded (`ec9ecc1`): the MSE
 * of the shadow pool's mean sample against each run's targets (`predictions/true_index.npy`), with
 * the run's own config (data set, seed, splits). One JSON line per folder; runs since then carry
 * the same number as `baselines.mean_sample` in result.json.
 *
 *   npx bun tools/experiments/mean-sample.ts RUN_DIR...
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { meanSamples, mse } from "@updates-leak/attacks";
import { checkedConfig, type ExperimentConfig } from "@updates-leak/attacks/config";
import { experimentContext } from "./experiment-context.ts";

/** A 1-d little-endian int32 .npy file (as the pipeline writes `true_index.npy`); throws on any other. */
function int32Npy(file: string): Int32Array {
  const b = readFileSync(file);
  const headerLength = b.readUInt16LE(8);
  const header = b.subarray(10, 10 + headerLength).toString("latin1");
  const shape = /'descr': '<i4', 'fortran_order': False, 'shape': \((\d+),\)/.exec(header);
  if (b.toString("latin1", 1, 6) !== "NUMPY" || !shape) throw new Error(`${file}: not a 1-d int32 .npy file`);
  return Int32Array.from({ length: Number(shape[1]) }, (_, i) => b.readInt32LE(10 + headerLength + 4 * i));
}

const dirs = process.argv.slice(2);
if (dirs.length === 0) {
  console.error("usage: mean-sample.ts RUN_DIR...");
  process.exit(2);
}
for (const dir of dirs) {
  const cfg = checkedConfig(
    JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8")).config as ExperimentConfig,
  );
  if (cfg.attack !== "reconstruct") throw new Error(`${dir}: a ${cfg.attack} run, not reconstruct`);
  const { ds, splits } = await experimentContext(cfg, (m) => console.error(m));
  const idx = int32Npy(path.join(dir, "predictions", "true_index.npy"));
  const truth = ds.gatherUnit(idx);
  const mean = meanSamples(
    ds.gatherUnit(splits.shadow.pool),
    splits.shadow.pool.length,
    ds.sampleSize,
    idx.length,
  );
  console.log(
    JSON.stringify({
      dir,
      dataset: cfg.dataset,
      seed: cfg.seed,
      targets: idx.length,
      meanSample: mse(mean, truth),
    }),
  );
}
