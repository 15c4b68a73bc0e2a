/**
 * Example (b): deltas from the engine, saved as numpy .npy files. The paper's MNIST CNN (random
 * weights here; use `fromLayersModel` for yours) is updated by one SGD step on each of 200 MNIST
 * samples; deltas.npy holds the posterior differences on 100 probes [200, 100 * 10] and labels.npy
 * the updates' labels. Read them back with examples/read_deltas.py (docs/EXAMPLES.md).
 *
 *   npx bun examples/save-deltas.ts OUT_DIR       then: python3 examples/read_deltas.py OUT_DIR
 */
import fs from "node:fs";
import path from "node:path";
import {
  encodeNpy,
  initParams,
  mnistCnn,
  PAPER_UPDATE,
  Rng,
  selectBackend,
  UpdateEngine,
} from "@updates-leak/core";
import { loadDataset } from "@updates-leak/datasets";

const out = process.argv[2] ?? "deltas-out";
await selectBackend({ backend: "auto", quiet: true });
const mnist = await loadDataset("mnist");
const rows = (from: number, n: number) => mnist.x.slice(from * 784, (from + n) * 784);

const params = initParams(mnistCnn, new Rng("example-b"));
const engine = new UpdateEngine({
  spec: mnistCnn,
  original: params,
  probes: rows(0, 100),
  update: PAPER_UPDATE,
  dropout: false,
});
const count = 200;
const labels = Int32Array.from(mnist.labels.subarray(100, 100 + count));
const deltas = await engine.deltas({ count, setSize: 1, x: rows(100, count), y: labels }, null);
engine.dispose();

fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, "deltas.npy"), encodeNpy(deltas, [count, engine.deltaSize]));
fs.writeFileSync(path.join(out, "labels.npy"), encodeNpy(labels, [count]));
console.log(JSON.stringify({ example: "save-deltas", out, deltas: [count, engine.deltaSize] }));
