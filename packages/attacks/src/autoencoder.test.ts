import { beforeAll, describe, expect, test } from "bun:test";
import { Rng, selectBackend, tf } from "@updates-leak/core";
import { autoencode, trainAutoencoder } from "./autoencoder.ts";
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
});
