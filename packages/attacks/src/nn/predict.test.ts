import { beforeAll, describe, expect, test } from "bun:test";
import { Rng, selectBackend, tf } from "@updates-leak/core";
import { predictInChunks, predictRows, readTidy } from "./predict.ts";

beforeAll(async () => {
  await selectBackend({ backend: "wasm", quiet: true });
});

describe("prediction in chunks", () => {
  // Row sums and twice the first value, [n, 2], computed in TypeScript as the reference.
  const n = 10;
  const w = 3;
  const x = new Rng(7).normals(n * w);
  const ref = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < w; j++) s += x[i * w + j] as number;
    ref[i * 2] = s;
    ref[i * 2 + 1] = 2 * (x[i * w] as number);
  }
  const net = (xb: tf.Tensor2D) =>
    tf.concat([tf.sum(xb, 1, true), tf.mul(tf.slice(xb, [0, 0], [-1, 1]), 2)], 1);

  test("predictRows: chunks of 3 over 10 rows give every row's output in order; no leak", () => {
    const before = tf.memory().numTensors;
    const got = predictRows(x, n, w, 2, 3, net);
    expect(got.length).toBe(n * 2);
    for (let i = 0; i < n * 2; i++) expect(got[i]).toBeCloseTo(ref[i] as number, 5);
    expect(tf.memory().numTensors).toBe(before);
  });

  test("predictInChunks hands out [start, count] ranges and names a wrong output width", () => {
    const calls: [number, number][] = [];
    predictInChunks(n, 1, 4, (start, count) => {
      calls.push([start, count]);
      return tf.zeros([count, 1]);
    });
    expect(calls).toEqual([
      [0, 4],
      [4, 4],
      [8, 2],
    ]);
    expect(() => predictInChunks(n, 2, 4, (_s, count) => tf.zeros([count, 1]))).toThrow(
      "predictInChunks: chunk gave 4 values, expected 4 x 2",
    );
  });

  test("readTidy reads the tensor back and frees everything", () => {
    const before = tf.memory().numTensors;
    const v = readTidy(() => tf.add(tf.tensor1d([1, 2]), tf.tensor1d([10, 20])));
    expect(Array.from(v)).toEqual([11, 22]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
