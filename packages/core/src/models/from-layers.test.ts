/**
 * fromLayersModel against tfjs-layers itself: the converted model's posteriors against the
 * LayersModel's `predict`, and the engine's deltas against tfjs's own `fit` (categorical
 * cross-entropy; SGD with momentum, plain SGD and Adam, one or two epochs, tfjs's own optimisers)
 * on a copy of the model, one model at a time, on every backend.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as tfl from "@tensorflow/tfjs-layers";
import { availableBackends, selectBackend } from "../backend/select.ts";
import { UpdateEngine } from "../engine.ts";
import { posteriors } from "../probe.ts";
import { Rng } from "../random.ts";
import { tf } from "../tf.ts";
import { ADAM_DEFAULT, type UpdateRule } from "../update-rule.ts";
import { toTensors } from "./forward.ts";
import { fromLayersModel, type LayersModelLike, UnsupportedModelError } from "./from-layers.ts";

const asModel = (m: tfl.LayersModel) => m as unknown as LayersModelLike;

/** A small CNN in most supported layer kinds; `dropout` off gives a deterministic update. */
function cnn(dropout: boolean): tfl.Sequential {
  const m = tfl.sequential({ name: "small-cnn" });
  m.add(tfl.layers.conv2d({ inputShape: [12, 12, 2], filters: 4, kernelSize: 3, activation: "relu" }));
  m.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  m.add(tfl.layers.conv2d({ filters: 6, kernelSize: 2 }));
  m.add(tfl.layers.reLU());
  m.add(tfl.layers.flatten());
  m.add(tfl.layers.dense({ units: 16 }));
  m.add(tfl.layers.activation({ activation: "relu" }));
  if (dropout) m.add(tfl.layers.dropout({ rate: 0.3 }));
  m.add(tfl.layers.dense({ units: 5, activation: "softmax" }));
  return m;
}

/** The same chain as a functional model. */
function functionalCnn(): tfl.LayersModel {
  const input = tfl.input({ shape: [12, 12, 2] });
  let x = tfl.layers
    .conv2d({ filters: 4, kernelSize: 3, activation: "relu" })
    .apply(input) as tfl.SymbolicTensor;
  x = tfl.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.flatten().apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.dense({ units: 5, activation: "softmax" }).apply(x) as tfl.SymbolicTensor;
  return tfl.model({ inputs: input, outputs: x, name: "functional-cnn" });
}

/** The engine's deltas under `rule` against tfjs's own `fit` with `optimizer` on a copy, one model at a time. */
async function checkAgainstFit(rule: UpdateRule, optimizer: () => tf.Optimizer, seed: string): Promise<void> {
  const rng = new Rng(seed);
  const model = cnn(false);
  const { spec, params } = fromLayersModel(asModel(model));
  const nProbes = 9;
  const probes = rng.fork("probes").normals(nProbes * 12 * 12 * 2);
  for (const setSize of [1, 6]) {
    const count = 3;
    const x = rng.fork("x", setSize).normals(count * setSize * 288);
    const y = Int32Array.from({ length: count * setSize }, () => rng.int(5));
    const before = tf.memory().numTensors;
    const engine = new UpdateEngine({ spec, original: params, probes, update: rule, dropout: false });
    const got = await engine.deltas({ count, setSize, x, y }, null);
    engine.dispose();
    expect(tf.memory().numTensors).toBe(before);
    const probeT = tf.tensor4d(probes, [nProbes, 12, 12, 2]);
    const p0 = model.predict(probeT) as tf.Tensor;
    let largest = 0;
    let worst = 0;
    for (let m = 0; m < count; m++) {
      const copy = cnn(false);
      copy.setWeights(model.getWeights());
      copy.compile({ optimizer: optimizer(), loss: "categoricalCrossentropy" });
      const xs = tf.tensor4d(x.subarray(m * setSize * 288, (m + 1) * setSize * 288), [setSize, 12, 12, 2]);
      const ys = tf.oneHot(tf.tensor1d(y.subarray(m * setSize, (m + 1) * setSize), "int32"), 5);
      await copy.fit(xs, ys, {
        epochs: rule.epochs,
        batchSize: rule.batchSize,
        shuffle: false,
        verbose: 0,
      });
      const p1 = copy.predict(probeT) as tf.Tensor;
      const diff = tf.sub(p0, p1);
      const want = diff.dataSync();
      const mine = got.subarray(m * nProbes * 5, (m + 1) * nProbes * 5);
      for (let i = 0; i < want.length; i++) {
        worst = Math.max(worst, Math.abs(mine[i]! - want[i]!));
        largest = Math.max(largest, Math.abs(want[i]!));
      }
      tf.dispose([xs, ys, p1, diff]);
      copy.optimizer.dispose();
      copy.dispose();
    }
    expect(worst).toBeLessThan(2e-5);
    expect(largest).toBeGreaterThan(1e-3); // the updates moved the posteriors: not a vacuous check
    tf.dispose([probeT, p0]);
  }
  model.dispose();
}

const backends = await availableBackends();

describe.each(backends)("fromLayersModel on %s", (backend) => {
  beforeAll(async () => {
    await selectBackend({ backend, quiet: true, allowSoftware: true });
  });
  afterAll(async () => {
    await selectBackend({ backend: "cpu", quiet: true });
  });

  for (const [name, make] of [
    ["sequential, with dropout layers", () => cnn(true)],
    ["functional", functionalCnn],
  ] as const) {
    test(`${name}: the converted model's posteriors equal predict's within 1e-5`, () => {
      const model = make();
      const x = tf.randomNormal([7, 12, 12, 2], 0, 1, "float32", new Rng(`${name}-${backend}`).int(1e9));
      const want = model.predict(x) as tf.Tensor;
      const before = tf.memory().numTensors;
      const { spec, params } = fromLayersModel(asModel(model));
      const p = toTensors(spec, params);
      const got = posteriors(spec, p, x);
      const errT = tf.tidy(() => tf.max(tf.abs(tf.sub(got, want))));
      const err = errT.dataSync()[0]!;
      errT.dispose();
      expect(err).toBeLessThan(1e-5);
      expect(got.shape).toEqual([7, 5]);
      tf.dispose([got, ...p]);
      expect(tf.memory().numTensors).toBe(before); // the conversion and our forward pass leak nothing
      tf.dispose([x, want]);
      model.dispose();
    });
  }

  // Each update rule against tfjs's own optimiser of that kind, through LayersModel.fit.
  const rules: [UpdateRule, () => tf.Optimizer][] = [
    [
      { optimizer: "sgd", lr: 0.05, momentum: 0.9, batchSize: 4, epochs: 1 },
      () => tf.train.momentum(0.05, 0.9),
    ],
    [{ optimizer: "sgd", lr: 0.05, momentum: 0, batchSize: 4, epochs: 2 }, () => tf.train.sgd(0.05)],
    [{ ...ADAM_DEFAULT, lr: 0.01, batchSize: 4, epochs: 2 }, () => tf.train.adam(0.01, 0.9, 0.999, 1e-8)],
  ];
  for (const [rule, optimizer] of rules) {
    const name = `${rule.optimizer}${rule.optimizer === "sgd" ? ` momentum ${rule.momentum}` : ""}, ${rule.epochs} epoch(s)`;
    test(`${name}: the engine's deltas equal tfjs's own fit on a copy, one model at a time`, () =>
      checkAgainstFit(rule, optimizer, `fit-${name}-${backend}`));
  }
});

describe("fromLayersModel refuses what it cannot convert, naming the layer", () => {
  const cases: [string, () => tfl.LayersModel, string][] = [
    [
      "padding 'same'",
      () =>
        tfl.sequential({
          layers: [
            tfl.layers.conv2d({
              inputShape: [8, 8, 1],
              filters: 2,
              kernelSize: 3,
              padding: "same",
              name: "c1",
            }),
            tfl.layers.flatten(),
            tfl.layers.dense({ units: 3, activation: "softmax" }),
          ],
        }),
      "layer 'c1' (Conv2D): padding 'same'; supported: 'valid'",
    ],
    [
      "an unsupported layer",
      () =>
        tfl.sequential({
          layers: [
            tfl.layers.dense({ inputShape: [4], units: 3, name: "d1" }),
            tfl.layers.batchNormalization({ name: "bn" }),
            tfl.layers.dense({ units: 3, activation: "softmax" }),
          ],
        }),
      "layer 'bn' (BatchNormalization): not supported; supported: InputLayer, Conv2D",
    ],
    [
      "no softmax",
      () => tfl.sequential({ name: "logits", layers: [tfl.layers.dense({ inputShape: [4], units: 3 })] }),
      "model 'logits' does not end in softmax",
    ],
    [
      "a layer after the softmax",
      () =>
        tfl.sequential({
          layers: [
            tfl.layers.dense({ inputShape: [4], units: 3, activation: "softmax", name: "out" }),
            tfl.layers.dense({ units: 3, name: "late" }),
          ],
        }),
      "layer 'late' (Dense) comes after the softmax of 'out'",
    ],
    [
      "a Dense on an image",
      () =>
        tfl.sequential({
          layers: [tfl.layers.dense({ inputShape: [4, 4, 1], units: 3, activation: "softmax", name: "d" })],
        }),
      "layer 'd' (Dense): input of shape [4, 4, 1]; put a Flatten before it",
    ],
    [
      "a branch",
      () => {
        const input = tfl.input({ shape: [4] });
        const a = tfl.layers.dense({ units: 3, name: "a" }).apply(input) as tfl.SymbolicTensor;
        const b = tfl.layers.dense({ units: 3, name: "b" }).apply(input) as tfl.SymbolicTensor;
        const s = tfl.layers.add({ name: "sum" }).apply([a, b]) as tfl.SymbolicTensor;
        return tfl.model({ inputs: input, outputs: s });
      },
      "takes its input from [",
    ],
  ];
  for (const [name, make, message] of cases) {
    test(name, () => {
      const model = make();
      expect(() => fromLayersModel(asModel(model))).toThrow(UnsupportedModelError);
      expect(() => fromLayersModel(asModel(model))).toThrow(message);
      model.dispose();
    });
  }
});
