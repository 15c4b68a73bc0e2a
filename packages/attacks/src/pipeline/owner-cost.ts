/**
 * What a defence costs the model owner, measured on the first target updated models (the same
 * updates as the target side's models 0..n-1): their accuracy on held-out samples as the defended
 * owner answers (its update, e.g. DP-SGD, replay or several updates, and its API's output steps; argmax of the answer, ties to
 * the lower class), the accuracy of the same updates made and answered without defence, and the
 * distortion: the mean L1 distance between the defended answer and the undefended one. The held-out
 * samples are the shadow side's pool, which the target models never train on (the original models'
 * held-out accuracy uses them too).
 */
import {
  applyDefence,
  type Defence,
  type DpSgdConfig,
  dpSgdOf,
  isRandomDefence,
  type ModelSpec,
  outputSteps,
  type Params,
  parseUpdateRule,
  Rng,
  UpdateEngine,
  type UpdateRule,
} from "@updates-leak/core";
import type { ExperimentConfig } from "./config.ts";
import type { DatasetLike, SideSplit } from "./data.ts";
import { drawModels, sideMix, sideUpdateRule, type UpdateMix, updateNoiseRngs } from "./generate.ts";

/**
 * What a defence costs the model owner (see the file comment): accuracy with and without it, and
 * the L1 distortion of its answers.
 */
export interface OwnerCost {
  /** Target updated models measured (the first ones). */
  models: number;
  /** Held-out samples each model answers. */
  heldOut: number;
  /** Accuracy of the defended answers. */
  accuracy: number;
  /** Accuracy of the same models' undefended answers. */
  accuracyUndefended: number;
  /** Mean over queries of sum |defended - true| over classes. */
  distortionL1: number;
}

/** Index of a row's largest value, ties to the lower index. */
export function argmax(p: Float32Array, from: number, n: number): number {
  let best = 0;
  for (let c = 1; c < n; c++) if (p[from + c]! > p[from + best]!) best = c;
  return best;
}

/**
 * Accuracy and L1 distortion of a defence: `answers` are the output steps applied to `defended`,
 * the defended update's posteriors, and compared with `plain`, the undefended update's (the same
 * array when the update is not defended); both [models, heldOut*classes], labels [heldOut].
 */
export function scoreDefence(
  answers: Defence,
  defended: Float32Array,
  plain: Float32Array,
  labels: ArrayLike<number>,
  classes: number,
  rngs: readonly Rng[] | null,
): Omit<OwnerCost, "models" | "heldOut"> {
  const perModel = labels.length * classes;
  const models = plain.length / perModel;
  let right = 0;
  let rightUndefended = 0;
  let l1 = 0;
  for (let j = 0; j < models; j++) {
    const truth = plain.subarray(j * perModel, (j + 1) * perModel);
    const own = defended.subarray(j * perModel, (j + 1) * perModel);
    const shown = applyDefence(answers, own.slice(), classes, rngs ? rngs[j]! : null);
    for (let q = 0; q < labels.length; q++) {
      const at = q * classes;
      if (argmax(shown, at, classes) === labels[q]) right++;
      if (argmax(truth, at, classes) === labels[q]) rightUndefended++;
      for (let c = at; c < at + classes; c++) l1 += Math.abs(shown[c]! - truth[c]!);
    }
  }
  const queries = models * labels.length;
  return {
    accuracy: right / queries,
    accuracyUndefended: rightUndefended / queries,
    distortionL1: l1 / queries,
  };
}

/**
 * The owner's cost of `defence` on the first `models` target updated models of `cfg`, each
 * answering `heldOutCount` samples of `heldOut`.
 */
export async function ownerCost(
  cfg: ExperimentConfig,
  spec: ModelSpec,
  original: Params,
  defence: Defence,
  target: SideSplit,
  heldOut: Int32Array,
  ds: DatasetLike,
  sizes: { models: number; heldOut: number } = { models: 100, heldOut: 2000 },
): Promise<OwnerCost> {
  const models = Math.min(sizes.models, cfg.targetModels);
  const held = ds.gather(heldOut.subarray(0, Math.min(sizes.heldOut, heldOut.length)));
  const root = new Rng(cfg.seed).fork("target");
  // Each answer draws the models afresh: the same new sets and streams (dropout masks are drawn
  // from a stream as it is read, so two updates must not share one drawing).
  const answer = async (dp: DpSgdConfig | null, mix: UpdateMix | null, update: UpdateRule) => {
    const drawn = drawModels(root, target.pool, ds, cfg.setSize, 0, models, mix);
    const engine = new UpdateEngine({
      spec,
      original,
      probes: held.x,
      update,
      dropout: true,
      dp,
    });
    try {
      const chunk = cfg.chunkSize > 0 ? cfg.chunkSize : engine.chunkSize(drawn.sets.setSize);
      const posteriors = await engine.posteriors(
        drawn.sets,
        drawn.maskRngs,
        chunk,
        dp ? updateNoiseRngs(drawn.defenceRngs) : null,
      );
      return { posteriors, defenceRngs: drawn.defenceRngs };
    } finally {
      engine.dispose();
    }
  };
  const dp = dpSgdOf(defence);
  const mix = sideMix(defence, target);
  const plain = await answer(null, null, parseUpdateRule(cfg.update));
  const defended = dp || mix ? await answer(dp, mix, sideUpdateRule(cfg, defence)) : plain;
  const answers = outputSteps(defence);
  // Forks are pure functions of a stream's seed: the plain drawing's streams serve the output noise.
  const rngs = isRandomDefence(answers) ? plain.defenceRngs.map((r) => r.fork("owner-cost")) : null;
  return {
    models,
    heldOut: held.count,
    ...scoreDefence(answers, defended.posteriors, plain.posteriors, held.labels, spec.numClasses, rngs),
  };
}
