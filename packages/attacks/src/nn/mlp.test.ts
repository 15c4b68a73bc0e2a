import { beforeAll, describe, expect, test } from "bun:test";
import { Rng, selectBackend, tf } from "@updates-leak/core";
import { matMulDataT } from "./layers.ts";
import { cloneMlp, createMlp, disposeMlp, EVAL, mlpForward, mlpParams } from "./mlp.ts";

beforeAll(async () => {
  await selectBackend({ backend: "wasm", quiet: true });
});

describe("mlp", () => {
  test("dataInput: the MLP's value and parameter gradients equal the plain path's (matMulDataT)", () => {
    const before = tf.memory().numTensors;
    const rng = new Rng(55);
    const mlp = createMlp(rng, 9, [
      { units: 6, activation: { leakyRelu: 0.2 } },
      { units: 4, activation: "linear" },
    ]);
    const x = tf.tensor2d(rng.normals(5 * 9), [5, 9]);
    const lossOf = (dataInput: boolean) => () =>
      tf.sum(tf.square(mlpForward(mlp, x, EVAL, dataInput))) as tf.Scalar;
    const a = tf.variableGrads(lossOf(true), mlpParams(mlp));
    const b = tf.variableGrads(lossOf(false), mlpParams(mlp));
    expect(a.value.dataSync()[0]).toBeCloseTo(b.value.dataSync()[0] as number, 4);
    for (const p of mlpParams(mlp)) {
      const ga = (a.grads[p.name] as tf.Tensor).dataSync();
      const gb = (b.grads[p.name] as tf.Tensor).dataSync();
      let worst = 0;
      let scale = 0;
      for (let i = 0; i < gb.length; i++) {
        worst = Math.max(worst, Math.abs((ga[i] as number) - (gb[i] as number)));
        scale = Math.max(scale, Math.abs(gb[i] as number));
      }
      expect(scale).toBeGreaterThan(0);
      expect(worst / scale).toBeLessThan(1e-5);
    }
    // matMulDataT alone: its w gradient is tf.matMul's.
    const w = tf.tensor2d(rng.normals(9 * 3), [9, 3]);
    const dy = tf.tensor2d(rng.normals(5 * 3), [5, 3]);
    const [gw] = tf.grads((wt: tf.Tensor) => matMulDataT(x, wt as tf.Tensor2D))([w], dy);
    const [gwRef] = tf.grads((wt: tf.Tensor) => tf.matMul(x, wt as tf.Tensor2D))([w], dy);
    const d1 = (gw as tf.Tensor).dataSync();
    const d2 = (gwRef as tf.Tensor).dataSync();
    for (let i = 0; i < d2.length; i++) expect(d1[i]).toBeCloseTo(d2[i] as number, 4);
    tf.dispose([
      a.value,
      b.value,
      ...Object.values(a.grads),
      ...Object.values(b.grads),
      x,
      w,
      dy,
      gw!,
      gwRef!,
    ]);
    disposeMlp(mlp);
    expect(tf.memory().numTensors).toBe(before);
  });

  test("cloneMlp makes independent variables with equal values", () => {
    const before = tf.memory().numTensors;
    const m = createMlp(new Rng(1), 4, [
      { units: 6, activation: { leakyRelu: 0.2 }, batchNorm: true },
      { units: 2, activation: "sigmoid" },
    ]);
    const c = cloneMlp(m);
    const xs = tf.tensor2d(new Rng(2).normals(10 * 4), [10, 4]);
    const a = tf.tidy(() => mlpForward(m, xs).dataSync());
    const b = tf.tidy(() => mlpForward(c, xs).dataSync());
    expect(Array.from(b)).toEqual(Array.from(a));
    tf.tidy(() => (mlpParams(c)[0] as tf.Variable).assign(tf.zeros([4, 6])));
    expect(mlpParams(m)[0]?.dataSync()[0]).not.toBe(0);
    xs.dispose();
    disposeMlp(m);
    disposeMlp(c);
    expect(tf.memory().numTensors).toBe(before);
  });
});
