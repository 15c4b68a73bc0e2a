/**
 * takeRows (the TakeRows kernel on wasm and cpu, tf.gather elsewhere) against rows copied in plain
 * JavaScript from the host array, on every available backend (so tf.gather on webgpu is checked
 * too, not compared with itself).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sameBits } from "../backend/compare.ts";
import { availableBackends, selectBackend } from "../backend/select.ts";
import { Rng } from "../random.ts";
import { tf } from "../tf.ts";
import { TAKE_ROWS, takeRows } from "./rows.ts";

const backends = await availableBackends();

describe.each(backends)("takeRows on %s", (backend) => {
  beforeAll(async () => {
    await selectBackend({ backend, quiet: true, allowSoftware: true });
  });
  afterAll(async () => {
    await selectBackend({ backend: "cpu", quiet: true });
  });

  test("wasm and cpu run the copying kernel", () => {
    expect(tf.getKernel(TAKE_ROWS, backend) !== undefined).toBe(backend === "wasm" || backend === "cpu");
  });

  test("equals the rows copied in JavaScript, on fresh random rows, repeats and the last row included; no leak", () => {
    const before = tf.memory().numTensors;
    const rng = new Rng(`rows-${backend}`);
    for (const [n, width, k] of [
      [50, 7, 17],
      [300, 1000, 64],
      [3, 1, 5],
    ] as const) {
      const host = rng.normals(n * width);
      const x = tf.tensor2d(host, [n, width]);
      const rows = Int32Array.from({ length: k }, () => rng.int(n));
      rows[0] = n - 1;
      if (k > 1) rows[1] = rows[0];
      const got = takeRows(x, rows);
      const want = new Float32Array(k * width);
      for (let j = 0; j < k; j++)
        want.set(host.subarray(rows[j]! * width, (rows[j]! + 1) * width), j * width);
      expect(got.shape).toEqual([k, width]);
      expect(sameBits(got.dataSync() as Float32Array, want)).toBe(true);
      tf.dispose([x, got]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  test("a row out of range and a non-float input are named", () => {
    const before = tf.memory().numTensors;
    const x = tf.zeros([4, 2]);
    const xi = tf.zeros([4, 2], "int32");
    expect(() => takeRows(x, new Int32Array([0, 4]))).toThrow("takeRows: rows[1] = 4 is not in [0, 4)");
    expect(() => takeRows(x, new Int32Array([-1]))).toThrow("takeRows: rows[0] = -1 is not in [0, 4)");
    expect(() => takeRows(xi, new Int32Array([0]))).toThrow(
      "takeRows: x must be a float32 matrix, got int32 of shape [4,2]",
    );
    tf.dispose([x, xi]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
