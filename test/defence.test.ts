/**
 * An output defence in the pipeline changes the generated deltas exactly where it applies:
 * - a defended side's delta is D(p_old) - D(p_new), with p_new the engine's undefended posteriors
 *   of the same updates, D the test's own top-1 / label-only; top-1 leaves one nonzero value per
 *   query, so at most two per probe in the delta;
 * - the engine's posteriors agree with its undefended deltas (p_old - p_new);
 * - `threat: non-adaptive` leaves the shadow side bit for bit undefended; `adaptive` defends it;
 * - noise is the same whatever the engine's chunk (a stream per model);
 * - DP-SGD: the target's deltas are the engine's DP-SGD deltas with the documented noise streams;
 *   a non-adaptive shadow side stays plain;
 * - replay: each target delta is the slow reference update (`referenceDeltas`) on a batch the test
 *   assembles from the documented streams: the new sample and R samples of the original's training
 *   data, in the documented order; the ground truth keeps the new sample only;
 * - several updates: likewise, the U sets in the documented order, one step each (batches of S, the
 *   optimiser's state carried over);
 * - the owner's cost: label-only keeps the accuracy and distorts a posterior by 2 (1 - max p),
 *   top-1 by 1 - max p, computed here from the engine's posteriors; DP-SGD and replay are compared
 *   with the plain update's answers, and DP-SGD that neither clips nor adds noise gives them back.
 * Insta-NY synthetic data and its MLP on the cpu backend: a few seconds.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import {
  checkedConfig,
  drawModels,
  type ExperimentConfig,
  generateSide,
  MemoryShardStore,
  ownerCost,
  sideDefence,
} from "@updates-leak/attacks";
import {
  applyDefence,
  type Defence,
  type DpSgdConfig,
  dpSgdOf,
  initParams,
  instaMlp,
  PAPER_UPDATE,
  type Params,
  Rng,
  referenceDeltas,
  selectBackend,
  tf,
  UpdateEngine,
  type UpdateRule,
} from "@updates-leak/core";
import { type Dataset, loadDataset, makeSplits, type Splits } from "@updates-leak/datasets";
import { quietContext, testConfig } from "./test-config.ts";

const CLASSES = instaMlp.numClasses;
let ds: Dataset;
let splits: Splits;
let probes: Float32Array;
let original: Params;

beforeAll(async () => {
  await selectBackend({ backend: "cpu", quiet: true });
  ds = await loadDataset("insta-ny-synthetic");
  splits = makeSplits(ds, { seed: 5, probeSize: 100 });
  probes = ds.gather(splits.probe.subarray(0, 20)).x;
  original = initParams(instaMlp, new Rng(5).fork("init"));
});
afterAll(async () => {
  await selectBackend({ backend: "cpu", quiet: true });
});

const base = testConfig("label", "insta-ny", {
  seed: 5,
  shadowModels: 30,
  targetModels: 30,
  probeCount: 20,
  shardSize: 10,
  trainEpochs: 1,
  attackEpochs: 1,
  backend: "cpu",
});

const ctx = quietContext();

function engine(dp: DpSgdConfig | null = null): UpdateEngine {
  return new UpdateEngine({ spec: instaMlp, original, probes, update: PAPER_UPDATE, dropout: true, dp });
}

/** A side's deltas [models * probes * classes] under `cfg`. */
async function sideDeltas(cfg: ExperimentConfig, side: "shadow" | "target"): Promise<Float32Array> {
  const store = new MemoryShardStore();
  const e = engine(dpSgdOf(sideDefence(cfg, side)));
  try {
    const models = side === "shadow" ? cfg.shadowModels : cfg.targetModels;
    await generateSide(cfg, side, models, splits[side], ds, e, store, ctx);
    const parts = await Promise.all([0, 1, 2].map((k) => store.read(k)));
    return Float32Array.from(parts.flatMap((s) => Array.from(s.deltas)));
  } finally {
    e.dispose();
  }
}

/** The undefended posteriors of a side's models, from the same draws as generateSide. */
async function sidePosteriors(cfg: ExperimentConfig, side: "shadow" | "target") {
  const e = engine();
  try {
    const drawn = drawModels(new Rng(cfg.seed).fork(side), splits[side].pool, ds, 1, 0, cfg.targetModels);
    return { p0: e.originalPosteriors(), p: await e.posteriors(drawn.sets, drawn.maskRngs, 7) };
  } finally {
    e.dispose();
  }
}

/** The test's own top-1 (keep = value) or label-only (keep = 1) of each row. */
function top1(p: Float32Array, label: boolean): Float32Array {
  const out = new Float32Array(p.length);
  for (let r = 0; r < p.length; r += CLASSES) {
    const row = Array.from(p.subarray(r, r + CLASSES));
    const c = row.indexOf(Math.max(...row));
    out[r + c] = label ? 1 : p[r + c]!;
  }
  return out;
}

describe("an output defence in generation", () => {
  test("defended deltas are D(p_old) - D(p_new) of the undefended posteriors; one value per query", async () => {
    const before = tf.memory().numTensors;
    const undefended = await sideDeltas(base, "target");
    const { p0, p } = await sidePosteriors(base, "target");
    const D = p0.length;
    for (let i = 0; i < p.length; i++)
      expect(Math.abs(p0[i % D]! - p[i]! - undefended[i]!)).toBeLessThan(1e-6);
    for (const [spec, label] of [
      ["topk:1", false],
      ["label", true],
    ] as const) {
      const got = await sideDeltas({ ...base, defence: spec }, "target");
      const old = top1(p0, label);
      const now = top1(p, label);
      expect(Array.from(got)).toEqual(Array.from(Float32Array.from(now, (v, i) => old[i % D]! - v)));
      for (let r = 0; r < got.length; r += CLASSES) {
        const nonzero = got.subarray(r, r + CLASSES).filter((v) => v !== 0).length;
        expect(nonzero).toBeLessThanOrEqual(2);
      }
    }
    // Undefended, a probe's delta has a nonzero value in (almost) every class.
    const dense = Array.from({ length: undefended.length / CLASSES }, (_, r) =>
      undefended.subarray(r * CLASSES, (r + 1) * CLASSES).every((v) => v !== 0),
    );
    expect(dense.filter(Boolean).length).toBeGreaterThan(0.9 * dense.length);
    expect(tf.memory().numTensors).toBe(before);
  });

  test("non-adaptive leaves the shadow side undefended bit for bit; adaptive defends it", async () => {
    const plain = await sideDeltas(base, "shadow");
    const nonAdaptive = await sideDeltas({ ...base, defence: "round:1", threat: "non-adaptive" }, "shadow");
    const adaptive = await sideDeltas({ ...base, defence: "round:1", threat: "adaptive" }, "shadow");
    expect(Array.from(nonAdaptive)).toEqual(Array.from(plain));
    expect(Array.from(adaptive)).not.toEqual(Array.from(plain));
    // round:1 deltas are differences of multiples of 0.1.
    for (const v of adaptive) expect(Math.abs(v * 10 - Math.round(v * 10))).toBeLessThan(1e-5);
  });

  test("noise is drawn per model: the same deltas whatever the chunk, and not the undefended ones", async () => {
    const cfg = { ...base, defence: "noise:0.01" };
    const a = await sideDeltas({ ...cfg, chunkSize: 0 }, "target");
    const b = await sideDeltas({ ...cfg, chunkSize: 3 }, "target");
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(a)).not.toEqual(Array.from(await sideDeltas(base, "target")));
  });
});

describe("a config written by hand", () => {
  test("fields it predates read as their absent values; a bad field is named", () => {
    const { defence: _d, threat: _t, ...old } = base;
    expect(checkedConfig(old as ExperimentConfig)).toEqual(base);
    expect(() => checkedConfig({ ...base, defence: 3 as unknown as string, seed: -1 })).toThrow(
      /^experiment config: seed must be non-negative \(was -1\)\ndefence must be a string/,
    );
  });
});

describe("DP-SGD updates in generation", () => {
  test("target deltas are the engine's DP-SGD deltas, noise from each model's documented stream", async () => {
    const cfg = { ...base, defence: "dpsgd:0.5:1", threat: "non-adaptive" as const };
    const got = await sideDeltas(cfg, "target");
    const e = engine({ clip: 0.5, noiseMultiplier: 1 });
    const drawn = drawModels(
      new Rng(cfg.seed).fork("target"),
      splits.target.pool,
      ds,
      1,
      0,
      cfg.targetModels,
    );
    // Rng(seed).fork(side, "model", i).fork("defence").fork("update"), written out here.
    const noise = Array.from({ length: cfg.targetModels }, (_, i) =>
      new Rng(cfg.seed).fork("target").fork("model", i).fork("defence").fork("update"),
    );
    const want = await e.deltas(drawn.sets, drawn.maskRngs, 4, noise);
    e.dispose();
    expect(Array.from(got)).toEqual(Array.from(want));
    expect(Array.from(got)).not.toEqual(Array.from(await sideDeltas(base, "target")));
    // Non-adaptive: the adversary's shadow updates are plain SGD.
    expect(Array.from(await sideDeltas(cfg, "shadow"))).toEqual(Array.from(await sideDeltas(base, "shadow")));
    // An engine that does not match the side's defence is refused.
    const plain = engine();
    await expect(
      generateSide(cfg, "target", 10, splits.target, ds, plain, new MemoryShardStore(), ctx),
    ).rejects.toThrow("the engine updates with plain SGD, the side's defence (dpsgd:0.5:1) with DP-SGD");
    plain.dispose();
  });
});

/**
 * The slow reference's deltas of target models 0..n-1 updated with the batches `idx` (n batches of
 * `setSize` dataset indices), each with its model's documented mask stream.
 */
async function referenceOfBatches(
  seed: number,
  idx: number[],
  setSize: number,
  update: UpdateRule,
): Promise<Float32Array> {
  const n = idx.length / setSize;
  const g = ds.gather(idx);
  const sets = { count: n, setSize, x: g.x, y: Int32Array.from(g.labels) };
  const masks = Array.from({ length: n }, (_, i) =>
    new Rng(seed).fork("target").fork("model", i).fork("masks"),
  );
  return referenceDeltas({ spec: instaMlp, original, probes, update, dropout: true }, sets, masks);
}

/** max |a[i] - b[i]| over b's length. */
function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < b.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe("replayed training data in the update (replay:R)", () => {
  test("target deltas are the reference update on the new sample mixed with R replayed ones", async () => {
    const R = 3;
    const cfg = { ...base, targetModels: 10, defence: `replay:${R}`, threat: "non-adaptive" as const };
    const store = new MemoryShardStore();
    const e = engine();
    await generateSide(cfg, "target", 10, splits.target, ds, e, store, ctx);
    e.dispose();
    const shard = await store.read(0);
    const train = new Set(splits.target.train);
    const idx: number[] = [];
    for (let i = 0; i < 10; i++) {
      // Rng(seed).fork("target", "model", i): .fork("set") the new sample, .fork("replay") the
      // replayed ones and .fork("replay").fork("order") the batch's order, written out here.
      const model = new Rng(cfg.seed).fork("target").fork("model", i);
      const fresh = splits.target.pool[model.fork("set").sample(splits.target.pool.length, 1)[0]!]!;
      const old = Array.from(
        model.fork("replay").sample(splits.target.train.length, R),
        (k) => splits.target.train[k]!,
      );
      const order = model
        .fork("replay")
        .fork("order")
        .permutation(1 + R);
      const batch = Array.from(order, (o) => (o === 0 ? fresh : old[o - 1]!));
      for (const j of old) expect(train.has(j)).toBe(true);
      expect(batch.filter((j) => j === fresh).length).toBe(1);
      idx.push(...batch);
      // The ground truth is the new sample and its label, not the replayed ones.
      expect([shard.truth[2 * i], shard.truth[2 * i + 1]]).toEqual([fresh, ds.labels[fresh]!]);
    }
    const want = await referenceOfBatches(cfg.seed, idx, 1 + R, PAPER_UPDATE);
    const worst = maxAbsDiff(shard.deltas, want);
    expect(worst).toBeLessThan(1e-6);
    const plain = (await sideDeltas(base, "target")).subarray(0, want.length);
    expect(maxAbsDiff(shard.deltas, plain)).toBeGreaterThan(100 * worst);
    // Non-adaptive: the adversary's shadow updates are not mixed.
    expect(Array.from(await sideDeltas(cfg, "shadow"))).toEqual(Array.from(await sideDeltas(base, "shadow")));
  });
});

describe("several updates between the two queries (updates:U)", () => {
  test("target deltas are the reference's U steps on the new set and U - 1 others, in the documented order", async () => {
    const U = 4;
    const S = 2;
    const cfg = {
      ...base,
      setSize: S,
      targetModels: 10,
      defence: `updates:${U}`,
      threat: "non-adaptive" as const,
    };
    const rule = { ...PAPER_UPDATE, batchSize: S };
    const store = new MemoryShardStore();
    const e = new UpdateEngine({ spec: instaMlp, original, probes, update: rule, dropout: true });
    await generateSide(cfg, "target", 10, splits.target, ds, e, store, ctx);
    e.dispose();
    const shard = await store.read(0);
    const pool = splits.target.pool;
    const idx: number[] = [];
    const places = new Set<number>();
    for (let i = 0; i < 10; i++) {
      // Rng(seed).fork("target", "model", i): .fork("set") the new set, .fork("updates").int(U) its
      // place, .fork("updates").fork("set", k) the k-th other update's set, written out here.
      const model = new Rng(cfg.seed).fork("target").fork("model", i);
      const fresh = Array.from(model.fork("set").sample(pool.length, S), (p) => pool[p]!);
      const u = model.fork("updates");
      const place = u.int(U);
      places.add(place);
      let other = 0;
      for (let k = 0; k < U; k++) {
        idx.push(
          ...(k === place
            ? fresh
            : Array.from(u.fork("set", other++).sample(pool.length, S), (p) => pool[p]!)),
        );
      }
      expect(Array.from(shard.truth.subarray(2 * S * i, 2 * S * i + S))).toEqual(fresh);
    }
    expect(places.size).toBeGreaterThan(1);
    const want = await referenceOfBatches(cfg.seed, idx, U * S, rule);
    expect(maxAbsDiff(shard.deltas, want)).toBeLessThan(1e-6);
    // An engine in the paper's batches of 64 is refused: each update is one step on its set.
    const paper = engine();
    await expect(
      generateSide(cfg, "target", 10, splits.target, ds, paper, new MemoryShardStore(), ctx),
    ).rejects.toThrow("the engine updates in batches of 64, the side's defence (updates:4) in batches of 2");
    paper.dispose();
  });
});

describe("the owner's cost of a defence", () => {
  test("label-only: same accuracy, distortion 2 (1 - max p); top-1: distortion 1 - max p", async () => {
    const heldOut = splits.shadow.pool;
    const sizes = { models: 6, heldOut: 50 };
    const e = new UpdateEngine({
      spec: instaMlp,
      original,
      probes: ds.gather(heldOut.subarray(0, 50)).x,
      update: PAPER_UPDATE,
      dropout: true,
    });
    const drawn = drawModels(new Rng(base.seed).fork("target"), splits.target.pool, ds, 1, 0, 6);
    const p = await e.posteriors(drawn.sets, drawn.maskRngs);
    e.dispose();
    const labels = ds.gather(heldOut.subarray(0, 50)).labels;
    let maxSum = 0;
    let right = 0;
    for (let r = 0; r < p.length; r += CLASSES) {
      const row = Array.from(p.subarray(r, r + CLASSES));
      maxSum += Math.max(...row);
      if (row.indexOf(Math.max(...row)) === labels[(r / CLASSES) % 50]) right++;
    }
    const queries = p.length / CLASSES;
    const cfg = { ...base, defence: "label" };
    const cost = (defence: Defence) =>
      ownerCost(cfg, instaMlp, original, defence, splits.target, heldOut, ds, sizes);
    const label = await cost([{ kind: "label" }]);
    expect(label.models).toBe(6);
    expect(label.heldOut).toBe(50);
    expect(label.accuracy).toBeCloseTo(right / queries, 12);
    expect(label.accuracyUndefended).toBeCloseTo(right / queries, 12);
    expect(label.distortionL1).toBeCloseTo(2 * (1 - maxSum / queries), 5);
    const top = await cost([{ kind: "topk", k: 1 }]);
    expect(top.distortionL1).toBeCloseTo(1 - maxSum / queries, 5);
    // DP-SGD changes the model, not the answer's form: compared with the plain update's answers.
    const dp = await cost([{ kind: "dpsgd", clip: 0.5, noiseMultiplier: 2 }]);
    expect(dp.accuracyUndefended).toBeCloseTo(right / queries, 12);
    expect(dp.distortionL1).toBeGreaterThan(1e-4);
    // DP-SGD that never clips and adds no noise is the plain update: the same sets and dropout masks.
    const loose = await cost([{ kind: "dpsgd", clip: 1e9, noiseMultiplier: 0 }]);
    expect(loose.distortionL1).toBeLessThan(1e-5);
    expect(loose.accuracy).toBeCloseTo(right / queries, 12);
    const replay = await cost([{ kind: "replay", count: 63 }]);
    expect(replay.accuracyUndefended).toBeCloseTo(right / queries, 12);
    expect(replay.distortionL1).toBeGreaterThan(1e-4);
    const several = await cost([{ kind: "updates", count: 3 }]);
    expect(several.accuracyUndefended).toBeCloseTo(right / queries, 12);
    expect(several.distortionL1).toBeGreaterThan(1e-4);
    // Noisy answers: model j's noise comes from its stream .fork("defence").fork("owner-cost"),
    // apart from the noise the attack's own queries get (.fork("defence")).
    const noise: Defence = [{ kind: "noise", sigma: 0.05 }];
    const perModel = 50 * CLASSES;
    let l1 = 0;
    let noisyRight = 0;
    for (let j = 0; j < 6; j++) {
      const own = p.subarray(j * perModel, (j + 1) * perModel);
      const shown = applyDefence(noise, own.slice(), CLASSES, drawn.defenceRngs[j]!.fork("owner-cost"));
      for (let r = 0; r < perModel; r += CLASSES) {
        const row = Array.from(shown.subarray(r, r + CLASSES));
        if (row.indexOf(Math.max(...row)) === labels[r / CLASSES]) noisyRight++;
        for (let c = 0; c < CLASSES; c++) l1 += Math.abs(shown[r + c]! - own[r + c]!);
      }
    }
    const noisy = await cost(noise);
    expect(noisy.accuracy).toBeCloseTo(noisyRight / queries, 12);
    expect(noisy.distortionL1).toBeCloseTo(l1 / queries, 5);
    expect(noisy.distortionL1).toBeGreaterThan(1e-3);
  });
});
