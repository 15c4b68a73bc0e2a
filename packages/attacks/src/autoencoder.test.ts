import { beforeAll, describe, expect, test } from "bun:test";
import { Rng, selectBackend, tf } from "@updates-leak/core";
import { autoencode, autoencoderState, restoreAutoencoder, trainAutoencoder } from "./autoencoder.ts";
import { mse } from "./metrics.ts";
import { clusteredSamples } from "./testData.ts";

beforeAll(async () => {
  await selectBackend({ backend: "wasm", quiet: true });
});

describe("autoencoder", () => {
  test("reconstructs structured [0,1] samples far better than the mean sample, output in [0,1], no leak", () => {
    const before = tf.memory().numTensors;
    const d = 48;
    const { samples } = clusteredSamples(3, 800, d, 4);
    const train = samples.subarray(0, 600 * d);
    const test = samples.subarray(600 * d);
    const ae = trainAutoencoder(train, 600, d, new Rng(1), { hidden: [64], latent: 8, epochs: 15 });
    const rec = autoencode(ae, test, 200);
    const mean = new Float32Array(d);
    for (let i = 0; i < 600; i++)
      for (let j = 0; j < d; j++) mean[j] = (mean[j] as number) + (train[i * d + j] as number) / 600;
    const meanRows = new Float32Array(200 * d);
    for (let i = 0; i < 200; i++) meanRows.set(mean, i * d);
    const aeMse = mse(rec, test);
    const meanMse = mse(meanRows, test);
    console.log(`AE synthetic: oracle MSE ${aeMse.toFixed(5)}, mean-sample MSE ${meanMse.toFixed(5)}`);
    expect(aeMse).toBeLessThan(0.25 * meanMse);
    for (const v of rec) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(1);
    }
    expect(ae.history.epochLosses.length).toBe(15);
    ae.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test("restoreAutoencoder(autoencoderState(ae)) encodes and decodes bit for bit as ae; a wrong state throws", () => {
    const before = tf.memory().numTensors;
    const d = 20;
    const { samples } = clusteredSamples(2, 300, d, 5);
    const cfg = { hidden: [16], latent: 4, epochs: 2 };
    const ae = trainAutoencoder(samples.subarray(0, 200 * d), 200, d, new Rng(2), cfg);
    const state = autoencoderState(ae);
    const back = restoreAutoencoder(state, d, cfg);
    const test = samples.subarray(200 * d);
    expect(Array.from(autoencode(back, test, 100))).toEqual(Array.from(autoencode(ae, test, 100)));
    expect(back.history.epochLosses).toEqual([]);
    // A state of another architecture is refused, and what was built for it is freed.
    expect(() => restoreAutoencoder(state, d, { hidden: [8], latent: 4 })).toThrow(
      /loadMlpState: variable 0 holds/,
    );
    expect(() => restoreAutoencoder(state.slice(1), d, cfg)).toThrow(/loadMlpState/);
    ae.dispose();
    back.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
