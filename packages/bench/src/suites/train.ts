/**
 * The `train` suite: training time of an original (target / shadow) model with `trainModel`, and
 * of the pair the pipelines train together with `trainModels`: MNIST and CIFAR-10 on 10,000
 * samples, Insta-NY on 5,000 (one side's training set), the paper's SGD at batch 64, dropout on. By default ONE epoch is timed and the
 * paper's epochs (25 / 50 / 25) are extrapolated from it (`derived.paper_seconds_extrapolated`);
 * `--full` trains the paper's epochs and reports their real total. A short warm-up training (two
 * batches) runs first and is reported as the first-run time; an epoch expected to take under
 * 0.5 s (Insta-NY) is timed over 5 epochs instead of one, for a spread. Samples are random normals with
 * random labels: speed does not depend on the values. Timing is per epoch (runs = epochs).
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
  tf,
  trainModel,
  trainModels,
} from "@updates-leak/core";
import { FLOP_FORMULA, trainFlopsPerSample } from "../flops.ts";
import type { BenchRecord } from "../record.ts";
import { round4, spreadOf } from "../stats.ts";
import { primaryVariants } from "../variants.ts";
import type { SuiteContext } from "./context.ts";
import { startVariant } from "./start.ts";
import { randomLabels } from "./tensors.ts";

const MODELS: readonly [keyof typeof PAPER_EPOCHS, ModelSpec, number][] = [
  ["mnist", mnistCnn, 10_000],
  ["cifar10", cifarCnn, 10_000],
  ["insta-ny", instaMlp, 5_000],
];
const SMOKE_SAMPLES = 64;
const SHORT_EPOCH_MS = 500;

function randomData(spec: ModelSpec, n: number, rng: Rng): LabelledData {
  const size = spec.inputShape.reduce((a, b) => a * b, 1);
  return { x: rng.normals(n * size), y: randomLabels(rng, n, spec.numClasses), n };
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
      const paperEpochs = PAPER_EPOCHS[name];
      const rng = new Rng(`bench-train-${name}`);
      const data = randomData(spec, n, rng.fork("data"));
      const before = tf.memory().numTensors;
      let epochs = ctx.opts.full && !ctx.opts.smoke ? paperEpochs : 1;
      const params = { dataset: name, model: spec.name, samples: n, epochs, batchSize: PAPER_SGD.batchSize };
      try {
        // Two warm-up trainings on two batches: the first is the first-run time, the second
        // estimates an epoch; epochs under SHORT_EPOCH_MS are repeated (up to 5) for a spread.
        const warm = randomData(spec, ctx.opts.smoke ? 8 : 2 * PAPER_SGD.batchSize, rng.fork("warm"));
        const warmUp = async () => {
          const t0 = performance.now();
          await trainModel(
            spec,
            initParams(spec, rng.fork("warm-init")),
            warm,
            { ...PAPER_SGD, epochs: 1 },
            rng,
          );
          return performance.now() - t0;
        };
        const firstMs = await warmUp();
        const estimateMs = ((await warmUp()) * n) / warm.n;
        if (epochs === 1 && !ctx.opts.smoke && estimateMs < SHORT_EPOCH_MS) epochs = Math.min(paperEpochs, 5);
        params.epochs = epochs;
        const cfg = { ...PAPER_SGD, epochs };
        const single = epochClock();
        await trainModel(spec, initParams(spec, rng.fork("init")), data, cfg, rng.fork("train"), single.tick);
        const timing = spreadOf(firstMs, single.ms, single.cpu);
        const rec = ctx.record({
          case: `train ${name} ${n} samples`,
          params,
          timing,
          flop: n * trainFlopsPerSample(spec),
          formula: `per epoch: N*(3F - F1); ${FLOP_FORMULA.train}`,
          rate: { unit: "samples/s", perRun: n },
          notes: [
            "timing is per epoch; the first-run time is a warm-up training on 2 batches",
            epochs < paperEpochs
              ? `paper_seconds_extrapolated: ${epochs} epoch(s) timed, ${paperEpochs} extrapolated (median epoch x ${paperEpochs})`
              : `${epochs} epochs timed (the paper's)`,
          ],
        });
        rec.derived.paper_epochs = paperEpochs;
        rec.derived.paper_seconds_extrapolated = round4((timing.medianMs * paperEpochs) / 1000);
        rec.derived.total_seconds_timed = round4(single.ms.reduce((a, b) => a + b, 0) / 1000);
        records.push(rec);

        // The pipelines' path: the shadow and target models trained together (trainModels).
        const other = randomData(spec, n, rng.fork("data-2"));
        const jobs = [data, other].map((d, m) => ({
          init: initParams(spec, rng.fork("pair-init", m)),
          data: d,
          rng: rng.fork("pair-train", m),
        }));
        const both = epochClock();
        await trainModels(spec, jobs, cfg, (m) => {
          if (m === 0) both.tick();
        });
        const pairTiming = spreadOf(firstMs, both.ms, both.cpu);
        const pair = ctx.record({
          case: `train ${name} pair ${n} samples each`,
          params: { ...params, models: 2 },
          timing: pairTiming,
          flop: 2 * n * trainFlopsPerSample(spec),
          formula: `per epoch: 2*N*(3F - F1); ${FLOP_FORMULA.train}`,
          rate: { unit: "samples/s", perRun: 2 * n },
          notes: [
            "two models trained together by trainModels (the pipelines' original shadow and target models)",
            "timing is per epoch; the first-run time is the single-model warm-up",
          ],
        });
        pair.derived.paper_epochs = paperEpochs;
        pair.derived.paper_seconds_extrapolated = round4((pairTiming.medianMs * paperEpochs) / 1000);
        pair.derived.speedup_vs_two_single = round4((2 * timing.medianMs) / pairTiming.medianMs);
        records.push(pair);
      } catch (err) {
        ctx.warn(`train: ${name} on ${v.label} failed: ${(err as Error).message}`);
        records.push(
          ctx.record({
            case: `train ${name} ${n} samples`,
            params,
            timing: null,
            status: "skipped",
            notes: [`failed: ${(err as Error).message}`],
          }),
        );
      }
      const leaked = tf.memory().numTensors - before;
      if (leaked !== 0) records[records.length - 1]!.notes.push(`${leaked} tensor(s) leaked`);
    }
  }
  return records;
}
