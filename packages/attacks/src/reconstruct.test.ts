import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Rng, selectBackend, tf } from "@updates-leak/core";
import { autoencode, trainAutoencoder } from "./autoencoder.ts";
import { labelRandomSamples, randomSamples } from "./baselines.ts";
import { mse } from "./metrics.ts";
import { trainReconstructAttack } from "./reconstruct.ts";
import { clusteredSamples, linearDeltas } from "./testData.ts";

setDefaultTimeout(600_000); // npm test's limit: a loaded machine runs these many times slower

beforeAll(async () => {
  await selectBackend({ backend: "wasm", quiet: true });
});

describe("A_SSR", () => {
  test("reconstructs updating samples from linear deltas: beats Random and Label-random, above the AE oracle", () => {
    const before = tf.memory().numTensors;
    const d = 48;
    const nPool = 500;
    const nShadow = 600;
    const nTarget = 150;
    const all = clusteredSamples(5, nPool + nShadow + nTarget, d, 4);
    const pool = all.samples.subarray(0, nPool * d);
    const poolLabels = all.labels.subarray(0, nPool);
    const upd = all.samples.subarray(nPool * d);
    const updLabels = all.labels.subarray(nPool);
    const { deltas, deltaSize } = linearDeltas(9, upd, nShadow + nTarget, d, 80, 1e-3, 0.2);
    const ae = trainAutoencoder(pool, nPool, d, new Rng(1), { hidden: [64], latent: 8, epochs: 15 });
    const atk = trainReconstructAttack(
      deltas.subarray(0, nShadow * deltaSize),
      upd.subarray(0, nShadow * d),
      nShadow,
      deltaSize,
      ae,
      new Rng(2),
      {
        epochs: 12,
      },
    );
    const truth = upd.subarray(nShadow * d);
    const rec = atk.reconstruct(deltas.subarray(nShadow * deltaSize), nTarget);
    const attack = mse(rec, truth);
    const random = mse(randomSamples(new Rng(3), pool, nPool, d, nTarget), truth);
    const labelRandom = mse(
      labelRandomSamples(new Rng(4), pool, poolLabels, d, updLabels.subarray(nShadow)),
      truth,
    );
    const oracle = mse(autoencode(ae, truth, nTarget), truth);
    console.log(
      `A_SSR synthetic: attack ${attack.toFixed(5)}, Random ${random.toFixed(5)}, Label-random ${labelRandom.toFixed(5)}, AE oracle ${oracle.toFixed(5)}`,
    );
    expect(attack).toBeLessThan(0.5 * labelRandom);
    expect(labelRandom).toBeLessThan(random);
    expect(oracle).toBeLessThan(attack);
    // The AE is untouched by the attack's training (its decoder was copied).
    expect(mse(autoencode(ae, truth, nTarget), truth)).toBe(oracle);
    atk.dispose();
    ae.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  test("Label-random picks pool samples of the requested label and names a missing label", () => {
    const pool = new Float32Array([0, 0, 1, 1, 2, 2]);
    const out = labelRandomSamples(new Rng(1), pool, [0, 1, 2], 2, [2, 0, 1]);
    expect(Array.from(out)).toEqual([2, 2, 0, 0, 1, 1]);
    expect(() => labelRandomSamples(new Rng(1), pool, [0, 1, 2], 2, [3])).toThrow("no sample of label 3");
  });
});
