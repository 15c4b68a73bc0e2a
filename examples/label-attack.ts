/**
 * Example (a): A_LI, single-sample label inference, against your own TensorFlow.js model and your
 * own data. The owner serves posteriors and updates the model with one new sample; the adversary
 * queries 100 probes before and after and infers the new sample's label from the difference.
 *
 *   npx bun examples/label-attack.ts          (Node and Deno: npm run build, then examples/dist/)
 */
import * as tfl from "@tensorflow/tfjs-layers";
import { trainLabelAttack } from "@updates-leak/attacks";
import { fromLayersModel, PAPER_UPDATE, Rng, selectBackend, tf, UpdateEngine } from "@updates-leak/core";
import { loadDataset } from "@updates-leak/datasets";

await selectBackend({ backend: "auto", quiet: true }); // webgpu where there is a GPU, else wasm
// Your data: a Float32Array of samples [n, 28, 28, 1] and their labels. Here, MNIST's.
const mnist = await loadDataset("mnist");
const rows = (from: number, n: number) => ({
  x: mnist.x.slice(from * 784, (from + n) * 784),
  y: Int32Array.from(mnist.labels.subarray(from, from + n)),
});

// Your model, trained with tfjs's own fit (seeded, unshuffled: the same numbers on every run).
// The adversary knows the architecture and trains a shadow copy on data of its own.
async function trained(from: number, n: number) {
  const init = (seed: number) => ({
    kernelInitializer: tfl.initializers.glorotUniform({ seed: from + seed }),
  });
  const model = tfl.sequential();
  model.add(
    tfl.layers.conv2d({ inputShape: [28, 28, 1], filters: 8, kernelSize: 5, activation: "relu", ...init(1) }),
  );
  model.add(tfl.layers.maxPooling2d({ poolSize: 2 }));
  model.add(tfl.layers.flatten());
  model.add(tfl.layers.dense({ units: 32, activation: "relu", ...init(2) }));
  model.add(tfl.layers.dense({ units: 10, activation: "softmax", ...init(3) }));
  model.compile({ optimizer: tf.train.adam(1e-3), loss: "categoricalCrossentropy" });
  const { x, y } = rows(from, n);
  const [xs, ys] = [tf.tensor4d(x, [n, 28, 28, 1]), tf.oneHot(tf.tensor1d(y, "int32"), 10)];
  await model.fit(xs, ys, { epochs: 2, batchSize: 32, shuffle: false, verbose: 0 });
  tf.dispose([xs, ys]);
  return fromLayersModel(model); // { spec, params }: what the engine takes
}
const target = await trained(0, 1000); // the owner's model, on rows 0-999
const shadow = await trained(1000, 1000); // the adversary's, on rows 1000-1999

// Deltas: posteriors on the probes before minus after one SGD step on each new sample.
const probes = rows(2000, 100).x;
async function deltas(model: typeof target, from: number, count: number) {
  const { spec, params } = model;
  const engine = new UpdateEngine({ spec, original: params, probes, update: PAPER_UPDATE, dropout: false });
  const sets = { count, setSize: 1, ...rows(from, count) };
  const d = await engine.deltas(sets, null);
  engine.dispose();
  return { d, labels: sets.y, width: engine.deltaSize };
}
const train = await deltas(shadow, 3000, 1000); // the adversary's labelled shadow updates
const attack = trainLabelAttack(train.d, train.labels, 1000, train.width, 10, new Rng("example-a"), {
  epochs: 10,
});
const test = await deltas(target, 5000, 300); // the owner's updates, labels unseen by the attack
const guess = attack.predict(test.d, 300);
const accuracy = guess.filter((g, i) => g === test.labels[i]).length / 300;
attack.dispose();
console.log(JSON.stringify({ example: "label-attack", accuracy, random: 0.1, backend: tf.getBackend() }));
