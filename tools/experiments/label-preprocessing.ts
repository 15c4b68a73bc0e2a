/**
 * Which delta preprocessing for A_LI, judged on adversary-side data only: the attack is trained on
 * seed s's shadow deltas and scored on the shadow deltas of seed s+1 (mod 3), another shadow model
 * with another probe set; the target accuracy of seed s is printed beside it, for the record.
 *
 *   npx bun tools/experiments/label-preprocessing.ts mnist scale,unit-scale constant
 *   npx bun tools/experiments/label-preprocessing.ts cifar10 scale,unit-scale cosine
 *   npx bun tools/experiments/label-preprocessing.ts mnist unit-scale constant 20,50   (epochs)
 *
 * Needs runs/label-<dataset>-v2-s{0,1,2} (`npm run leak -- label --dataset D --seed S --run-dir ...`).
 * About 40 s per preprocessing on 2 cores. Measured (mean of the three seeds, cross-shadow /
 * target): MNIST (constant) scale 0.421 / 0.774, unit-scale 0.529 / 0.886; CIFAR-10 (cosine) scale
 * 0.901 / 0.947, unit-scale 0.983 / 0.981. Epochs (MNIST, unit-scale, constant): 10, 20, 50
 * give 0.525, 0.523, 0.530 cross-shadow. The pipeline seeds its attack otherwise, so its target
 * accuracies differ a little (README).
 */
import { accuracy, type DeltaPreprocessing, type LrSchedule, trainLabelAttack } from "@updates-leak/attacks";
import { Rng, selectBackend } from "@updates-leak/core";
import { readRunSide } from "./run-side.ts";

const [dataset = "mnist", kinds = "scale,unit-scale", schedule = "constant", epochList = "20"] =
  process.argv.slice(2);
await selectBackend({ backend: "wasm", quiet: true });
const runs = await Promise.all(
  [0, 1, 2].map(async (s) => {
    const dir = `runs/label-${dataset}-v2-s${s}`;
    return { shadow: await readRunSide(dir, "shadow"), target: await readRunSide(dir, "target") };
  }),
);
const settings = (kinds.split(",") as DeltaPreprocessing[]).flatMap((kind) =>
  epochList.split(",").map((e) => ({ kind, epochs: Number(e) })),
);
for (const { kind, epochs } of settings) {
  const rows = [0, 1, 2].map((s) => {
    const { shadow, target } = runs[s]!;
    const other = runs[(s + 1) % 3]!.shadow;
    const attack = trainLabelAttack(
      shadow.deltas,
      shadow.labels,
      shadow.models,
      shadow.deltaSize,
      10,
      new Rng(s).fork("attack"),
      { preprocessing: kind, lrSchedule: schedule as LrSchedule, epochs },
    );
    const acc = (side: typeof shadow) => accuracy(attack.predict(side.deltas, side.models), side.labels);
    const row = { seed: s, crossShadow: acc(other), target: acc(target) };
    attack.dispose();
    return row;
  });
  const mean = (k: "crossShadow" | "target") => rows.reduce((a, r) => a + r[k], 0) / rows.length;
  console.log(
    JSON.stringify({
      dataset,
      kind,
      schedule,
      epochs,
      rows,
      crossShadow: mean("crossShadow"),
      target: mean("target"),
    }),
  );
}
