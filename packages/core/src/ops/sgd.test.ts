/**
 * sgdMomentumUpdate (the SgdMomentumUpdate kernel on wasm and cpu, the tensor ops elsewhere) on
 * every available backend, bit for bit against a plain-JavaScript reference that rounds each step
 * to float32 as the tensor ops do (v' = fround(fround(v * m) + g), w' = fround(w - fround(v' * lr))),
 * with and without a velocity, on fresh random inputs. Where the kernel exists it is also checked
 * against the tensor-op formulation; elsewhere that check is reported not run (sgdMomentumUpdate is
 * the tensor ops there: it would compare them with themselves). Bad attributes and shapes are
 * refused by name; no tensors leak.
 */

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { sameBits } from "../backend/compare.ts";
import { availableBackends, selectBackend } from "../backend/select.ts";
import { rngFor, TEST_SEED } from "../kernels/wasm/test-cases.ts";
import { sizeFromShape } from "../shape.ts";
import { tf } from "../tf.ts";
import {
  SGD_MOMENTUM_UPDATE,
  type SgdMomentumAttrs,
  sgdMomentumReference,
  sgdMomentumUpdate,
} from "./sgd.ts";

const backends = await availableBackends();
const KERNEL_BACKENDS = ["wasm", "cpu"];
const SHAPES = [[1], [7], [2, 5, 5, 1, 10], [3, 320, 50]];
const ATTRS: [boolean, SgdMomentumAttrs][] = [
  [true, { lr: 0.001, momentum: 0.9 }],
  [false, { lr: 0.05, momentum: 0.9 }],
  [true, { lr: 0.3, momentum: 0 }],
];

/** [w', v'] in plain JavaScript, each operation rounded to float32 (lr, momentum too, as tf scalars). */
function sgdJs(w: Float32Array, g: Float32Array, v: Float32Array | null, a: SgdMomentumAttrs) {
  const f = Math.fround;
  const [m, lr] = [f(a.momentum), f(a.lr)];
  const nv = v ? g.map((gi, i) => f(f(v[i]! * m) + gi)) : g.slice();
  return [w.map((wi, i) => f(wi - f(nv[i]! * lr))), nv];
}

describe.each(backends)("sgdMomentumUpdate on %s", (backend) => {
  beforeAll(async () => {
    await selectBackend({ backend, quiet: true, allowSoftware: true });
  });
  afterAll(async () => {
    await selectBackend({ backend: "cpu", quiet: true });
  });

  /** Runs `ref` against sgdMomentumUpdate on every shape and attribute set; returns the mismatches. */
  async function mismatches(
    ref: (w: tf.Tensor, g: tf.Tensor, v: tf.Tensor | null, a: SgdMomentumAttrs) => Promise<Float32Array[]>,
    tag: string,
  ): Promise<string[]> {
    const rng = rngFor(`sgd-${tag}-${backend}`);
    const before = tf.memory().numTensors;
    const differ: string[] = [];
    for (const shape of SHAPES) {
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
      for (const [withV, a] of ATTRS) {
        const vel = withV ? v : null;
        const got = sgdMomentumUpdate(w, g, vel, a);
        const want = await ref(w, g, vel, a);
        for (const i of [0, 1]) {
          if (!sameBits((await got[i]!.data()) as Float32Array, want[i]!))
            differ.push(`[${shape}] v=${withV} ${JSON.stringify(a)} output ${i} seed=${TEST_SEED}`);
        }
        tf.dispose(got);
      }
      tf.dispose([w, g, v]);
    }
    expect(tf.memory().numTensors).toBe(before);
    return differ;
  }

  test("wasm and cpu run the kernel", () => {
    expect(tf.getKernel(SGD_MOMENTUM_UPDATE, backend) !== undefined).toBe(KERNEL_BACKENDS.includes(backend));
  });

  test("equals the plain-JavaScript float32 reference bit for bit, with and without velocity", async () => {
    const js = async (w: tf.Tensor, g: tf.Tensor, v: tf.Tensor | null, a: SgdMomentumAttrs) =>
      sgdJs(
        (await w.data()) as Float32Array,
        (await g.data()) as Float32Array,
        v ? ((await v.data()) as Float32Array) : null,
        a,
      );
    expect(await mismatches(js, "js")).toEqual([]);
  });

  if (KERNEL_BACKENDS.includes(backend)) {
    test("the kernel equals the tensor ops bit for bit", async () => {
      const ops = async (w: tf.Tensor, g: tf.Tensor, v: tf.Tensor | null, a: SgdMomentumAttrs) => {
        const r = sgdMomentumReference(w, g, v, a);
        const out = [(await r[0].data()) as Float32Array, (await r[1].data()) as Float32Array];
        tf.dispose(r);
        return out;
      };
      expect(await mismatches(ops, "ops")).toEqual([]);
    });
  } else {
    test.skip(`the kernel equals the tensor ops (not run on ${backend}: no kernel, sgdMomentumUpdate is the tensor ops)`, () => {});
  }

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
