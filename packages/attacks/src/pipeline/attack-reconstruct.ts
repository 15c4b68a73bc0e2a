/**
 * A_SSR on the generated deltas: an autoencoder trained on the shadow side's samples lends its
 * decoder to the attack, which is fitted on the shadow deltas and scored by MSE (in the
 * reconstruction space: [0,1] pixels, or standardised features) on the target side.
 * Baselines: Random (a random shadow sample), Label-random with the true label (as the paper
 * evaluates it) and with the label A_LI predicts, the mean shadow sample (the best guess that
 * knows nothing of the update: Random's MSE is about twice its), and the AE oracle (upper bound).
 */
import {
  AUTOENCODER_DEFAULTS,
  type Autoencoder,
  type AutoencoderConfig,
  autoencode,
  autoencoderState,
  restoreAutoencoder,
  trainAutoencoder,
} from "../autoencoder.ts";
import { labelRandomSamples, meanSamples, randomSamples } from "../baselines.ts";
import { mse } from "../metrics.ts";
import { trainReconstructAttack } from "../reconstruct.ts";
import { fitLabelStage } from "./attack-label.ts";
import type { ExperimentConfig } from "./config.ts";
import type { ExperimentResult, ImageGrid, RunContext } from "./context.ts";
import type { ExperimentData } from "./data.ts";
import { trainingDigest } from "./originals.ts";
import { epochReporter, shadowPoolLabels, stageInputs, stageResult } from "./stage.ts";

function rows(flat: Float32Array, width: number, idx: ArrayLike<number>): Float32Array[] {
  return Array.from(idx as ArrayLike<number>, (i) => flat.slice(i * width, (i + 1) * width));
}

type StageInputs = Awaited<ReturnType<typeof stageInputs>>;

/**
 * The baselines' samples, from the shadow pool (the adversary's data), in the reconstruction space:
 * Random, Label-random with the true label (as the paper evaluates it) and with the label A_LI
 * (trained here on the shadow deltas) predicts.
 */
function baselineSamples(
  cfg: ExperimentConfig,
  ds: StageInputs["ds"],
  splits: StageInputs["splits"],
  shadow: StageInputs["shadow"],
  target: StageInputs["target"],
  rng: StageInputs["rng"],
): {
  baselines: Record<"random" | "labelRandom" | "labelRandomPredicted" | "meanSample", Float32Array>;
  seconds: number;
} {
  const D = ds.sampleSize;
  const n = cfg.targetModels;
  const pool = ds.gatherUnit(splits.shadow.pool);
  const poolLabels = shadowPoolLabels(ds, splits);
  const random = randomSamples(rng.fork("random"), pool, splits.shadow.pool.length, D, n);
  const labelRandom = labelRandomSamples(rng.fork("label-random"), pool, poolLabels, D, target.labels);
  const t = performance.now();
  const li = fitLabelStage(cfg, ds, shadow, rng.fork("li"));
  const predicted = li.predict(target.deltas, n);
  li.dispose();
  const seconds = (performance.now() - t) / 1000;
  const labelRandomPredicted = labelRandomSamples(
    rng.fork("label-random-pred"),
    pool,
    poolLabels,
    D,
    predicted,
  );
  const meanSample = meanSamples(pool, splits.shadow.pool.length, D, n);
  return { baselines: { random, labelRandom, labelRandomPredicted, meanSample }, seconds };
}

/** Images only: 8 targets drawn at random (not picked), as originals / attack / AE rows. */
function reconstructionGrids(
  ds: StageInputs["ds"],
  rng: StageInputs["rng"],
  n: number,
  [truth, recon, oracle]: [Float32Array, Float32Array, Float32Array],
): ImageGrid[] {
  if (ds.sampleShape.length !== 3) return [];
  const D = ds.sampleSize;
  const show = rng.fork("figure").sample(n, Math.min(8, n));
  return [
    {
      title: `A_SSR on ${ds.name}: originals / attack / AE`,
      rowLabels: ["original", "A_SSR", "AE"],
      shape: ds.sampleShape as [number, number, number],
      rows: [rows(truth, D, show), rows(recon, D, show), rows(oracle, D, show)],
    },
  ];
}

/**
 * Cache key of the A_SSR autoencoder (`ctx.modelCache`): what it depends on, the digest of its
 * training data (as `originalKey`), its seed, epochs and settings. It does not depend on the
 * defence, the threat or the deltas, so a defence sweep trains it once. "ae1": the first format.
 */
export function autoencoderKey(
  cfg: Pick<ExperimentConfig, "seed">,
  datasetName: string,
  train: { length: number; digest: string },
  settings: Pick<AutoencoderConfig, "output" | "epochs">,
): string {
  const c = { ...AUTOENCODER_DEFAULTS, ...settings };
  const shape = `h${c.hidden.join("x")}-l${c.latent}-${c.output}-s${c.leakySlope}`;
  const fit = `e${c.epochs}-b${c.batchSize}-lr${c.adam.lr}`;
  return ["ae1", datasetName, `seed${cfg.seed}`, `n${train.length}`, `d${train.digest}`, shape, fit].join(
    "-",
  );
}

/**
 * The autoencoder on the shadow side's training data: loaded from `ctx.modelCache` when its key is
 * there (the same weights, bit for bit, as training gives), else trained and cached.
 */
async function shadowAutoencoder(
  cfg: ExperimentConfig,
  ctx: RunContext,
  ds: StageInputs["ds"],
  train: Int32Array,
  rng: StageInputs["rng"],
  epochs: number,
): Promise<{ ae: Autoencoder; cached: boolean }> {
  const settings = { output: ds.reconSpace === "unit" ? ("sigmoid" as const) : ("linear" as const), epochs };
  const key = autoencoderKey(
    cfg,
    ds.name,
    { length: train.length, digest: trainingDigest(ds, train) },
    settings,
  );
  const state = ctx.modelCache ? await ctx.modelCache.get(key) : null;
  if (state) {
    ctx.log(`autoencoder: loaded from cache (${key})`);
    return { ae: restoreAutoencoder(state, ds.sampleSize, settings), cached: true };
  }
  const ae = trainAutoencoder(ds.gatherUnit(train), train.length, ds.sampleSize, rng.fork("ae"), {
    ...settings,
    onEpoch: epochReporter(ctx, "train autoencoder", "autoencoder", epochs),
  });
  if (ctx.modelCache) await ctx.modelCache.put(key, autoencoderState(ae));
  return { ae, cached: false };
}

export async function runReconstructAttack(
  cfg: ExperimentConfig,
  ctx: RunContext,
  data: ExperimentData,
): Promise<ExperimentResult> {
  const { ds, splits, shadow, target, rng } = await stageInputs(cfg, ctx, data, "reconstruct", 1);
  const timings: Record<string, number> = {};

  // The autoencoder on the adversary's own (shadow) training data, from the model cache when there.
  let t = performance.now();
  const aeEpochs = cfg.smoke ? 5 : 30;
  const { ae, cached } = await shadowAutoencoder(cfg, ctx, ds, splits.shadow.train, rng, aeEpochs);
  timings.autoencoder = (performance.now() - t) / 1000;

  try {
    t = performance.now();
    const shadowSamples = ds.gatherUnit(shadow.indices);
    const attack = trainReconstructAttack(
      shadow.deltas,
      shadowSamples,
      cfg.shadowModels,
      shadow.deltaSize,
      ae,
      rng.fork("train"),
      {
        epochs: cfg.attackEpochs,
        onEpoch: epochReporter(ctx, "train A_SSR", "attack-reconstruct", cfg.attackEpochs),
      },
    );
    timings.attack_train = (performance.now() - t) / 1000;
    const n = cfg.targetModels;
    const truth = ds.gatherUnit(target.indices);
    const recon = attack.reconstruct(target.deltas, n);
    attack.dispose();
    const oracle = autoencode(ae, truth, n);

    const { baselines: reference, seconds } = baselineSamples(cfg, ds, splits, shadow, target, rng);
    timings.label_attack_for_baseline = seconds;
    const value = mse(recon, truth);
    const baselines = {
      random: mse(reference.random, truth),
      label_random: mse(reference.labelRandom, truth),
      label_random_predicted: mse(reference.labelRandomPredicted, truth),
      mean_sample: mse(reference.meanSample, truth),
      ae_oracle: mse(oracle, truth),
    };
    ctx.log(
      `A_SSR MSE ${value.toFixed(4)}; Random ${baselines.random.toFixed(4)}, Label-random ${baselines.label_random.toFixed(4)}, ` +
        `mean sample ${baselines.mean_sample.toFixed(4)}, AE oracle ${baselines.ae_oracle.toFixed(4)}`,
    );
    const grids = reconstructionGrids(ds, rng, n, [truth, recon, oracle]);
    return stageResult(cfg, {
      attack: "reconstruct",
      dataset: ds.name,
      metric: `mse_${ds.reconSpace}`,
      value,
      baselines,
      extra: {
        improvementOverRandom: 1 - value / baselines.random,
        improvementOverLabelRandom: 1 - value / baselines.label_random,
        improvementOverMeanSample: 1 - value / baselines.mean_sample,
        autoencoderEpochs: aeEpochs,
        autoencoderCached: cached,
      },
      tested: n,
      counts: { autoencoder_train: splits.shadow.train.length },
      timings,
      predictions: [
        {
          name: "reconstruction",
          doc: `A_SSR's reconstruction of target i's update sample (${ds.reconSpace === "unit" ? "pixels in [0,1]" : "standardised features"})`,
          shape: [n, ...ds.sampleShape],
          data: recon,
        },
        {
          name: "true_index",
          doc: "the data set index of target i's update sample",
          shape: [n],
          data: Int32Array.from(target.indices.subarray(0, n)),
        },
      ],
      chart: {
        title: `A_SSR on ${ds.name}`,
        metric: "MSE",
        better: "lower",
        bars: [
          { label: "A_SSR", value },
          { label: "Random", value: baselines.random },
          { label: "Label-random", value: baselines.label_random },
          { label: "Mean sample", value: baselines.mean_sample },
          { label: "AE oracle", value: baselines.ae_oracle },
        ],
      },
      grids,
    });
  } finally {
    ae.dispose();
  }
}
