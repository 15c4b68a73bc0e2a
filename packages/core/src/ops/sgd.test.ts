/**
 * sgdMomentumUpdate (the SgdMomentumUpdate kernel on wasm and cpu) against its tensor-op
 * formulation, bit for bit, on fresh random inputs on every available backend, with and without
 * a velocity; bad attributes and shapes are refused by name; no tensors leak.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sameBits } from "../backend/compare.ts";
import { availableBackends, selectBackend } from "../backend/select.ts";
import { rngFor, TEST_SEED } from "../kernels/wasm/test-cases.ts";
import { sizeFromShape } from "../shape.ts";
import { tf } from "../tf.ts";
import { SGD_MOMENTUM_UPDATE, sgdMomentumReference, sgdMomentumUpdate } from "./sgd.ts";

const backends = await availableBackends();

describe.each(backends)("sgdMomentumUpdate on %s", (backend) => {
  beforeAll(async () => {
    await selectBackend({ backend, quiet: true, allowSoftware: true });
  });
  afterAll(async () => {
    await selectBackend({ backend: "cpu", quiet: true });
  });

  test("equals the tensor ops bit for bit, with and without velocity (seed in the message)", async () => {
    const hasKernel = tf.getKernel(SGD_MOMENTUM_UPDATE, backend) !== undefined;
    expect(hasKernel).toBe(backend === "wasm" || backend === "cpu");
    const rng = rngFor(`sgd-${backend}`);
    const before = tf.memory().numTensors;
    const differ: string[] = [];
    for (const shape of [[1], [7], [2, 5, 5, 1, 10], [3, 320, 50]]) {
      const n = sizeFromShape(shape);
      const w = tf.tensor(rng.normals(n), shape);
      const g = tf.tensor(
        rng.normals(n).map((x) => x * 1e-3),
        shape,
      );
      const v = tf.tensor(
        rng.normals(n).map((x) => x * 1e-2),
        shape,
      );
      for (const [vel, a] of [
        [v, { lr: 0.001, momentum: 0.9 }],
        [null, { lr: 0.05, momentum: 0.9 }],
        [v, { lr: 0.3, momentum: 0 }],
      ] as const) {
        const got = sgdMomentumUpdate(w, g, vel, a);
        const want = sgdMomentumReference(w, g, vel, a);
        for (const i of [0, 1]) {
          const [x, y] = [(await got[i]!.data()) as Float32Array, (await want[i]!.data()) as Float32Array];
          if (!sameBits(x, y)) differ.push(`[${shape}] v=${vel !== null} ${JSON.stringify(a)} output ${i}`);
        }
        tf.dispose([...got, ...want]);
      }
      tf.dispose([w, g, v]);
    }
    expect(differ.map((d) => `${d} seed=${TEST_SEED}`)).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
  });

  test("bad attributes and shapes are refused by name", () => {
    const w = tf.zeros([2, 3]);
    const g = tf.zeros([3, 2]);
    expect(() => sgdMomentumUpdate(w, w, null, { lr: -1, momentum: 0.9 })).toThrow("lr must be >= 0, got -1");
    expect(() => sgdMomentumUpdate(w, w, null, { lr: 0.1, momentum: Number.NaN })).toThrow(
      "momentum must be >= 0",
    );
    expect(() => sgdMomentumUpdate(w, g, null, { lr: 0.1, momentum: 0.9 })).toThrow(
      "g has shape [3,2], the parameter [2,3]",
    );
    tf.dispose([w, g]);
  });
});
