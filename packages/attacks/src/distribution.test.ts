import { beforeAll, describe, expect, test } from "bun:test";
import { Rng, selectBackend, tf } from "@updates-leak/core";
import { drawCategorical, randomHistograms, repeatHistogram } from "./baselines.ts";
import { klDivLoss, trainDistributionAttack } from "./distribution.ts";
import { klPerRow, meanStd, topLabelAgreement } from "./metrics.ts";
import { linearDeltas } from "./testData.ts";

beforeAll(async () => {
  await selectBackend({ backend: "wasm", quiet: true });
});

const classes = 6;

/** Histograms of 100 labels drawn from per-set skewed class weights. */
function histograms(seed: number, n: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n * classes);
  const w = new Float64Array(classes);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < classes; c++) w[c] = Math.exp(1.5 * rng.normal());
    for (let k = 0; k < 100; k++) {
      const c = drawCategorical(rng, w);
      out[i * classes + c] = (out[i * classes + c] as number) + 0.01;
    }
  }
  return out;
}

describe("A_LDE", () => {
  test("klDivLoss equals the plain per-set KL averaged over the batch, zeros in p included", () => {
    const before = tf.memory().numTensors;
    const p = new Float32Array([0.5, 0.5, 0, 0.1, 0.2, 0.7]);
    const logits = new Float32Array([1, 2, 3, -1, 0, 4]);
    const q = new Float32Array(6);
    for (let r = 0; r < 2; r++) {
      const z = [0, 1, 2].reduce((s, c) => s + Math.exp(logits[r * 3 + c] as number), 0);
      for (let c = 0; c < 3; c++) q[r * 3 + c] = Math.exp(logits[r * 3 + c] as number) / z;
    }
    const ref = meanStd(klPerRow(p, q, 2, 3)).mean;
    const got = tf.tidy(() => klDivLoss(tf.tensor2d(p, [2, 3]), tf.tensor2d(logits, [2, 3])).dataSync()[0]);
    expect(got).toBeCloseTo(ref, 5);
    expect(tf.memory().numTensors).toBe(before);
  });

  test("estimates label histograms from linear deltas far better than the random and prior baselines", () => {
    const before = tf.memory().numTensors;
    const nTrain = 768;
    const nTest = 200;
    const h = histograms(1, nTrain + nTest);
    const { deltas, deltaSize } = linearDeltas(2, h, nTrain + nTest, classes, 60, 1e-3, 0.05);
    const atk = trainDistributionAttack(
      deltas.subarray(0, nTrain * deltaSize),
      h.subarray(0, nTrain * classes),
      nTrain,
      deltaSize,
      classes,
      new Rng(3),
      { epochs: 15, preprocessing: "standardize" },
    );
    const truth = h.subarray(nTrain * classes);
    const q = atk.predict(deltas.subarray(nTrain * deltaSize), nTest);
    const kl = meanStd(klPerRow(truth, q, nTest, classes)).mean;
    const rand = randomHistograms(new Rng(4), nTest, classes);
    const klRandom = meanStd(klPerRow(truth, rand, nTest, classes)).mean;
    const prior = new Float64Array(classes);
    for (let i = 0; i < nTrain; i++)
      for (let c = 0; c < classes; c++)
        prior[c] = (prior[c] as number) + (h[i * classes + c] as number) / nTrain;
    const klPrior = meanStd(klPerRow(truth, repeatHistogram(prior, nTest), nTest, classes)).mean;
    const top = topLabelAgreement(truth, q, nTest, classes);
    const topRandom = topLabelAgreement(truth, rand, nTest, classes);
    console.log(
      `A_LDE synthetic: KL ${kl.toFixed(4)} (random ${klRandom.toFixed(4)}, prior ${klPrior.toFixed(4)}); top label ${top} (random ${topRandom})`,
    );
    expect(kl).toBeLessThan(0.25 * klPrior);
    expect(klPrior).toBeLessThan(klRandom);
    expect(top).toBeGreaterThan(0.8);
    expect(topRandom).toBeLessThan(0.4);
    atk.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test("random histogram baselines are distributions; bad targets are named", () => {
    for (const kind of ["dirichlet", "uniformSet"] as const) {
      const r = randomHistograms(new Rng(5), 50, 4, kind, 100);
      for (let i = 0; i < 50; i++)
        expect(r.subarray(i * 4, i * 4 + 4).reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
    expect(() =>
      trainDistributionAttack(new Float32Array(2), new Float32Array([0.5, 0.2]), 1, 2, 2, new Rng(1)),
    ).toThrow("row 0 sums to");
  });
});
