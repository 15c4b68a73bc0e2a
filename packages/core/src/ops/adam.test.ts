/**
 * adamUpdate (the AdamUpdate kernel on wasm and cpu, tensor ops elsewhere) against its tensor-op
 * reference and against a float64 PyTorch Adam in plain JavaScript, on fresh random inputs, on
 * every available backend.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { relativeError } from "../backend/compare.ts";
import { availableBackends, selectBackend } from "../backend/select.ts";
import { Rng } from "../random.ts";
import { sizeFromShape } from "../shape.ts";
import { type Tensor, tf } from "../tf.ts";
import { ADAM_UPDATE, type AdamUpdateAttrs, adamUpdate, adamUpdateReference } from "./adam.ts";

/** PyTorch's Adam (coupled weight decay) in float64, `steps` steps with the given gradients. */
function torchAdam(p0: Float32Array, grads: Float32Array[], a: Omit<AdamUpdateAttrs, "step">): Float64Array {
  const p = Float64Array.from(p0);
  const m = new Float64Array(p.length);
  const v = new Float64Array(p.length);
  grads.forEach((g, k) => {
    const t = k + 1;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i]! + a.weightDecay * p[i]!;
      m[i] = a.beta1 * m[i]! + (1 - a.beta1) * gi;
      v[i] = a.beta2 * v[i]! + (1 - a.beta2) * gi * gi;
      const mh = m[i]! / (1 - a.beta1 ** t);
      const vh = v[i]! / (1 - a.beta2 ** t);
      p[i] = p[i]! - (a.lr * mh) / (Math.sqrt(vh) + a.epsilon);
    }
  });
  return p;
}

const backends = await availableBackends();

describe.each(backends)("adamUpdate on %s", (backend) => {
  beforeAll(async () => {
    await selectBackend({ backend, quiet: true, allowSoftware: true });
  });
  afterAll(async () => {
    await selectBackend({ backend: "cpu", quiet: true });
  });

  const cases: [string, number[], Omit<AdamUpdateAttrs, "step">][] = [
    ["matrix, no decay", [37, 19], { lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 }],
    [
      "vector, decay, other betas",
      [101],
      { lr: 0.05, beta1: 0.5, beta2: 0.9, epsilon: 1e-6, weightDecay: 0.01 },
    ],
  ];

  test("wasm and cpu run the one-pass kernel", () => {
    expect(tf.getKernel(ADAM_UPDATE, backend) !== undefined).toBe(backend === "wasm" || backend === "cpu");
  });

  test.each(cases)(
    "%s: equals the tensor-op reference and a float64 Adam over 12 steps",
    (_name, shape, a) => {
      const before = tf.memory().numTensors;
      const rng = new Rng(`adam-${backend}-${shape}`);
      const size = sizeFromShape(shape);
      const p0 = rng.normals(size);
      const grads = Array.from({ length: 12 }, (_, k) => {
        const g = rng.normals(size);
        // Gradients of different scales over the steps, some exact zeros.
        for (let i = 0; i < size; i += 7) g[i] = 0;
        return g.map((x) => x * 10 ** ((k % 4) - 2));
      });
      let fused: Tensor[] = [tf.tensor(p0, shape), tf.zeros(shape), tf.zeros(shape)];
      let ref: Tensor[] = fused.map((t) => tf.clone(t));
      grads.forEach((g, k) => {
        const gt = tf.tensor(g, shape);
        const attrs = { ...a, step: k + 1 };
        const f2 = adamUpdate(fused[0]!, gt, fused[1]!, fused[2]!, attrs);
        const r2 = adamUpdateReference(ref[0]!, gt, ref[1]!, ref[2]!, attrs);
        for (const t of [...fused, ...ref, gt]) t.dispose();
        fused = f2;
        ref = r2;
      });
      for (let i = 0; i < 3; i++) {
        expect(fused[i]!.shape).toEqual(shape);
        expect(relativeError(fused[i]!.dataSync(), ref[i]!.dataSync())).toBeLessThan(1e-5);
      }
      // The parameter itself against float64: each step moves it by about lr.
      const want = torchAdam(p0, grads, a);
      const got = fused[0]!.dataSync();
      let worst = 0;
      for (let i = 0; i < size; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      expect(worst).toBeLessThan(a.lr * 1e-2);
      // Moved at all: not a copy of the start.
      expect(relativeError(got, p0)).toBeGreaterThan(a.lr / 10);
      for (const t of [...fused, ...ref]) t.dispose();
      expect(tf.memory().numTensors).toBe(before);
    },
  );

  test("bad attributes and shapes are named", () => {
    const before = tf.memory().numTensors;
    const p = tf.zeros([3]);
    const g = tf.zeros([3]);
    const m = tf.zeros([3]);
    const v = tf.zeros([4]);
    const ok = { lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, step: 1 };
    expect(() => adamUpdate(p, g, m, v, ok)).toThrow("adamUpdate: v has shape [4], the parameter [3]");
    expect(() => adamUpdate(p, g, m, m, { ...ok, step: 0 })).toThrow(
      "adamUpdate: step must be an integer >= 1, got 0",
    );
    expect(() => adamUpdate(p, g, m, m, { ...ok, beta2: 1 })).toThrow(
      "adamUpdate: beta2 must be in [0, 1), got 1",
    );
    const gi = tf.zeros([3], "int32");
    expect(() => adamUpdate(p, gi, m, m, ok)).toThrow("adamUpdate: g must be float32, got int32");
    for (const t of [p, g, m, v, gi]) t.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
