/**
 * The `engine` suite: updated models per second for MNIST, CIFAR-10 and Insta-NY with 1- and
 * 100-sample updating sets, the batched engine (`UpdateEngine.deltas` on one chunk of the size the
 * engine picks for its memory budget, `chunkSize`: e.g. 203 MNIST models for single-sample sets
 * on wasm, 23 for 100-sample ones) against the one-model-at-a-time reference
 * (`referenceDeltas`) measured in the same run, and the engine's achieved GFLOP/s against a
 * matMul peak measured on the same backend just before.
 *
 * Setup as in the pipelines: 100 probes, the paper's SGD (lr 0.001, momentum 0.9, batch 64),
 * dropout on (masks drawn per model); original weights from `initParams` and random (normal)
 * samples, since speed does not depend on what the numbers are. FLOP per updated model:
 * S*(3F - F1) + P*F (see flops.ts). Each engine run is one `deltas` call for one chunk; each
 * reference run updates and probes `refModels` models.
 */
import {
  cifarCnn,
  type EngineOptions,
  initParams,
  instaMlp,
  type ModelSpec,
  mnistCnn,
  PAPER_UPDATE,
  Rng,
  randomUpdateSets,
  referenceDeltas,
  sizeFromShape,
  tf,
  UpdateEngine,
} from "@updates-leak/core";
import { FLOP_FORMULA, forwardFlops, layerFlops, matMulFlops, updatedModelFlops } from "../flops.ts";
import { measure, type RepeatPolicy } from "../measure.ts";
import type { BenchRecord } from "../record.ts";
import { round4 } from "../stats.ts";
import { primaryVariants } from "../variants.ts";
import type { SuiteContext } from "./context.ts";
import { runCase, startVariant } from "./start.ts";
import { randomTensor, readAndDispose } from "./tensors.ts";

export const ENGINE_MODELS: readonly [string, ModelSpec][] = [
  ["mnist", mnistCnn],
  ["cifar10", cifarCnn],
  ["insta-ny", instaMlp],
];

interface EngineSizes {
  probes: number;
  setSizes: number[];
  /** Models per engine call for single-sample sets and for larger ones (0: the engine's adaptive chunk). */
  chunkSingle: number;
  chunkMulti: number;
  /** Models per reference run. */
  refSingle: number;
  refMulti: number;
}
const FULL: EngineSizes = {
  probes: 100,
  setSizes: [1, 100],
  chunkSingle: 0,
  chunkMulti: 0,
  refSingle: 8,
  refMulti: 1,
};
const SMOKE: EngineSizes = {
  probes: 3,
  setSizes: [1, 3],
  chunkSingle: 2,
  chunkMulti: 2,
  refSingle: 1,
  refMulti: 1,
};

/** The matMul used as the backend's peak: big enough to be compute-bound there. */
export function peakSize(backend: string, softwareGpu: boolean, smoke: boolean): number {
  if (smoke) return 64;
  if (backend === "webgpu") return softwareGpu ? 512 : 4096;
  return backend === "cpu" ? 512 : 1024;
}

function maskRngs(rng: Rng, run: number, count: number): Rng[] {
  return Array.from({ length: count }, (_, m) => rng.fork("masks", run, m));
}

function formulaFor(spec: ModelSpec, setSize: number, probes: number, models: number): string {
  const f = layerFlops(spec);
  return `${models}*(${FLOP_FORMULA.updatedModel}), F=${forwardFlops(spec)}, F1=${f[0]}, S=${setSize}, P=${probes}`;
}

export async function engineSuite(ctx: SuiteContext): Promise<BenchRecord[]> {
  const sizes = ctx.opts.smoke ? SMOKE : FULL;
  const variants = ctx.opts.backends ?? (await primaryVariants(ctx.machine.cores, ctx.opts.smoke));
  const records: BenchRecord[] = [];
  for (const v of variants) {
    const report = await startVariant(ctx, v, records, false); // deltas() reads asynchronously
    if (!report) continue;
    ctx.log(`engine on ${v.label}`);
    const peak = await measurePeak(ctx, peakSize(v.backend, report.softwareAdapter, ctx.opts.smoke), records);
    for (const [name, spec] of ENGINE_MODELS) {
      for (const setSize of sizes.setSizes) {
        const c: EngineCase = { name, spec, setSize, sizes, peak };
        let chunk = setSize === 1 ? sizes.chunkSingle : sizes.chunkMulti;
        await runCase(
          ctx,
          records,
          `engine: ${name} ${setSize}-sample on ${v.label}`,
          () => ({ case: `engine ${name} ${setSize}-sample`, params: { ...caseParams(c), chunk } }),
          async () => {
            records.push(
              ...(await engineCase(ctx, c, (k) => {
                chunk = k;
              })),
            );
          },
        );
      }
    }
  }
  return records;
}

/** The matMul peak (n x n x n) on the running backend: its record is pushed, its GFLOP/s returned. */
async function measurePeak(ctx: SuiteContext, n: number, records: BenchRecord[]): Promise<number | null> {
  const rng = new Rng("bench-engine-peak");
  const a = randomTensor(rng, [n, n]);
  const b = randomTensor(rng, [n, n]);
  const peakTiming = await measure(() => readAndDispose(tf.matMul(a, b)), ctx.policy);
  tf.dispose([a, b]);
  const peakRec = ctx.record({
    case: `peak matMul ${n}x${n}x${n}`,
    params: { a: [n, n], b: [n, n] },
    timing: peakTiming,
    flop: matMulFlops(n, n, n),
    formula: FLOP_FORMULA.matMul,
    notes: ["the matMul peak the engine's GFLOP/s are compared with"],
  });
  records.push(peakRec);
  return peakRec.gflops?.median ?? null;
}

/** One engine case: a model, a set size, the suite's sizes and the backend's matMul peak. */
interface EngineCase {
  name: string;
  spec: ModelSpec;
  setSize: number;
  sizes: EngineSizes;
  peak: number | null;
}

function caseParams(c: EngineCase) {
  return { dataset: c.name, model: c.spec.name, setSize: c.setSize, probes: c.sizes.probes, dropout: true };
}

/**
 * A chunk of 200 MNIST models takes 0.4 s, so the 1.5 s budget would time only 3-4 of them: at
 * least 6 runs (and 3 s) for the engine, whose median is the figure the targets name.
 */
function enginePolicy(ctx: SuiteContext): RepeatPolicy {
  if (ctx.opts.smoke) return ctx.policy;
  return {
    ...ctx.policy,
    minRuns: Math.min(ctx.policy.maxRuns, Math.max(ctx.policy.minRuns, 6)),
    budgetMs: Math.max(ctx.policy.budgetMs, 3000),
  };
}

/**
 * The engine on one chunk against the reference on `refModels` models: their two records, the
 * engine's with its speedup and fraction of the peak. `onChunk` hears the chunk once it is known.
 */
async function engineCase(
  ctx: SuiteContext,
  c: EngineCase,
  onChunk: (chunk: number) => void,
): Promise<BenchRecord[]> {
  const { name, spec, setSize, sizes, peak } = c;
  const single = setSize === 1;
  const fixedChunk = single ? sizes.chunkSingle : sizes.chunkMulti;
  const refModels = single ? sizes.refSingle : sizes.refMulti;
  const P = sizes.probes;
  const fpm = updatedModelFlops(spec, setSize, P);
  const rng = new Rng(`bench-engine-${name}-${setSize}`);
  const size = sizeFromShape(spec.inputShape);
  const opts: EngineOptions = {
    spec,
    original: initParams(spec, rng.fork("init")),
    probes: rng.fork("probes").normals(P * size),
    update: PAPER_UPDATE,
    dropout: true,
  };
  const params = caseParams(c);
  const engine = new UpdateEngine(opts);
  const chunk = fixedChunk > 0 ? fixedChunk : engine.chunkSize(setSize);
  onChunk(chunk);
  const sets = randomUpdateSets(spec, chunk, setSize, rng.fork("sets"));
  let run = 0;
  let engineTiming: Awaited<ReturnType<typeof measure>>;
  try {
    engineTiming = await measure(
      () => engine.deltas(sets, maskRngs(rng, run++, chunk), chunk),
      enginePolicy(ctx),
    );
  } finally {
    engine.dispose();
  }
  const refSets = randomUpdateSets(spec, refModels, setSize, rng.fork("ref-sets"));
  const refTiming = await measure(
    () => referenceDeltas(opts, refSets, maskRngs(rng, run++, refModels)),
    ctx.policy,
  );
  const eng = ctx.record({
    case: `engine ${name} ${setSize}-sample`,
    params: { ...params, chunk },
    timing: engineTiming,
    flop: chunk * fpm,
    formula: formulaFor(spec, setSize, P, chunk),
    rate: { unit: "models/s", perRun: chunk },
  });
  const ref = ctx.record({
    case: `reference ${name} ${setSize}-sample`,
    params: { ...params, models: refModels },
    timing: refTiming,
    flop: refModels * fpm,
    formula: formulaFor(spec, setSize, P, refModels),
    rate: { unit: "models/s", perRun: refModels },
  });
  eng.derived.flop_per_model = fpm;
  eng.derived.speedup_vs_reference = eng.rate && ref.rate ? round4(eng.rate.median / ref.rate.median) : null;
  eng.derived.peak_gflops = peak;
  eng.derived.fraction_of_peak = peak && eng.gflops ? round4(eng.gflops.median / peak) : null;
  ref.derived.flop_per_model = fpm;
  ref.derived.fraction_of_peak = peak && ref.gflops ? round4(ref.gflops.median / peak) : null;
  return [eng, ref];
}
