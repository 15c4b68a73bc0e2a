/**
 * What A_LDE could learn, bounded by an oracle (issue #19): the same label-distribution decoder
 * trained on three views of the same 100-sample updates of the same original model:
 *   - "delta": the posterior difference on the probes, the adversary's view (A_LDE's input);
 *   - "oracle-bias": the true change of the output layer's bias (C numbers);
 *   - "oracle-last": the true change of the whole output layer (weights and bias).
 * Two more adversary views, computed from the posteriors before and after as the API returns them:
 *   - "log-ratio": per probe, log p_old - log p_new centred over the classes (the logit change);
 *   - "log-ratio-mean": that averaged over the probes (a logit shift shared by every probe, as the
 *     output bias's change is).
 * If the oracles reach a KL far below the prior while delta does not, the histogram is in the update
 * but not in what the probes' posteriors show of it. The script also measures how saturated the
 * probes' posteriors are (the softmax's slope there bounds how much of a logit change shows).
 *
 * Protocol: shadow sets drawn from the shadow pool update the shadow original; 20% of them are held
 * out to choose each view's input preprocessing (adversary side only); the chosen decoder is then
 * scored once on target sets updating the target original. Updates: the paper's SGD rule with
 * dropout, one model at a time (core's reference path, which test/engine.test.ts ties to the engine).
 *
 *   npx bun tools/experiments/lde-oracle.ts --dataset mnist [--seed 0] [--shadow-sets 3000] [--target-sets 1000]
 *
 * Prints one JSON line per view and a summary line; docs/RESULTS.md has the measured numbers.
 */
import {
  classFrequencies,
  DELTA_PREPROCESSING,
  type DeltaPreprocessing,
  extraShadowModels,
  klPerRow,
  meanStd,
  originalModels,
  randomHistograms,
  repeatHistogram,
  trainDistributionAttack,
} from "@updates-leak/attacks";
import {
  allParamShapes,
  initParams,
  PAPER_EPOCHS,
  PAPER_UPDATE,
  posteriorDelta,
  posteriors,
  Rng,
  referenceUpdate,
  SPECS,
  sizeFromShape,
  tf,
  toTensors,
} from "@updates-leak/core";
import { Command } from "commander";
import { resolveConfig } from "../src/resolve-config.ts";
import { experimentContext } from "./experiment-context.ts";

interface Options {
  dataset: string;
  seed: string;
  shadowSets: string;
  targetSets: string;
  epochs: string;
  original: string;
  validationSets: string;
  smoke?: boolean;
}
const opts = new Command()
  .requiredOption("--dataset <name>", "mnist or cifar10")
  .option("--seed <n>", "the run's seed", "0")
  .option("--shadow-sets <n>", "shadow updates (20% of them held out for choices)", "3000")
  .option("--target-sets <n>", "target updates, scored once", "1000")
  .option("--epochs <n>", "decoder epochs", "50")
  .option(
    "--original <kind>",
    "trained (the pipeline's originals) or untrained (freshly initialised: the positive control)",
    "trained",
  )
  .option(
    "--validation-sets <n>",
    "also update a validation shadow model (one more shadow original) with n sets, and choose the adversary's view on it (0: no)",
    "0",
  )
  .option("--smoke", "the pipeline's smoke sizes, to try the script")
  .parse()
  .opts<Options>();
const atLeast = (flag: string, v: string, min: number) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} ${v}: expected an integer >= ${min}`);
  return n;
};
const nShadow = atLeast("--shadow-sets", opts.shadowSets, 10);
const nTarget = atLeast("--target-sets", opts.targetSets, 10);
const decoderEpochs = atLeast("--epochs", opts.epochs, 1);
const nValidation = opts.validationSets === "0" ? 0 : atLeast("--validation-sets", opts.validationSets, 10);
if (opts.original !== "trained" && opts.original !== "untrained") {
  throw new Error(`--original ${opts.original}: expected trained or untrained`);
}

const cfg = resolveConfig("distribution", {
  dataset: opts.dataset,
  seed: Number(opts.seed),
  smoke: opts.smoke ?? false,
});
const log = (m: string) => console.error(m);
const { ctx, ds, splits, probes: probeX } = await experimentContext(cfg, log);
const spec = SPECS[cfg.dataset];
const C = spec.numClasses;
const epochs = cfg.trainEpochs > 0 ? cfg.trainEpochs : PAPER_EPOCHS[cfg.dataset];
const since = (t: number) => Number(((performance.now() - t) / 1000).toFixed(1));

let t = performance.now();
// The positive control: models at their initialisation, whose posteriors are far from one-hot, so
// that a sample's gradient (softmax minus one-hot) carries its label whatever the sample is.
const originals =
  opts.original === "trained"
    ? await originalModels(cfg, splits, ds, epochs, ctx)
    : {
        shadow: { params: initParams(spec, new Rng(cfg.seed).fork("lde-oracle", "init", "shadow")) },
        target: { params: initParams(spec, new Rng(cfg.seed).fork("lde-oracle", "init", "target")) },
      };
log(`originals (${opts.original}) ready in ${since(t)} s`);

const shapes = allParamShapes(spec);
const lastW = shapes.length - 2; // the output layer's weight, then its bias
const lastWidth = sizeFromShape(shapes[lastW]!) + C;

interface Views {
  delta: Float32Array;
  /** Per probe, log p_old - log p_new, centred over the classes: the logit change as the API shows it. */
  logRatio: Float32Array;
  /** logRatio averaged over the probes: a shared (bias-like) logit shift, C numbers. */
  logRatioMean: Float32Array;
  bias: Float32Array;
  last: Float32Array;
  hist: Float32Array;
  deltaSize: number;
}

/** `n` sets of `setSize` drawn from `pool` on `stream`, each updating `params`; the three views. */
async function updates(params: Float32Array[], pool: Int32Array, n: number, stream: string): Promise<Views> {
  const rng = new Rng(cfg.seed).fork("lde-oracle", stream);
  const original = toTensors(spec, params);
  const probes = tf.tensor(probeX, [cfg.probeCount, ...spec.inputShape]);
  const p0 = posteriors(spec, original, probes);
  const deltaSize = cfg.probeCount * C;
  const out: Views = {
    delta: new Float32Array(n * deltaSize),
    logRatio: new Float32Array(n * deltaSize),
    logRatioMean: new Float32Array(n * C),
    bias: new Float32Array(n * C),
    last: new Float32Array(n * lastWidth),
    hist: new Float32Array(n * C),
    deltaSize,
  };
  for (let m = 0; m < n; m++) {
    const pick = rng.fork("set", m).sample(pool.length, cfg.setSize);
    const idx = Int32Array.from(pick, (i) => pool[i]!);
    const g = ds.gather(idx);
    const set = { x: g.x, y: Int32Array.from(g.labels), n: g.count };
    for (const y of set.y) out.hist[m * C + y]! += 1 / set.n;
    const updated = referenceUpdate(spec, original, set, PAPER_UPDATE, rng.fork("masks", m));
    const [d, lr, lrMean, dw, db] = tf.tidy(() => {
      const p1 = posteriors(spec, updated, probes);
      const logRatio = tf.sub(tf.log(tf.maximum(p0, 1e-38)), tf.log(tf.maximum(p1, 1e-38)));
      const centred = tf.sub(logRatio, tf.mean(logRatio, 1, true));
      return [
        posteriorDelta(p0, p1),
        tf.reshape(centred, [-1]),
        tf.mean(centred, 0),
        tf.sub(updated[lastW]!, original[lastW]!),
        tf.sub(updated[lastW + 1]!, original[lastW + 1]!),
      ];
    });
    out.logRatio.set((await lr!.data()) as Float32Array, m * deltaSize);
    out.logRatioMean.set((await lrMean!.data()) as Float32Array, m * C);
    out.delta.set((await d!.data()) as Float32Array, m * deltaSize);
    const bias = (await db!.data()) as Float32Array;
    out.bias.set(bias, m * C);
    out.last.set((await dw!.data()) as Float32Array, m * lastWidth);
    out.last.set(bias, m * lastWidth + lastWidth - C);
    tf.dispose([d!, lr!, lrMean!, dw!, db!, ...updated]);
    if ((m + 1) % 500 === 0) log(`  ${stream}: ${m + 1}/${n}`);
  }
  tf.dispose([...original, probes, p0]);
  return out;
}

t = performance.now();
const shadow = await updates(originals.shadow.params, splits.shadow.pool, nShadow, "shadow");
const target = await updates(originals.target.params, splits.target.pool, nTarget, "target");
// The validation shadow model: one more shadow original (stream "shadow-extra", as the pipeline's
// --shadow-originals draws it), trained on the shadow side's data, updated with sets of the shadow pool.
// It stands for "a model the decoder was not trained on", which is what the target is.
const validation =
  nValidation === 0
    ? null
    : await updates(
        opts.original === "trained"
          ? (
              await extraShadowModels(
                { ...cfg, shadowOriginals: cfg.shadowOriginals + 1 },
                splits.shadow,
                ds,
                epochs,
                ctx,
              )
            ).at(-1)!.params
          : initParams(spec, new Rng(cfg.seed).fork("lde-oracle", "init", "validation")),
        splits.shadow.pool,
        nValidation,
        "validation",
      );
log(`updates in ${since(t)} s`);

// Posterior saturation of the target original on the probes, and the size of the deltas.
const p0Target = await (async () => {
  const original = toTensors(spec, originals.target.params);
  const probes = tf.tensor(probeX, [cfg.probeCount, ...spec.inputShape]);
  const p = posteriors(spec, original, probes);
  const v = (await p.data()) as Float32Array;
  tf.dispose([...original, probes, p]);
  return v;
})();
const maxPost = Array.from({ length: cfg.probeCount }, (_, i) =>
  Math.max(...p0Target.subarray(i * C, (i + 1) * C)),
);
const sorted = (xs: ArrayLike<number>) => Float64Array.from(xs).sort();
const quantile = (xs: Float64Array, q: number) => xs[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const absDelta = sorted(Array.from(target.delta, Math.abs));
console.log(
  JSON.stringify({
    dataset: ds.name,
    seed: cfg.seed,
    original: opts.original,
    saturation: {
      probes: cfg.probeCount,
      maxPosteriorMedian: quantile(sorted(maxPost), 0.5),
      probesAbove0999: maxPost.filter((v) => v > 0.999).length / cfg.probeCount,
      absDeltaMedian: quantile(absDelta, 0.5),
      absDelta90: quantile(absDelta, 0.9),
    },
  }),
);

// Baselines on the target sets: the shadow pool's label frequencies (prior) and random histograms.
const shadowPrior = classFrequencies(
  Array.from(splits.shadow.pool, (i) => ds.labels[i] as number),
  C,
);
const prior = repeatHistogram(shadowPrior, nTarget);
const random = randomHistograms(new Rng(cfg.seed).fork("lde-oracle", "random"), nTarget, C);
const kl = (pred: Float32Array, truth: Float32Array, n: number) => meanStd(klPerRow(truth, pred, n, C)).mean;
const klPrior = kl(prior, target.hist, nTarget);
const klRandom = kl(random, target.hist, nTarget);

const nFit = Math.floor(nShadow * 0.8);
const nVal = nShadow - nFit;
const rows = (a: Float32Array, w: number, from: number, n: number) => a.subarray(from * w, (from + n) * w);
const priorVal = repeatHistogram(shadowPrior, nVal);

const VIEWS = [
  ["delta", (v: Views) => v.delta, shadow.deltaSize],
  ["log-ratio", (v: Views) => v.logRatio, shadow.deltaSize],
  ["log-ratio-mean", (v: Views) => v.logRatioMean, C],
  ["oracle-bias", (v: Views) => v.bias, C],
  ["oracle-last", (v: Views) => v.last, lastWidth],
] as const;
const results: Record<string, unknown>[] = [];
for (const [view, of, width] of VIEWS) {
  const [sh, tg] = [of(shadow), of(target)];
  // Adversary side: each preprocessing trained on 80% of the shadow sets, scored on the other 20%.
  const tried: Record<string, number> = {};
  let best: DeltaPreprocessing = "none";
  for (const pre of DELTA_PREPROCESSING) {
    const a = trainDistributionAttack(
      rows(sh, width, 0, nFit),
      rows(shadow.hist, C, 0, nFit),
      nFit,
      width,
      C,
      new Rng(cfg.seed).fork("lde-oracle", view, pre),
      { preprocessing: pre, epochs: decoderEpochs },
    );
    tried[pre] = kl(a.predict(rows(sh, width, nFit, nVal), nVal), rows(shadow.hist, C, nFit, nVal), nVal);
    a.dispose();
    if (tried[pre]! < (tried[best] ?? Number.POSITIVE_INFINITY)) best = pre;
  }
  // The chosen one, trained on all shadow sets, scored once on the target sets.
  const a = trainDistributionAttack(
    sh,
    shadow.hist,
    nShadow,
    width,
    C,
    new Rng(cfg.seed).fork("lde-oracle", view, "final"),
    { preprocessing: best, epochs: decoderEpochs },
  );
  const klTarget = kl(a.predict(tg, nTarget), target.hist, nTarget);
  const validationModelKl = validation
    ? kl(a.predict(of(validation), nValidation), validation.hist, nValidation)
    : null;
  a.dispose();
  const r = {
    view,
    width,
    validationKl: tried,
    validationPrior: kl(priorVal, rows(shadow.hist, C, nFit, nVal), nVal),
    chosen: best,
    validationModelKl,
    targetKl: klTarget,
    prior: klPrior,
    random: klRandom,
    ratioToPrior: klTarget / klPrior,
  };
  results.push(r);
  console.log(JSON.stringify(r));
}
// The adversary's choice among its own views (not the oracles), made on the validation shadow model.
if (validation) {
  const mine = results.filter((r) => !(r.view as string).startsWith("oracle"));
  const chosen = mine.reduce((a, b) =>
    (b.validationModelKl as number) < (a.validationModelKl as number) ? b : a,
  );
  const validationPrior = kl(repeatHistogram(shadowPrior, nValidation), validation.hist, nValidation);
  console.log(
    JSON.stringify({
      choice: chosen.view,
      onValidationModel: Object.fromEntries(mine.map((r) => [r.view as string, r.validationModelKl])),
      validationModelPrior: validationPrior,
      targetKl: chosen.targetKl,
      ratioToPrior: chosen.ratioToPrior,
    }),
  );
}
console.log(
  JSON.stringify({
    summary: Object.fromEntries(
      results.map((r) => [r.view as string, Number((r.targetKl as number).toFixed(4))]),
    ),
    prior: Number(klPrior.toFixed(4)),
    shadowSets: nShadow,
    targetSets: nTarget,
    seconds: since(t),
  }),
);
