/**
 * A smoke-sized A_LI (single-sample label inference, Salem et al. 2020) on MNIST, with the
 * packages' own code: a target and a shadow copy of the paper's MNIST CNN trained together
 * (`trainModels`, the paper's SGD) on disjoint slices of the training set, 100 fixed probes, the
 * shadow model's single-sample updates (`UpdateEngine`, the paper's update rule) labelled for the
 * attack (`trainLabelAttack`), then the attack scored on the target model's updates, whose labels
 * it never saw, against the random baseline 1/10. No DOM here: the page (main.ts) shows progress
 * through `onProgress`; Bun can run it too.
 */
import { trainLabelAttack } from "@updates-leak/attacks";
import {
  type BackendReport,
  initParams,
  mnistCnn,
  PAPER_SGD,
  PAPER_UPDATE,
  type Params,
  Rng,
  UpdateEngine,
} from "@updates-leak/core";
import { trainModels } from "@updates-leak/core/internal";
import type { Dataset } from "../packages/datasets/src/types.ts";

/** Sizes and seeds of the run (config.json). */
export interface SmokeConfig {
  seed: string;
  /** Training samples of each of the target and the shadow model (disjoint slices). */
  trainSamples: number;
  trainEpochs: number;
  probes: number;
  /** Shadow single-sample updates the attack trains on. */
  shadowUpdates: number;
  /** Target single-sample updates the attack is scored on. */
  targetUpdates: number;
  attackEpochs: number;
  /** Dropout during the single-sample updates (the paper: on). */
  dropout: boolean;
  /** Updates per engine call (the page repaints between calls). */
  chunk: number;
}

export const SMOKE_DEFAULTS: SmokeConfig = {
  seed: "browser-smoke",
  trainSamples: 2000,
  trainEpochs: 2,
  probes: 100,
  shadowUpdates: 300,
  targetUpdates: 100,
  attackEpochs: 20,
  dropout: true,
  chunk: 50,
};

/** Where the run is: a stage name, its step and the fraction of the whole run done. */
export interface Progress {
  stage: "train models" | "shadow updates" | "train attack" | "target updates" | "score";
  detail: string;
  fraction: number;
}

/** The result (result.json). */
export interface SmokeResult {
  attack: "label";
  dataset: "mnist";
  metric: "accuracy";
  value: number;
  baselines: { random: number };
  counts: Record<string, number>;
  seconds: Record<string, number>;
  backend: string;
  threads: number;
  /** Which samples of the 70,000 (training then test images) each part used, [start, end). */
  rows: Record<string, [number, number]>;
}

/** Rows [start, start + n) of the data set: normalised samples and integer labels. */
function rows(data: Dataset, start: number, n: number): { x: Float32Array; y: Int32Array } {
  if (start + n > data.count) {
    throw new Error(`the run needs samples ${start}..${start + n - 1}, but MNIST holds only ${data.count}`);
  }
  const g = data.gather(Array.from({ length: n }, (_, i) => start + i));
  return { x: g.x, y: Int32Array.from(g.labels) };
}

/** The row ranges of each part: training slices, probes and shadow updates from the training set, target updates from the test set. */
export function rowPlan(cfg: SmokeConfig, trainCount: number): Record<string, [number, number]> {
  const n = cfg.trainSamples;
  const plan: Record<string, [number, number]> = {
    targetTrain: [0, n],
    shadowTrain: [n, 2 * n],
    probes: [2 * n, 2 * n + cfg.probes],
    shadowUpdates: [2 * n + cfg.probes, 2 * n + cfg.probes + cfg.shadowUpdates],
    targetUpdates: [trainCount, trainCount + cfg.targetUpdates],
  };
  if (plan.shadowUpdates![1] > trainCount) {
    throw new Error(
      `the run needs ${plan.shadowUpdates![1]} training images, MNIST's training file holds ${trainCount}`,
    );
  }
  return plan;
}

const yieldToPage = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** Deltas of `count` single-sample updates of `params`, in chunks, reporting after each. */
async function updateDeltas(
  params: Params,
  probes: Float32Array,
  sets: { x: Float32Array; y: Int32Array },
  cfg: SmokeConfig,
  report: (done: number) => void,
): Promise<{ deltas: Float32Array; width: number }> {
  const engine = new UpdateEngine({
    spec: mnistCnn,
    original: params,
    probes,
    update: PAPER_UPDATE,
    dropout: cfg.dropout,
  });
  const count = sets.y.length;
  const width = engine.deltaSize;
  const out = new Float32Array(count * width);
  const rng = new Rng(cfg.seed).fork("update-masks");
  try {
    for (let start = 0; start < count; start += cfg.chunk) {
      const m = Math.min(cfg.chunk, count - start);
      const x = sets.x.subarray(start * 784, (start + m) * 784);
      const y = sets.y.subarray(start, start + m);
      const masks = cfg.dropout ? Array.from({ length: m }, (_, i) => rng.fork(start + i)) : null;
      out.set(await engine.deltas({ count: m, setSize: 1, x, y }, masks), start * width);
      report(start + m);
      await yieldToPage();
    }
  } finally {
    engine.dispose();
  }
  return { deltas: out, width };
}

/** Share of the whole run each stage stands for, for the progress bar. */
const WEIGHTS = { train: 0.4, shadow: 0.35, attack: 0.1, target: 0.15 };

/** Trains the target (0) and the shadow (1) model together on their slices; returns their parameters. */
async function trainPair(
  slices: { x: Float32Array; y: Int32Array }[],
  cfg: SmokeConfig,
  root: Rng,
  onProgress: (p: Progress) => void,
): Promise<Params[]> {
  onProgress({ stage: "train models", detail: `epoch 0 of ${cfg.trainEpochs}`, fraction: 0 });
  await yieldToPage();
  const jobs = slices.map(({ x, y }, i) => ({
    init: initParams(mnistCnn, root.fork("init", i)),
    data: { x, y, n: y.length },
    rng: root.fork("train", i),
  }));
  return trainModels(mnistCnn, jobs, { ...PAPER_SGD, epochs: cfg.trainEpochs }, (m, p) => {
    if (m === 1) {
      const detail = `epoch ${p.epoch} of ${p.epochs}, mean loss ${p.meanLoss.toFixed(3)}`;
      onProgress({ stage: "train models", detail, fraction: (WEIGHTS.train * p.epoch) / p.epochs });
    }
  });
}

/** Stage timings in seconds, each from the previous mark. */
function stopwatch(): { seconds: Record<string, number>; lap(name: string): void; total(): void } {
  const seconds: Record<string, number> = {};
  const t0 = performance.now();
  let mark = t0;
  return {
    seconds,
    lap(name) {
      const now = performance.now();
      seconds[name] = (now - mark) / 1000;
      mark = now;
    },
    total() {
      seconds.total = (performance.now() - t0) / 1000;
    },
  };
}

/** Runs the smoke A_LI on `data` (MNIST, 60,000 training then 10,000 test images) on the active backend. */
export async function runLabelSmoke(
  data: Dataset,
  trainCount: number,
  cfg: SmokeConfig,
  backend: BackendReport,
  onProgress: (p: Progress) => void,
): Promise<SmokeResult> {
  const plan = rowPlan(cfg, trainCount);
  const root = new Rng(cfg.seed);
  const clock = stopwatch();
  const part = (name: string) => rows(data, plan[name]![0], plan[name]![1] - plan[name]![0]);

  const [target, shadow] = await trainPair([part("targetTrain"), part("shadowTrain")], cfg, root, onProgress);
  clock.lap("trainModels");

  const probes = part("probes").x;
  const shadowSets = part("shadowUpdates");
  const shadowD = await updateDeltas(shadow!, probes, shadowSets, cfg, (done) =>
    onProgress({
      stage: "shadow updates",
      detail: `${done} of ${cfg.shadowUpdates}`,
      fraction: WEIGHTS.train + (WEIGHTS.shadow * done) / cfg.shadowUpdates,
    }),
  );
  clock.lap("shadowUpdates");

  const attackStart = WEIGHTS.train + WEIGHTS.shadow;
  onProgress({ stage: "train attack", detail: `${cfg.attackEpochs} epochs`, fraction: attackStart });
  await yieldToPage();
  const attack = trainLabelAttack(
    shadowD.deltas,
    shadowSets.y,
    cfg.shadowUpdates,
    shadowD.width,
    10,
    root.fork("attack"),
    {
      epochs: cfg.attackEpochs,
    },
  );
  clock.lap("trainAttack");

  try {
    const targetSets = part("targetUpdates");
    const targetD = await updateDeltas(target!, probes, targetSets, cfg, (done) =>
      onProgress({
        stage: "target updates",
        detail: `${done} of ${cfg.targetUpdates}`,
        fraction: attackStart + WEIGHTS.attack + (WEIGHTS.target * done) / cfg.targetUpdates,
      }),
    );
    clock.lap("targetUpdates");
    onProgress({ stage: "score", detail: "predicting labels", fraction: 0.99 });
    const guess = attack.predict(targetD.deltas, cfg.targetUpdates);
    let hits = 0;
    for (let i = 0; i < guess.length; i++) if (guess[i] === targetSets.y[i]) hits++;
    clock.lap("score");
    clock.total();
    return {
      attack: "label",
      dataset: "mnist",
      metric: "accuracy",
      value: hits / cfg.targetUpdates,
      baselines: { random: 0.1 },
      counts: {
        trainSamplesPerModel: cfg.trainSamples,
        probes: cfg.probes,
        shadowUpdates: cfg.shadowUpdates,
        targetUpdates: cfg.targetUpdates,
        correct: hits,
      },
      seconds: clock.seconds,
      backend: backend.backend,
      threads: backend.threads,
      rows: plan,
    };
  } finally {
    attack.dispose();
  }
}
