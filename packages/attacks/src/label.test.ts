import { beforeAll, describe, expect, test } from "bun:test";
import { Rng, selectBackend, tf } from "@updates-leak/core";
import { classFrequencies, randomLabels } from "./baselines.ts";
import { trainLabelAttack } from "./label.ts";
import { accuracy } from "./metrics.ts";
import { linearDeltas, oneHot } from "./testData.ts";

beforeAll(async () => {
  await selectBackend({ backend: "wasm", quiet: true });
});

const classes = 5;
const nTrain = 640;
const nTest = 200;
const deltaSize = 60;

function data(scale: number) {
  const rng = new Rng(42);
  const labels = new Int32Array(nTrain + nTest);
  for (let i = 0; i < labels.length; i++) labels[i] = rng.int(classes);
  const { deltas } = linearDeltas(7, oneHot(labels, classes), labels.length, classes, deltaSize, scale, 0.3);
  return {
    train: deltas.subarray(0, nTrain * deltaSize),
    test: deltas.subarray(nTrain * deltaSize),
    yTrain: labels.subarray(0, nTrain),
    yTest: labels.subarray(nTrain),
  };
}

describe("A_LI", () => {
  test("learns labels from linear deltas at the 1e-3 scale, beats Random, no leak", () => {
    const before = tf.memory().numTensors;
    const d = data(1e-3);
    const atk = trainLabelAttack(d.train, d.yTrain, nTrain, deltaSize, classes, new Rng(1), { epochs: 8 });
    const pred = atk.predict(d.test, nTest);
    const acc = accuracy(pred, d.yTest);
    const proba = atk.predictProba(d.test.subarray(0, 3 * deltaSize), 3);
    for (let i = 0; i < 3; i++) {
      const row = proba.subarray(i * classes, (i + 1) * classes);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
    expect(atk.history.epochLosses.length).toBe(8);
    expect(atk.history.epochLosses.at(-1)).toBeLessThan(atk.history.epochLosses[0] as number);
    atk.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const base = accuracy(randomLabels(new Rng(3), nTest, classes), d.yTest);
    console.log(`A_LI synthetic: accuracy ${acc}, Random ${base}`);
    expect(acc).toBeGreaterThan(0.9);
    expect(base).toBeLessThan(0.4);
  });

  test("same seed, same predictions", () => {
    const d = data(1);
    const run = () => {
      const atk = trainLabelAttack(d.train, d.yTrain, nTrain, deltaSize, classes, new Rng(5), {
        epochs: 2,
        preprocessing: "none",
      });
      const p = atk.predictProba(d.test, nTest);
      atk.dispose();
      return p;
    };
    expect(run()).toEqual(run());
  });

  test("Random baseline draws from class frequencies when given", () => {
    const freqs = [0.7, 0.2, 0.1];
    const l = randomLabels(new Rng(4), 5000, 3, freqs);
    const f = classFrequencies(l, 3);
    for (let c = 0; c < 3; c++) expect(Math.abs((f[c] as number) - (freqs[c] as number))).toBeLessThan(0.02);
    expect(() => trainLabelAttack(new Float32Array(4), new Int32Array([0, 9]), 2, 2, 3, new Rng(1))).toThrow(
      "labels[1] = 9",
    );
  });
});
