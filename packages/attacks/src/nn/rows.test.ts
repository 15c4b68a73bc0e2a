import { beforeAll, describe, expect, test } from "bun:test";
import { Rng, selectBackend, tf } from "@updates-leak/core";
import { DeviceRows, gatherRows } from "./rows.ts";

beforeAll(async () => {
  await selectBackend({ backend: "wasm", quiet: true });
});

describe("gatherRows", () => {
  test("copies the listed rows in order, from start for count", () => {
    const src = new Float32Array([0, 1, 2, 3, 4, 5]);
    expect(Array.from(gatherRows(src, 2, [2, 0]))).toEqual([4, 5, 0, 1]);
    expect(Array.from(gatherRows(src, 2, [2, 0, 1], 1, 2))).toEqual([0, 1, 2, 3]);
  });
});

describe("DeviceRows", () => {
  test("take gathers the rows gatherRows builds; a bad size is named; no leak", () => {
    const before = tf.memory().numTensors;
    const rng = new Rng(56);
    const data = rng.normals(50 * 7);
    const rows = new DeviceRows("test rows", data, 50, 7);
    const idx = rng.permutation(50).subarray(10, 27);
    const got = rows.take(idx);
    expect(got.shape).toEqual([17, 7]);
    expect(Array.from(got.dataSync())).toEqual(Array.from(gatherRows(data, 7, idx)));
    got.dispose();
    rows.dispose();
    expect(() => new DeviceRows("test rows", data, 51, 7)).toThrow(
      "test rows: expected 51 x 7 = 357 values, got 350",
    );
    expect(tf.memory().numTensors).toBe(before);
  });
});
