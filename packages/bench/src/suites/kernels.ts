/**
 * The `kernels` suite: single operations on each backend variant, at the shapes the project runs.
 *   matMul     squares (256, 512, 1024) and the engine's shapes: the probe patches of conv1 against
 *              one model's filters ([57600,26]x[26,10] MNIST, [78400,76]x[76,6] CIFAR-10), the
 *              probe forward and a training batch of the first dense layer;
 *   conv2d     MNIST conv1 and conv2 at batch 64: forward, input gradient (Conv2DBackpropInput,
 *              conv2 only: conv1's is never needed), filter gradient (Conv2DBackpropFilter);
 *   train step one sgdStep of the MNIST CNN on a batch of 64 with dropout masks;
 *   grouped    the engine's grouped ops for a chunk of 64 single-sample models probed on 100
 *              samples, and a grouped conv with both gradients for 16 models on a batch of 64;
 *   adam       one Adam update of the A_LI attack's parameters (1000 -> 128 -> 64 -> 10,
 *              136,906 values): the one-pass AdamUpdate kernel (wasm, cpu) and its tensor-op
 *              reference (what tfjs's optimiser runs, about 14 ops per variable);
 *   A_LI steps 32 training steps of the A_LI attack on batches of 64 deltas: minibatch from
 *              DeviceRows, forward, backward, AdamStep (per-op overhead dominates them on wasm);
 *   memory     the memory-bound kernels this project replaced on wasm with hand-written SIMD
 *              (MaxPoolGrad, Transpose, Add with a broadcast bias, Sum of bias gradients, Reverse)
 *              at the engine's and training's shapes, each also run through tfjs-wasm's own
 *              kernel on wasm ("... (tfjs-wasm's kernel)"); the ours-record gets
 *              `speedup_vs_package`. Their outputs are not read back.
 * Each run reads its outputs back, except the grouped ops' (intermediates the engine never reads,
 * up to 147 MB: `finishAndDispose` waits for them without the copy). The cpu backend (a slow reference) skips the cases that would
 * take seconds per run there: the 1024 matMul, filter gradients, the train step, the grouped ops. After all variants, each record gets `speed_vs_<first variant>`: that variant's median
 * time over this one's, measured in the same process run.
 */
import {
  ADAM_DEFAULTS,
  AdamStep,
  createEncoderWithHead,
  DeviceRows,
  disposeMlp,
  mlpForward,
  mlpParams,
  softmaxCrossEntropy,
  trainMode,
} from "@updates-leak/attacks";
import {
  initParams,
  mnistCnn,
  PAPER_SGD,
  Rng,
  sgdStep,
  sizeFromShape,
  tf,
  toTensors,
} from "@updates-leak/core";
import {
  adamUpdate,
  adamUpdateReference,
  drawMasks,
  groupedConv2d,
  groupedConv2dTrainable,
  groupedMatMul,
  runPackageKernel,
} from "@updates-leak/core/internal";
import { conv2dFlops, FLOP_FORMULA, matMulFlops, trainFlopsPerSample } from "../flops.ts";
import { measure } from "../measure.ts";
import type { BenchRecord } from "../record.ts";
import { round4 } from "../stats.ts";
import { kernelVariants } from "../variants.ts";
import type { SuiteContext } from "./context.ts";
import { runCase, startVariant } from "./start.ts";
import { finishAndDispose, randomLabels, randomTensor, readAndDispose } from "./tensors.ts";

interface Prepared {
  run(): Promise<void>;
  dispose(): void;
}

export interface KernelCase {
  name: string;
  params: Record<string, unknown>;
  /** Floating-point operations of one run; absent for memory-bound cases. */
  flop?: number;
  formula?: string;
  /** Backends this case is too slow on to be worth timing. */
  skip?: readonly string[];
  setup(rng: Rng): Prepared;
}

/** Sizes of a full run and of --smoke. */
interface Sizes {
  squares: number[];
  /** Probes (engine: 100) and models per chunk (engine: 64 single-sample, 16 multi-sample). */
  probes: number;
  chunk: number;
  chunkMulti: number;
  batch: number;
}
const FULL: Sizes = { squares: [256, 512, 1024], probes: 100, chunk: 64, chunkMulti: 16, batch: 64 };
const SMOKE: Sizes = { squares: [32], probes: 2, chunk: 2, chunkMulti: 2, batch: 2 };

function matMulCase(name: string, m: number, k: number, n: number, skip?: readonly string[]): KernelCase {
  return {
    name,
    params: { a: [m, k], b: [k, n] },
    flop: matMulFlops(m, k, n),
    formula: FLOP_FORMULA.matMul,
    ...(skip ? { skip } : {}),
    setup(rng) {
      const a = randomTensor(rng, [m, k]);
      const b = randomTensor(rng, [k, n]);
      return { run: () => readAndDispose(tf.matMul(a, b)), dispose: () => tf.dispose([a, b]) };
    },
  };
}

type ConvPart = "forward" | "input gradient" | "filter gradient";

/** A 'valid', stride-1 conv of x [b,h,h,c] with filters [k,k,c,o]. */
function convCase(
  layer: string,
  b: number,
  h: number,
  c: number,
  k: number,
  o: number,
  part: ConvPart,
): KernelCase {
  const oh = h - k + 1;
  // tfjs-backend-cpu's Conv2DBackpropFilter runs at ~5 MFLOP/s: seconds per run at batch 64.
  const skip = part === "filter gradient" ? { skip: ["cpu"] } : {};
  const attrs = { strides: [1, 1] as [number, number], pad: "valid" as const, dataFormat: "NHWC" as const };
  return {
    name: `conv2d ${part} ${layer}`,
    params: { x: [b, h, h, c], filter: [k, k, c, o], dy: [b, oh, oh, o] },
    flop: conv2dFlops(b, oh, oh, k, c, o),
    formula: FLOP_FORMULA.conv2d,
    ...skip,
    setup(rng) {
      const x = randomTensor(rng, [b, h, h, c]);
      const w = randomTensor(rng, [k, k, c, o]);
      const dy = randomTensor(rng, [b, oh, oh, o]);
      const run = () => {
        if (part === "forward")
          return readAndDispose(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, "valid"));
        if (part === "input gradient") {
          const out = tf.engine().runKernel("Conv2DBackpropInput", { dy, filter: w }, {
            ...attrs,
            inputShape: [b, h, h, c],
          } as unknown as tf.NamedAttrMap) as tf.Tensor;
          return readAndDispose(out);
        }
        const out = tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, {
          ...attrs,
          filterShape: [k, k, c, o],
        } as unknown as tf.NamedAttrMap) as tf.Tensor;
        return readAndDispose(out);
      };
      return { run, dispose: () => tf.dispose([x, w, dy]) };
    },
  };
}

function trainStepCase(batch: number): KernelCase {
  const spec = mnistCnn;
  return {
    name: `train step ${spec.name}`,
    params: { batch, sgd: PAPER_SGD, dropout: true },
    flop: batch * trainFlopsPerSample(spec),
    formula: FLOP_FORMULA.train,
    skip: ["cpu"],
    setup(rng) {
      const params = toTensors(spec, initParams(spec, rng.fork("init")));
      const velocity = toTensors(spec, initParams(spec, rng.fork("velocity")));
      const x = randomTensor(rng, [batch, ...spec.inputShape]);
      const y = tf.tensor1d(randomLabels(rng, batch, spec.numClasses), "int32");
      const masks = drawMasks(spec, batch, rng.fork("masks")).map((m) =>
        tf.tensor2d(m, [batch, m.length / batch]),
      );
      const run = async () => {
        const s = sgdStep(spec, params, velocity, x, y, masks, PAPER_SGD);
        await readAndDispose([s.loss, ...s.params, ...s.velocity]);
      };
      return { run, dispose: () => tf.dispose([...params, ...velocity, x, y, ...masks]) };
    },
  };
}

/** The engine's probe conv1 for M models: shared patches [B*24*24, 26] times [M, 26, 10]. */
function groupedPatchesCase(M: number, B: number): KernelCase {
  const rows = B * 24 * 24;
  return {
    name: "groupedMatMul probe patches mnist conv1",
    params: { a: [rows, 26], b: [M, 26, 10], models: M, probes: B },
    flop: M * matMulFlops(rows, 26, 10),
    formula: `G*${FLOP_FORMULA.matMul}`,
    skip: ["cpu"],
    setup(rng) {
      const a = randomTensor(rng, [rows, 26]);
      const b = randomTensor(rng, [M, 26, 10]);
      return { run: () => finishAndDispose(groupedMatMul(a, b)), dispose: () => tf.dispose([a, b]) };
    },
  };
}

function groupedConvCase(M: number, B: number): KernelCase {
  return {
    name: "groupedConv2d mnist conv2",
    params: { x: [M * B, 12, 12, 10], w: [M, 5, 5, 10, 20], models: M, probes: B },
    flop: M * conv2dFlops(B, 8, 8, 5, 10, 20),
    formula: `G*${FLOP_FORMULA.conv2d}`,
    skip: ["cpu"],
    setup(rng) {
      const x = randomTensor(rng, [M * B, 12, 12, 10]);
      const w = randomTensor(rng, [M, 5, 5, 10, 20]);
      return { run: () => finishAndDispose(groupedConv2d(x, w)), dispose: () => tf.dispose([x, w]) };
    },
  };
}

function groupedDenseCase(M: number, B: number): KernelCase {
  return {
    name: "groupedMatMul mnist dense1",
    params: { a: [M, B, 320], b: [M, 320, 50], models: M, probes: B },
    flop: M * matMulFlops(B, 320, 50),
    formula: `G*${FLOP_FORMULA.matMul}`,
    skip: ["cpu"],
    setup(rng) {
      const a = randomTensor(rng, [M, B, 320]);
      const b = randomTensor(rng, [M, 320, 50]);
      return { run: () => finishAndDispose(groupedMatMul(a, b)), dispose: () => tf.dispose([a, b]) };
    },
  };
}

/** Forward and both gradients of a grouped conv, as a multi-sample update step runs it. */
function groupedConvGradCase(M: number, B: number): KernelCase {
  return {
    name: "groupedConv2d forward+gradients mnist conv2",
    params: { x: [M * B, 12, 12, 10], w: [M, 5, 5, 10, 20], models: M, batch: B },
    flop: 3 * M * conv2dFlops(B, 8, 8, 5, 10, 20),
    formula: `3*G*${FLOP_FORMULA.conv2d} (forward, input gradient, filter gradient)`,
    skip: ["cpu"],
    setup(rng) {
      const x = randomTensor(rng, [M * B, 12, 12, 10]);
      const w = randomTensor(rng, [M, 5, 5, 10, 20]);
      const dy = randomTensor(rng, [M * B, 8, 8, 20]);
      const f = (xs: tf.Tensor, ws: tf.Tensor) => tf.sum(tf.mul(groupedConv2dTrainable(xs, ws), dy));
      const run = () => finishAndDispose(tf.tidy(() => tf.grads(f)([x, w])));
      return { run, dispose: () => tf.dispose([x, w, dy]) };
    },
  };
}

/** The A_LI attack model (encoder + 10-way head) on 1,000-value deltas. */
function labelAttackMlp(rng: Rng) {
  return createEncoderWithHead(rng, 1000, 10);
}

/** One Adam update of every A_LI parameter, fused (AdamUpdate) or as tensor ops (the reference). */
function adamCase(fused: boolean): KernelCase {
  const shapes = [[1000, 128], [128], [128, 64], [64], [64, 10], [10]];
  const size = shapes.reduce((a, sh) => a + sizeFromShape(sh), 0);
  return {
    name: `adam update A_LI parameters (${fused ? "AdamUpdate kernel" : "tensor-op reference"})`,
    params: { shapes, values: size },
    flop: 14 * size,
    formula: "14 per value (weight decay 0: 2 fma for m, 3 for v, sqrt, 2 div, update)",
    setup(rng) {
      // p, g, m and v (v >= 0, as a second moment is).
      const ts = shapes.map((sh) => [
        randomTensor(rng, sh),
        randomTensor(rng, sh),
        randomTensor(rng, sh),
        tf.tidy(() => tf.abs(randomTensor(rng, sh))),
      ]);
      const attrs = { ...ADAM_DEFAULTS, step: 3 };
      const update = fused ? adamUpdate : adamUpdateReference;
      const run = () => finishAndDispose(ts.flatMap(([p, g, m, v]) => update(p!, g!, m!, v!, attrs)));
      return { run, dispose: () => tf.dispose(ts.flat()) };
    },
  };
}

/**
 * 32 A_LI training steps on batches of B deltas, as trainLabelAttack runs them: the losses are read
 * back once at the end, as its LossTracker does every 32 steps (a read-back and an await after
 * every step let wasm's worker threads fall asleep between steps: 7.9 ms a step on 2 threads).
 */
function labelStepsCase(B: number, steps: number): KernelCase {
  const n = 1024;
  const perStep =
    3 * B * matMulFlops(1, 1000, 128) + 3 * B * matMulFlops(1, 128, 64) + 3 * B * matMulFlops(1, 64, 10);
  return {
    name: `A_LI attack training, ${steps} steps`,
    params: { batch: B, steps, deltaSize: 1000, layers: [128, 64, 10] },
    flop: steps * perStep,
    formula:
      "per step 3 x the forward matMuls (forward, weight and input gradients; the first layer's input gradient is skipped, so slightly less)",
    skip: ["cpu"],
    setup(rng) {
      const mlp = labelAttackMlp(rng.fork("init"));
      const rows = new DeviceRows("bench deltas", rng.normals(n * 1000), n, 1000);
      const labels = randomLabels(rng, n, 10);
      const adam = new AdamStep(mlpParams(mlp), ADAM_DEFAULTS);
      let step = 0;
      const run = async () => {
        const losses: tf.Scalar[] = [];
        for (let i = 0; i < steps; i++) {
          step++;
          const idx = rng.fork("batch", step).sample(n, B);
          const y = Int32Array.from(idx, (r) => labels[r]!);
          const x = rows.take(idx);
          losses.push(
            adam.step(() =>
              softmaxCrossEntropy(mlpForward(mlp, x, trainMode(rng.fork("step", step)), true), y, 10),
            ),
          );
          x.dispose();
        }
        await readAndDispose(losses);
      };
      return {
        run,
        dispose: () => {
          adam.dispose();
          rows.dispose();
          disposeMlp(mlp);
        },
      };
    },
  };
}

/** Suffix of the twin case that runs tfjs-wasm's own kernel instead of the registered one. */
export const PACKAGE_SUFFIX = " (tfjs-wasm's kernel)";

/**
 * A memory-bound kernel at one shape, run as registered (this project's on wasm) and, on wasm,
 * through tfjs-wasm's own kernel too.
 */
function memoryCases(
  name: string,
  kernel: string,
  shapes: Record<string, number[]>,
  attrs: Record<string, unknown>,
): KernelCase[] {
  const make = (viaPackage: boolean): KernelCase => ({
    name: viaPackage ? `${name}${PACKAGE_SUFFIX}` : name,
    params: { kernel, ...shapes, ...attrs },
    ...(viaPackage ? { skip: ["cpu", "webgpu"] } : {}),
    setup(rng) {
      const inputs = Object.fromEntries(Object.entries(shapes).map(([k, s]) => [k, randomTensor(rng, s)]));
      const run = async () => {
        if (!viaPackage) {
          // Not read back: copying up to 37 MB to JavaScript would outweigh the kernel.
          await finishAndDispose(
            tf.engine().runKernel(kernel, inputs, attrs as tf.NamedAttrMap) as tf.Tensor,
          );
          return;
        }
        // tfjs-wasm's kernel, called directly with TensorInfos (synchronous); its output is released.
        const backend = tf.backend() as Parameters<typeof runPackageKernel>[1];
        const out = runPackageKernel(kernel, backend, inputs, attrs as tf.NamedAttrMap);
        backend.disposeData(out.dataId);
      };
      return { run, dispose: () => tf.dispose(Object.values(inputs)) };
    },
  });
  return [make(false), make(true)];
}

/** Chunks: `chunk` single-sample models (the probes' regrouping), `chunkMulti` 100-sample ones. */
function memoryBoundCases(B: number, P: number, chunk: number, chunkMulti: number): KernelCase[] {
  return [
    ...memoryCases(
      `maxPoolGrad mnist conv1, ${2 * B} images (training pair)`,
      "MaxPoolGrad",
      { input: [2 * B, 24, 24, 10], dy: [2 * B, 12, 12, 10], output: [2 * B, 12, 12, 10] },
      { filterSize: [2, 2], strides: [2, 2], pad: "valid" },
    ),
    ...memoryCases(
      `transpose probes' conv1 regrouped, ${chunk} models`,
      "Transpose",
      { x: [P * 12 * 12, chunk, 10] },
      { perm: [1, 0, 2] },
    ),
    ...memoryCases(
      `add bias mnist conv1, ${chunkMulti} models x ${B} images`,
      "Add",
      { a: [chunkMulti, B * 24 * 24, 10], b: [chunkMulti, 1, 10] },
      {},
    ),
    ...memoryCases(
      `sum bias gradient mnist conv1, ${chunkMulti} models x ${B} images`,
      "Sum",
      { x: [chunkMulti, B * 24 * 24, 10] },
      { axis: [1], keepDims: false },
    ),
    ...memoryCases(
      `reverse flipped filters mnist conv2, ${chunkMulti} models`,
      "Reverse",
      { x: [chunkMulti, 25, 20, 10] },
      { dims: [1] },
    ),
  ];
}

/** On each backend, `speedup_vs_package` on a case that has a tfjs-wasm-kernel twin. */
export function addPackageSpeedups(records: BenchRecord[]): void {
  for (const r of records) {
    if (!r.case.endsWith(PACKAGE_SUFFIX) || !r.timing) continue;
    const ours = records.find(
      (o) => o.backend === r.backend && o.case === r.case.slice(0, -PACKAGE_SUFFIX.length),
    );
    if (ours?.timing && ours.timing.medianMs > 0) {
      ours.derived.speedup_vs_package = round4(r.timing.medianMs / ours.timing.medianMs);
    }
  }
}

export function kernelCases(smoke: boolean): KernelCase[] {
  const s = smoke ? SMOKE : FULL;
  const P = s.probes;
  const B = s.batch;
  return [
    ...s.squares.map((n) => matMulCase(`matMul ${n}x${n}x${n}`, n, n, n, n > 512 ? ["cpu"] : undefined)),
    matMulCase("matMul probe patches x filters mnist conv1", P * 24 * 24, 26, 10),
    matMulCase("matMul probe patches x filters cifar10 conv1", P * 28 * 28, 76, 6),
    matMulCase("matMul probes x weights mnist dense1", P, 320, 50),
    matMulCase("matMul batch x weights mnist dense1", B, 320, 50),
    matMulCase("matMul probes x weights cifar10 dense1", P, 1600, 120),
    convCase("mnist conv1", B, 28, 1, 5, 10, "forward"),
    convCase("mnist conv1", B, 28, 1, 5, 10, "filter gradient"),
    convCase("mnist conv2", B, 12, 10, 5, 20, "forward"),
    convCase("mnist conv2", B, 12, 10, 5, 20, "input gradient"),
    convCase("mnist conv2", B, 12, 10, 5, 20, "filter gradient"),
    trainStepCase(B),
    groupedPatchesCase(s.chunk, P),
    groupedConvCase(s.chunk, P),
    groupedDenseCase(s.chunk, P),
    groupedConvGradCase(s.chunkMulti, B),
    adamCase(true),
    adamCase(false),
    labelStepsCase(B, smoke ? 2 : 32),
    ...memoryBoundCases(B, P, s.chunk, s.chunkMulti),
  ];
}

export async function kernelsSuite(ctx: SuiteContext): Promise<BenchRecord[]> {
  const variants = ctx.opts.backends ?? (await kernelVariants(ctx.machine.cores));
  const cases = kernelCases(ctx.opts.smoke);
  const records: BenchRecord[] = [];
  for (const v of variants) {
    if (!(await startVariant(ctx, v, records))) continue;
    const backend = v.backend;
    ctx.log(`kernels on ${v.label}`);
    for (const c of cases) {
      if (c.skip?.includes(backend)) continue;
      const base = {
        case: c.name,
        params: c.params,
        ...(c.flop !== undefined ? { flop: c.flop, formula: c.formula ?? "" } : {}),
      };
      await runCase(
        ctx,
        records,
        `kernels: ${c.name} on ${v.label}`,
        () => base,
        async () => {
          let prepared: Prepared | null = null;
          try {
            prepared = c.setup(new Rng(`bench-kernels-${c.name}`));
            const timing = await measure(prepared.run, ctx.policy);
            records.push(ctx.record({ ...base, timing }));
          } finally {
            prepared?.dispose();
          }
        },
      );
    }
  }
  addSpeedRatios(records);
  addPackageSpeedups(records);
  return records;
}

/** Adds `speed_vs_<label>` (that backend's median time / this one's) against the first timed backend. */
export function addSpeedRatios(records: BenchRecord[]): void {
  const first = records.find((r) => r.timing !== null)?.backend;
  if (first === undefined) return;
  const base = new Map<string, number>();
  for (const r of records) if (r.backend === first && r.timing) base.set(r.case, r.timing.medianMs);
  for (const r of records) {
    const b = base.get(r.case);
    if (b !== undefined && r.timing && r.timing.medianMs > 0) {
      r.derived[`speed_vs_${first}`] = round4(b / r.timing.medianMs);
    }
  }
}
