import { beforeAll, describe, expect, test } from "bun:test";
import { selectBackend, tf } from "@updates-leak/core";
import { AdamStep } from "./adam.ts";
import { newVariable } from "./layers.ts";

beforeAll(async () => {
  await selectBackend({ backend: "wasm", quiet: true });
});

describe("AdamStep", () => {
  test("one step with coupled weight decay matches a hand-written PyTorch Adam", () => {
    const before = tf.memory().numTensors;
    const p = newVariable(tf.tensor1d([1, -2, 3]));
    const cfg = { lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01 };
    const adam = new AdamStep([p], cfg);
    // loss = sum(p^2)/2 -> grad p
    let ref = [1, -2, 3];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    for (let t = 1; t <= 3; t++) {
      adam.step(() => tf.div(tf.sum(tf.square(p)), 2) as tf.Scalar).dispose();
      ref = ref.map((x, i) => {
        const g = x + cfg.weightDecay * x;
        m[i] = cfg.beta1 * (m[i] as number) + (1 - cfg.beta1) * g;
        v[i] = cfg.beta2 * (v[i] as number) + (1 - cfg.beta2) * g * g;
        const mh = (m[i] as number) / (1 - cfg.beta1 ** t);
        const vh = (v[i] as number) / (1 - cfg.beta2 ** t);
        return x - (cfg.lr * mh) / (Math.sqrt(vh) + cfg.epsilon);
      });
    }
    const got = p.dataSync();
    for (let i = 0; i < 3; i++) expect(got[i]).toBeCloseTo(ref[i] as number, 4);
    adam.dispose();
    p.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("AdamStep inside tf.tidy", () => {
  test("made and stepped inside a caller's tidy, its moments survive; dispose frees them", () => {
    const before = tf.memory().numTensors;
    const cfg = { lr: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 };
    const run = (inTidy: boolean) => {
      const p = newVariable(tf.tensor1d([1, -2, 3]));
      const make = () => new AdamStep([p], cfg);
      let made: AdamStep | null = null;
      // Made inside a tidy that returns nothing, so tidy cannot find the moments in its result.
      if (inTidy)
        tf.tidy(() => {
          made = make();
        });
      const adam: AdamStep = made ?? make();
      const loss = () => tf.div(tf.sum(tf.square(p)), 2) as tf.Scalar;
      for (let t = 0; t < 3; t++) {
        if (inTidy)
          tf.tidy(() => {
            adam.step(loss);
          });
        else adam.step(loss).dispose();
      }
      const out = Array.from(p.dataSync());
      adam.dispose();
      p.dispose();
      return out;
    };
    expect(run(true)).toEqual(run(false));
    expect(tf.memory().numTensors).toBe(before);
  });
});
