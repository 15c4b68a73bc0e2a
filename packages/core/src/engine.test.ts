import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { relativeError } from "./backend/compare.ts";
import { availableBackends, selectBackend } from "./backend/select.ts";
import { bytesPerModel, randomUpdateSets, referenceDeltas, UpdateEngine } from "./engine.ts";
import { cifarCnn, initParams, instaMlp, type ModelSpec, mnistCnn } from "./models/spec.ts";
import { regroupAtDropout } from "./models/test-specs.ts";
import { convPoolInferenceFusable } from "./ops/conv-pool-inference.ts";
import { Rng } from "./random.ts";
import { sizeFromShape } from "./shape.ts";
import { tf } from "./tf.ts";
import { PAPER_UPDATE } from "./update-rule.ts";

/**
 * Small CNNs whose first conv is followed by other layers than the paper models' pool and ReLU:
 * the probes' first layer keeps the models in the channel axis and regroups them model-major at
 * the first other layer (here a dropout2d, or a flatten). A wrong regrouping fails these too.
 */
const regroupAtFlatten: ModelSpec = {
  name: "test-cnn-conv-relu-flatten",
  inputShape: [9, 9, 1],
  numClasses: 3,
  layers: [
    { kind: "conv", in: 1, out: 5, k: 4 },
    { kind: "relu" },
    { kind: "flatten" },
    { kind: "dense", in: 180, out: 3 },
  ],
};

const CASES: [ModelSpec, number, number][] = [
  [regroupAtDropout, 1, 5],
  [regroupAtDropout, 100, 2],
  [regroupAtFlatten, 1, 5],
  [mnistCnn, 1, 6],
  [mnistCnn, 100, 2],
  [cifarCnn, 1, 4],
  [cifarCnn, 100, 2],
  [instaMlp, 1, 8],
  [instaMlp, 100, 3],
];

setDefaultTimeout(300_000);
const backends = await availableBackends();

describe.each(backends)("engine vs reference on %s", (backend) => {
  beforeAll(async () => {
    await selectBackend({ backend, quiet: true, allowSoftware: true });
  });
  afterAll(async () => {
    await selectBackend({ backend: "cpu", quiet: true });
  });

  for (const [spec, setSize, count] of CASES) {
    for (const dropout of [false, true]) {
      test(`${spec.name}, ${setSize}-sample sets, dropout ${dropout ? "on (same masks)" : "off"}`, async () => {
        const rng = new Rng(`${spec.name}-${setSize}-${dropout}-${backend}`);
        const nProbes = 12;
        const size = sizeFromShape(spec.inputShape);
        const opts = {
          spec,
          original: initParams(spec, rng.fork("init")),
          probes: rng.fork("probes").normals(nProbes * size),
          // A larger learning rate than the paper's makes the deltas large enough to compare.
          update: { ...PAPER_UPDATE, lr: 0.05 },
          dropout,
        };
        const sets = randomUpdateSets(spec, count, setSize, rng.fork("sets"));
        const masks = () => Array.from({ length: count }, (_, m) => rng.fork("masks", m));
        const before = tf.memory().numTensors;
        const ref = await referenceDeltas(opts, sets, masks());
        const engine = new UpdateEngine(opts);
        const got = await engine.deltas(sets, masks());
        engine.dispose();
        expect(tf.memory().numTensors).toBe(before);
        expect(got.length).toBe(count * nProbes * spec.numClasses);
        expect(Math.max(...ref.map(Math.abs))).toBeGreaterThan(1e-4); // the update moved something
        expect(relativeError(got, ref)).toBeLessThanOrEqual(1e-4);
      });
    }
  }
});

describe.each(backends)("DP-SGD updates: engine vs reference on %s", (backend) => {
  beforeAll(async () => {
    await selectBackend({ backend, quiet: true, allowSoftware: true });
  });
  afterAll(async () => {
    await selectBackend({ backend: "cpu", quiet: true });
  });

  // z = 0: clipping alone (C small enough that every gradient is clipped); z = 1: clipping and noise.
  for (const spec of [regroupAtDropout, mnistCnn, instaMlp]) {
    for (const noiseMultiplier of [0, 1]) {
      test(`${spec.name}, clip 0.05, noise multiplier ${noiseMultiplier}`, async () => {
        const rng = new Rng(`dp-${spec.name}-${noiseMultiplier}-${backend}`);
        const count = 5;
        const nProbes = 12;
        const opts = {
          spec,
          original: initParams(spec, rng.fork("init")),
          probes: rng.fork("probes").normals(nProbes * sizeFromShape(spec.inputShape)),
          update: { ...PAPER_UPDATE, lr: 0.05 },
          dropout: true,
          dp: { clip: 0.05, noiseMultiplier },
        };
        const sets = randomUpdateSets(spec, count, 1, rng.fork("sets"));
        const streams = (key: string) => Array.from({ length: count }, (_, m) => rng.fork(key, m));
        const before = tf.memory().numTensors;
        const ref = await referenceDeltas(opts, sets, streams("masks"), streams("noise"));
        const engine = new UpdateEngine(opts);
        const got = await engine.deltas(sets, streams("masks"), 2, streams("noise"));
        const plain = new UpdateEngine({ ...opts, dp: null });
        const undefended = await plain.deltas(sets, streams("masks"));
        engine.dispose();
        plain.dispose();
        expect(tf.memory().numTensors).toBe(before);
        expect(Math.max(...ref.map(Math.abs))).toBeGreaterThan(1e-5);
        expect(relativeError(got, ref)).toBeLessThanOrEqual(1e-4);
        // Clipping to 0.05 shrinks the update: the undefended deltas are larger.
        if (noiseMultiplier === 0) {
          const norm = (a: Float32Array) => Math.sqrt(a.reduce((t, v) => t + v * v, 0));
          expect(norm(undefended)).toBeGreaterThan(1.5 * norm(got));
        }
      });
    }
  }

  test("DP-SGD needs noise streams and single-sample sets", async () => {
    const spec = instaMlp;
    const rng = new Rng("dp-errors");
    const engine = new UpdateEngine({
      spec,
      original: initParams(spec, rng.fork("init")),
      probes: rng.fork("probes").normals(3 * sizeFromShape(spec.inputShape)),
      update: PAPER_UPDATE,
      dropout: false,
      dp: { clip: 1, noiseMultiplier: 1 },
    });
    await expect(engine.deltas(randomUpdateSets(spec, 2, 1, rng), null)).rejects.toThrow(
      "DP-SGD is on, so 2 noise generators are needed",
    );
    await expect(engine.deltas(randomUpdateSets(spec, 2, 3, rng), null, 2, [rng, rng])).rejects.toThrow(
      "DP-SGD updates are implemented for one step on one sample (set size 1, 1 epoch), not set size 3 over 1 epoch(s)",
    );
    engine.dispose();
  });
});

describe.each(backends)("engine memory on %s", (backend) => {
  beforeAll(async () => {
    await selectBackend({ backend, quiet: true, allowSoftware: true });
  });
  afterAll(async () => {
    await selectBackend({ backend: "cpu", quiet: true });
  });

  for (const [spec, setSize, count, withDp] of [
    [instaMlp, 1, 1000, false],
    [instaMlp, 100, 64, false],
    // The fused probe conv blocks on wasm: the tighter bound holds.
    [mnistCnn, 1, 16, false],
    [mnistCnn, 1, 16, true],
  ] as const) {
    const what = `${count} ${setSize}-sample ${withDp ? "DP-SGD " : ""}updates`;
    test(`${spec.name}, ${what} leak nothing; peak memory follows the chunk, not the count`, async () => {
      const rng = new Rng(`memory-${backend}-${spec.name}-${setSize}-${withDp}`);
      const size = sizeFromShape(spec.inputShape);
      const nProbes = 100;
      const per = bytesPerModel(
        spec,
        setSize,
        nProbes,
        PAPER_UPDATE.batchSize,
        convPoolInferenceFusable(),
        withDp,
      );
      const chunk = 8;
      const opts = {
        spec,
        original: initParams(spec, rng.fork("init")),
        probes: rng.fork("probes").normals(nProbes * size),
        update: PAPER_UPDATE,
        dropout: true,
        memoryBudget: chunk * per,
        dp: withDp ? { clip: 1, noiseMultiplier: 1 } : null,
      };
      const sets = randomUpdateSets(spec, count, setSize, rng.fork("sets"));
      const streams = (key: string) => (n: number) => Array.from({ length: n }, (_, m) => rng.fork(key, m));
      const masks = streams("masks");
      const noise = (n: number) => (withDp ? streams("noise")(n) : null);
      const engine = new UpdateEngine(opts);
      expect(engine.chunkSize(setSize)).toBe(chunk);
      const before = tf.memory().numTensors;
      const base = tf.memory().numBytes;
      let all: Float32Array = new Float32Array(0);
      const big = await tf.profile(async () => {
        all = await engine.deltas(sets, masks(count), undefined, noise(count));
      });
      expect(tf.memory().numTensors).toBe(before);
      const first = { ...sets, count: chunk, x: sets.x.subarray(0, chunk * setSize * size) };
      let one: Float32Array = new Float32Array(0);
      const small = await tf.profile(async () => {
        one = await engine.deltas(
          { ...first, y: sets.y.subarray(0, chunk * setSize) },
          masks(chunk),
          undefined,
          noise(chunk),
        );
      });
      engine.dispose();
      // The same models give the same deltas whatever else shares their call.
      expect(all.subarray(0, one.length)).toEqual(one);
      // Peak over `count` models = peak over one chunk; both within the bytesPerModel bound.
      expect(big.peakBytes - base).toBeLessThanOrEqual((small.peakBytes - base) * 1.01);
      expect(small.peakBytes - base).toBeLessThanOrEqual(chunk * per);
    });
  }
});
