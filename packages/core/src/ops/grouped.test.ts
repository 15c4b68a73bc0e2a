/**
 * The grouped ops against a per-group reference built from plain tfjs ops (tf.conv2d, tf.matMul
 * and their built-in gradients), on fresh random inputs, on every available backend.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { relativeError } from "../backend/compare.ts";
import { availableBackends, selectBackend } from "../backend/select.ts";
import { Rng } from "../random.ts";
import { sizeFromShape } from "../shape.ts";
import { type Tensor, tf } from "../tf.ts";
import {
  groupedConv2d,
  groupedConv2dFilterTrainable,
  groupedConv2dTrainable,
  groupedMatMul,
  groupedMatMulTrainable,
  groupedMatMulWeightTrainable,
} from "./grouped.ts";

function rand(rng: Rng, shape: number[]): Tensor {
  return tf.tensor(rng.normals(sizeFromShape(shape)), shape);
}

/** relativeError of two tensors of the same shape. */
function relErr(a: Tensor, b: Tensor): number {
  expect(a.shape).toEqual(b.shape);
  return relativeError(a.dataSync(), b.dataSync());
}

/** Per-group reference: group g's samples convolved with group g's filter, padded, plus bias. */
function refConv(x: Tensor, w: Tensor, pad: number, bias?: Tensor): Tensor {
  const G = w.shape[0]!;
  const xs = tf.split(x, G, 0);
  const ws = tf.unstack(w, 0);
  const bs = bias ? tf.unstack(bias, 0) : null;
  const p: [[number, number], [number, number], [number, number], [number, number]] = [
    [0, 0],
    [pad, pad],
    [pad, pad],
    [0, 0],
  ];
  return tf.concat(
    xs.map((xg, g) => {
      const y = tf.conv2d(xg as tf.Tensor4D, ws[g] as tf.Tensor4D, 1, pad === 0 ? "valid" : p);
      return bs ? tf.add(y, bs[g]!) : y;
    }),
    0,
  );
}

function refMatMul(a: Tensor, b: Tensor): Tensor {
  return a.rank === 2 ? tf.matMul(tf.expandDims(a, 0), b) : tf.matMul(a, b);
}

const TOL = 1e-5;
const backends = await availableBackends();

describe.each(backends)("grouped ops on %s", (backend) => {
  beforeAll(async () => {
    await selectBackend({ backend, quiet: true, allowSoftware: true });
  });
  afterAll(async () => {
    await selectBackend({ backend: "cpu", quiet: true });
  });

  test("a grouped conv is one kernel where the backend has it (wasm, webgpu), whatever the group count", async () => {
    const [x, w, b] = [tf.ones([16, 6, 6, 3]), tf.ones([8, 3, 3, 3, 4]), tf.ones([8, 4])];
    const before = tf.memory().numTensors;
    const info = await tf.profile(() => {
      groupedConv2d(x, w, { bias: b }).dispose();
    });
    const names = info.kernels.map((k) => k.name);
    if (backend === "cpu") expect(names.length).toBeGreaterThan(2 * 8);
    else expect(names).toEqual(["GroupedConv2D"]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, b]);
  });

  const convCases: [number, number, number, number, number, number, number][] = [
    // G, B, H, C, O, k, pad
    [3, 2, 8, 3, 4, 3, 0],
    [2, 3, 6, 5, 2, 5, 4],
    [4, 1, 7, 1, 6, 2, 1],
  ];

  for (const [G, B, H, C, O, k, pad] of convCases) {
    test(`groupedConv2d G${G} B${B} ${H}x${H}x${C} -> ${O}, k${k}, pad ${pad}, with and without bias`, () => {
      const rng = new Rng(`grouped-conv-${backend}-${G}-${k}-${pad}`);
      const before = tf.memory().numTensors;
      tf.tidy(() => {
        const x = rand(rng, [G * B, H, H, C]);
        const w = rand(rng, [G, k, k, C, O]);
        const bias = rand(rng, [G, O]);
        expect(relErr(groupedConv2d(x, w, { pad }), refConv(x, w, pad))).toBeLessThanOrEqual(TOL);
        expect(relErr(groupedConv2d(x, w, { pad, bias }), refConv(x, w, pad, bias))).toBeLessThanOrEqual(TOL);
      });
      expect(tf.memory().numTensors).toBe(before);
    });
  }

  test("groupedConv2dTrainable and groupedConv2dFilterTrainable: gradients equal tf.conv2d's", () => {
    const rng = new Rng(`grouped-conv-grad-${backend}`);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const [G, B, H, C, O, k] = [3, 2, 9, 4, 5, 3];
      const x = rand(rng, [G * B, H, H, C]);
      const w = rand(rng, [G, k, k, C, O]);
      const up = rand(rng, [G * B, H - k + 1, H - k + 1, O]); // a random upstream gradient
      const loss = (y: Tensor) => tf.sum(tf.mul(y, up)) as tf.Scalar;
      const [rdx, rdw] = tf.grads((a: Tensor, b: Tensor) => loss(refConv(a, b, 0)))([x, w]);
      const [dx, dw] = tf.grads((a: Tensor, b: Tensor) => loss(groupedConv2dTrainable(a, b)))([x, w]);
      expect(relErr(dx!, rdx!)).toBeLessThanOrEqual(TOL);
      expect(relErr(dw!, rdw!)).toBeLessThanOrEqual(TOL);
      const dwOnly = tf.grad((b: Tensor) => loss(groupedConv2dFilterTrainable(x, b)))(w);
      expect(relErr(dwOnly, rdw!)).toBeLessThanOrEqual(TOL);
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  test("groupedMatMul (shared and per-group a) and its trainable forms equal tf.matMul", () => {
    const rng = new Rng(`grouped-matmul-${backend}`);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const [G, P, K, N] = [4, 6, 7, 5];
      const a = rand(rng, [G, P, K]);
      const shared = rand(rng, [P, K]);
      const b = rand(rng, [G, K, N]);
      expect(relErr(groupedMatMul(a, b), refMatMul(a, b))).toBeLessThanOrEqual(TOL);
      expect(relErr(groupedMatMul(shared, b), refMatMul(shared, b))).toBeLessThanOrEqual(TOL);
      const up = rand(rng, [G, P, N]);
      const loss = (y: Tensor) => tf.sum(tf.mul(y, up)) as tf.Scalar;
      const [rda, rdb] = tf.grads((x: Tensor, y: Tensor) => loss(tf.matMul(x, y)))([a, b]);
      const [da, db] = tf.grads((x: Tensor, y: Tensor) => loss(groupedMatMulTrainable(x, y)))([a, b]);
      expect(relErr(da!, rda!)).toBeLessThanOrEqual(TOL);
      expect(relErr(db!, rdb!)).toBeLessThanOrEqual(TOL);
      const dbOnly = tf.grad((y: Tensor) => loss(groupedMatMulWeightTrainable(a, y)))(b);
      expect(relErr(dbOnly, rdb!)).toBeLessThanOrEqual(TOL);
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});
