/**
 * The `train` suite: training time of an original (target / shadow) model with `trainModels`, for
 * one model and for a pair in lockstep; of the pair as the pipelines train it on wasm, each model
 * alone in a worker thread (`trainAlone`); and of the plain one-model reference, `trainModel`: MNIST and CIFAR-10 on 10,000 samples, Insta-NY on 5,000 (one
 * side's training set), the paper's SGD at batch 64, dropout on. By default ONE epoch is timed and
 * the paper's epochs (25 / 50 / 25) are extrapolated from it (`derived.paper_seconds_extrapolated`);
 * `--full` trains the paper's epochs and reports their real total. A short warm-up training (two
 * batches) runs first and is reported as the first-run time; an epoch expected to take under
 * 0.5 s (Insta-NY) is timed over 5 epochs instead of one, for a spread.
 *
 * Data: the real MNIST / CIFAR-10 samples where their files are found (--data-dir or the usual
 * places), else random normals with random labels (said in the notes); Insta-NY is its seeded
 * synthetic stand-in. Real data matters: the conv blocks' gradient skips what the ReLU and the
 * pools zero (ops/conv-pool.ts), so its cost follows the activations, and an MNIST model's later
 * epochs run faster than its first (a one-epoch extrapolation overstates; --full does not).
 */
import {
  cifarCnn,
  initParams,
  instaMlp,
  type LabelledData,
  type ModelSpec,
  mnistCnn,
  PAPER_EPOCHS,
  PAPER_SGD,
  Rng,
  sizeFromShape,
  trainModel,
} from "@updates-leak/core";
import { aloneParallelism, trainAlone, trainModels } from "@updates-leak/core/internal";
import { loadDataset, locateDataset } from "@updates-leak/datasets";
import { FLOP_FORMULA, trainFlopsPerSample } from "../flops.ts";
import type { BenchRecord } from "../record.ts";
import { round4, spreadOf } from "../stats.ts";
import { primaryVariants } from "../variants.ts";
import type { SuiteContext } from "./context.ts";
import { runCase, startVariant } from "./start.ts";
import { randomLabels } from "./tensors.ts";

const MODELS: readonly [keyof typeof PAPER_EPOCHS, ModelSpec, number][] = [
  ["mnist", mnistCnn, 10_000],
  ["cifar10", cifarCnn, 10_000],
  ["insta-ny", instaMlp, 5_000],
];
const SMOKE_SAMPLES = 64;
const SHORT_EPOCH_MS = 500;

function randomData(spec: ModelSpec, n: number, rng: Rng): LabelledData {
  const size = sizeFromShape(spec.inputShape);
  return { x: rng.normals(n * size), y: randomLabels(rng, n, spec.numClasses), n };
}

/**
 * Two training sets of n samples for `name` (the pair's): real samples 0..n-1 and n..2n-1 where the
 * files are found (Insta-NY: its synthetic generator), else random ones. Returns a note on the source.
 */
async function benchData(
  name: keyof typeof PAPER_EPOCHS,
  spec: ModelSpec,
  n: number,
  rng: Rng,
  dataDir: string | null,
): Promise<{ sets: [LabelledData, LabelledData]; source: string }> {
  const where = dataDir === null ? {} : { dataDir };
  const real = name === "insta-ny" || locateDataset(name, where).chosen !== undefined;
  if (!real) {
    return {
      sets: [randomData(spec, n, rng.fork("data")), randomData(spec, n, rng.fork("data-2"))],
      source: `${name} files not found: random normals with random labels`,
    };
  }
  const ds = await loadDataset(name === "insta-ny" ? "insta-ny-synthetic" : name, {
    download: false,
    ...where,
  });
  const take = (from: number): LabelledData => {
    const g = ds.gather(Int32Array.from({ length: n }, (_, i) => from + i));
    return { x: g.x, y: Int32Array.from(g.labels), n };
  };
  return { sets: [take(0), take(n)], source: `${ds.name} samples 0..${2 * n - 1} (${ds.source})` };
}

/** Wall and CPU milliseconds of each epoch: call `tick` at every epoch's end (starts now). */
function epochClock(): { ms: number[]; cpu: number[]; tick: () => void } {
  const ms: number[] = [];
  const cpu: number[] = [];
  let t = performance.now();
  let c = process.cpuUsage();
  return {
    ms,
    cpu,
    tick: () => {
      ms.push(performance.now() - t);
      const used = process.cpuUsage(c);
      cpu.push((used.user + used.system) / 1000);
      t = performance.now();
      c = process.cpuUsage();
    },
  };
}

export async function trainSuite(ctx: SuiteContext): Promise<BenchRecord[]> {
  const variants = ctx.opts.backends ?? (await primaryVariants(ctx.machine.cores, ctx.opts.smoke));
  const records: BenchRecord[] = [];
  for (const v of variants) {
    if (!(await startVariant(ctx, v, records))) continue;
    ctx.log(`train on ${v.label}`);
    for (const [name, spec, samples] of MODELS) {
      const n = ctx.opts.smoke ? SMOKE_SAMPLES : samples;
      const epochs = ctx.opts.full && !ctx.opts.smoke ? PAPER_EPOCHS[name] : 1;
      const params = { dataset: name, model: spec.name, samples: n, epochs, batchSize: PAPER_SGD.batchSize };
      await runCase(
        ctx,
        records,
        `train: ${name} on ${v.label}`,
        () => ({ case: `train ${name} one model ${n} samples`, params }),
        () => trainCases(ctx, { name, spec, n, params }, records),
      );
    }
  }
  return records;
}

/** One data set's training cases: its model, the samples per model, the records' params. */
interface TrainCase {
  name: keyof typeof PAPER_EPOCHS;
  spec: ModelSpec;
  n: number;
  /** Its `epochs` is set to the epochs timed once the warm-up has estimated an epoch. */
  params: { epochs: number } & Record<string, unknown>;
}

/**
 * Two warm-up trainings on two batches: the first is the first-run time, the second estimates an
 * epoch; epochs under SHORT_EPOCH_MS are repeated (up to 5) for a spread. Returns the first-run
 * time and the epochs to time.
 */
async function warmUp(
  ctx: SuiteContext,
  c: TrainCase,
  data: LabelledData,
  rng: Rng,
): Promise<{ firstMs: number; epochs: number }> {
  const { spec, n } = c;
  const warmN = Math.min(n, ctx.opts.smoke ? 8 : 2 * PAPER_SGD.batchSize);
  const warm: LabelledData = { x: data.x.subarray(0, (warmN * data.x.length) / n), y: data.y, n: warmN };
  const once = async () => {
    const t0 = performance.now();
    await trainModels(spec, [{ init: initParams(spec, rng.fork("warm-init")), data: warm, rng }], {
      ...PAPER_SGD,
      epochs: 1,
    });
    return performance.now() - t0;
  };
  const firstMs = await once();
  const estimateMs = ((await once()) * n) / warm.n;
  let epochs = c.params.epochs;
  if (epochs === 1 && !ctx.opts.smoke && estimateMs < SHORT_EPOCH_MS)
    epochs = Math.min(PAPER_EPOCHS[c.name], 5);
  return { firstMs, epochs };
}

/** The four training paths on one data set, one record each (pushed onto `records`). */
async function trainCases(ctx: SuiteContext, c: TrainCase, records: BenchRecord[]): Promise<void> {
  const { name, spec, n } = c;
  const rng = new Rng(`bench-train-${name}`);
  const { sets, source } = await benchData(name, spec, n, rng, ctx.opts.dataDir);
  const [data, other] = sets;
  const { firstMs, epochs } = await warmUp(ctx, c, data, rng);
  c.params.epochs = epochs;
  const cfg = { ...PAPER_SGD, epochs };
  const record = (r: Omit<TimedCase, "firstMs" | "source">) => {
    const out = trainRecord(ctx, c, { ...r, firstMs, source });
    records.push(out.rec);
    return out;
  };

  // The pipelines' path for one model: trainModels with one job.
  const one = epochClock();
  await trainModels(
    spec,
    [{ init: initParams(spec, rng.fork("init")), data, rng: rng.fork("train") }],
    cfg,
    one.tick,
  );
  const single = record({
    label: `train ${name} one model ${n} samples`,
    models: 1,
    clock: one,
    timedEpochs: epochs,
    extra: {},
    what: "trainModels with one model (the pipelines' training path)",
    timingNote: "timing is per epoch; the first-run time is a warm-up training on 2 batches",
  });

  // Two models trained together in lockstep (trainModels), the pipelines' path on webgpu and cpu.
  const jobs = [data, other].map((d, m) => ({
    init: initParams(spec, rng.fork("pair-init", m)),
    data: d,
    rng: rng.fork("pair-train", m),
  }));
  const both = epochClock();
  await trainModels(spec, jobs, cfg, (m) => {
    if (m === 0) both.tick();
  });
  const pair = record({
    label: `train ${name} pair ${n} samples each`,
    models: 2,
    clock: both,
    timedEpochs: epochs,
    extra: { models: 2 },
    what: "two models trained in lockstep by trainModels (the pipelines' path on webgpu and cpu)",
    timingNote: "timing is per epoch; the first-run time is the single-model warm-up",
  });
  pair.rec.derived.speedup_vs_two_single = round4((2 * single.medianMs) / pair.medianMs);

  // The pipelines' path on wasm: each model alone, in parallel worker threads (trainAlone).
  // At least 3 epochs, so that the median epoch is not the first (which starts the workers).
  const workers = aloneParallelism(2);
  const aloneEpochs = ctx.opts.smoke ? epochs : Math.max(epochs, 3);
  const alone = epochClock();
  await trainAlone(spec, jobs, { ...cfg, epochs: aloneEpochs }, (m) => {
    if (m === 0) alone.tick();
  });
  const pairAlone = record({
    label: `train ${name} pair alone ${n} samples each`,
    models: 2,
    clock: alone,
    timedEpochs: aloneEpochs,
    extra: { models: 2, workers },
    what:
      workers > 1
        ? `trainAlone: each model alone in its own worker thread (${workers} at a time, single-threaded wasm each), the pipelines' path on wasm`
        : "trainAlone: each model alone, one after another (no worker threads on this backend or thread count)",
    timingNote:
      "timing is per epoch of model 0 (the first includes starting the workers; at least 3 epochs are timed)",
  });
  pairAlone.rec.derived.speedup_vs_lockstep = round4(pair.medianMs / pairAlone.medianMs);

  // The plain one-model reference (trainModel: tfjs ops and their own gradients).
  const ref = epochClock();
  await trainModel(spec, initParams(spec, rng.fork("init")), data, cfg, rng.fork("train"), ref.tick);
  const reference = record({
    label: `reference train ${name} ${n} samples`,
    models: 1,
    clock: ref,
    timedEpochs: epochs,
    extra: {},
    what: "trainModel, the one-model reference path",
    timingNote: "timing is per epoch; the first-run time is the trainModels warm-up",
  });
  single.rec.derived.speedup_vs_reference = round4(reference.medianMs / single.medianMs);
}

/** One timed case: `models` models of n samples each, timed per epoch by `clock` over `timedEpochs`. */
interface TimedCase {
  label: string;
  models: number;
  clock: ReturnType<typeof epochClock>;
  timedEpochs: number;
  extra: Record<string, unknown>;
  what: string;
  timingNote: string;
  firstMs: number;
  source: string;
}

/** A case's record; the paper's epochs extrapolated from the median epoch. */
function trainRecord(ctx: SuiteContext, c: TrainCase, t: TimedCase): { rec: BenchRecord; medianMs: number } {
  const paperEpochs = PAPER_EPOCHS[c.name];
  const timing = spreadOf(t.firstMs, t.clock.ms, t.clock.cpu);
  const rec = ctx.record({
    case: t.label,
    params: { ...c.params, epochs: t.timedEpochs, ...t.extra },
    timing,
    flop: t.models * c.n * trainFlopsPerSample(c.spec),
    formula: `per epoch: ${t.models > 1 ? `${t.models}*` : ""}N*(3F - F1); ${FLOP_FORMULA.train}`,
    rate: { unit: "samples/s", perRun: t.models * c.n },
    notes: [
      t.what,
      `data: ${t.source}`,
      t.timingNote,
      t.timedEpochs < paperEpochs
        ? `paper_seconds_extrapolated: ${t.timedEpochs} epoch(s) timed, ${paperEpochs} extrapolated (median epoch x ${paperEpochs})`
        : `${t.timedEpochs} epochs timed (the paper's)`,
    ],
  });
  rec.derived.paper_epochs = paperEpochs;
  rec.derived.paper_seconds_extrapolated = round4((timing.medianMs * paperEpochs) / 1000);
  rec.derived.total_seconds_timed = round4(t.clock.ms.reduce((a, b) => a + b, 0) / 1000);
  return { rec, medianMs: timing.medianMs };
}
