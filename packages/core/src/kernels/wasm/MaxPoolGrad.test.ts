import { beforeAll, describe, expect, test } from "bun:test";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { computeOn, type HostTensor, sameBits } from "../../backend/compare.ts";
import { selectBackend } from "../../backend/select.ts";
import type { Rng } from "../../random.ts";
import { sizeFromShape } from "../../shape.ts";
import { tf } from "../../tf.ts";
import { capturePackageKernel } from "./kernel-utils.ts";
import { pool2x2 } from "./MaxPoolGrad.ts";
import { simdKernels } from "./simd/instance.ts";
import { expectClose, randomTensor, rngFor, TEST_SEED } from "./test-cases.ts";

interface PoolCase {
  x: [number, number, number, number];
  filterSize: [number, number];
  strides: [number, number];
  // Numeric pads are left out: the package's MaxPool forward mis-sizes its output for them.
  pad: "same" | "valid";
}

function maxPoolGradOf(c: PoolCase) {
  return (t: Record<string, tf.Tensor>) => {
    const input = t.x as tf.Tensor4D;
    const output = tf.maxPool(input, c.filterSize, c.strides, c.pad);
    const dy = tf.reshape(t.dyBase!, output.shape);
    return tf
      .engine()
      .runKernel(
        "MaxPoolGrad",
        { dy, input, output },
        { filterSize: c.filterSize, strides: c.strides, pad: c.pad },
      ) as tf.Tensor;
  };
}

function outShape(c: PoolCase): number[] {
  const info = tf.backend_util.computePool2DInfo(c.x, c.filterSize, c.strides, 1, c.pad);
  return info.outShape;
}

async function check(c: PoolCase, x: HostTensor, rng: Rng): Promise<string | null> {
  const shape = outShape(c);
  const dyBase = randomTensor(rng, [sizeFromShape(shape)]);
  const [got] = await computeOn("wasm", { x, dyBase }, maxPoolGradOf(c));
  const [want] = await computeOn("cpu", { x, dyBase }, maxPoolGradOf(c));
  return expectClose(got!, want!, `${JSON.stringify(c)} seed=${TEST_SEED}`);
}

function randomPoolCase(rng: Rng): PoolCase {
  for (;;) {
    const fh = 1 + rng.int(4);
    const fw = 1 + rng.int(4);
    const kind = rng.int(2);
    const c: PoolCase = {
      x: [1 + rng.int(3), 1 + rng.int(9), 1 + rng.int(9), 1 + rng.int(5)],
      filterSize: [fh, fw],
      strides: [1 + rng.int(3), 1 + rng.int(3)],
      pad: kind === 0 ? "same" : "valid",
    };
    if (outShape(c).every((d) => d > 0)) return c;
  }
}

describe("wasm MaxPoolGrad (replaced by this project): against the package's kernel and cpu", () => {
  beforeAll(async () => {
    await selectBackend({ backend: "wasm", quiet: true });
  });

  test("the package's kernel misplaces an all-negative window's gradient (why it is replaced)", async () => {
    await selectBackend({ backend: "wasm", quiet: true });
    const backend = tf.backend() as BackendWasm;
    const pkg = capturePackageKernel("MaxPoolGrad");
    pkg.setupFunc?.(backend);
    const x = tf.tensor4d([-3, -1, -2, -4], [1, 2, 2, 1]);
    const dy = tf.tensor4d([5], [1, 1, 1, 1]);
    const out = tf.maxPool(x, 2, 2, "valid");
    const attrs = { filterSize: [2, 2], strides: [2, 2], pad: "valid" } as unknown as tf.NamedAttrMap;
    const info = pkg.kernelFunc({ inputs: { dy, input: x, output: out }, backend, attrs }) as tf.TensorInfo;
    const buggy = Array.from(backend.readSync(info.dataId) as Float32Array);
    backend.disposeData(info.dataId);
    const fixed = tf.engine().runKernel("MaxPoolGrad", { dy, input: x, output: out }, attrs) as tf.Tensor;
    expect(Array.from(await fixed.data())).toEqual([0, 5, 0, 0]); // the max, -1, is second
    expect(buggy).not.toEqual([0, 5, 0, 0]); // 4.22 sends it to the first position: [5, 0, 0, 0]
    tf.dispose([x, dy, out, fixed]);
  });

  test("matches cpu on signed, all-negative and tied inputs", async () => {
    const before = tf.memory().numTensors;
    const rng = rngFor("maxpool-edge");
    const c: PoolCase = { x: [2, 6, 7, 3], filterSize: [3, 2], strides: [2, 1], pad: "same" };
    const n = 2 * 6 * 7 * 3;
    const signed = randomTensor(rng, c.x);
    const negative = { shape: c.x, data: signed.data.map((v) => -Math.abs(v) - 1) };
    const ties = { shape: c.x, data: Float32Array.from({ length: n }, () => rng.int(3) - 3) };
    const zeros = { shape: c.x, data: new Float32Array(n) };
    for (const x of [signed, negative, ties, zeros]) expect(await check(c, x, rng)).toBeNull();
    expect(tf.memory().numTensors).toBe(before);
  });

  test("2x2 windows at stride 2 (the unrolled path) match cpu: even and odd sizes, ties, negatives", async () => {
    const before = tf.memory().numTensors;
    const rng = rngFor("maxpool-2x2");
    for (const x of [
      [3, 8, 6, 5],
      [2, 7, 9, 3],
    ] as [number, number, number, number][]) {
      const c: PoolCase = { x, filterSize: [2, 2], strides: [2, 2], pad: "valid" };
      const n = sizeFromShape(x);
      const signed = randomTensor(rng, x);
      const negative = { shape: x, data: signed.data.map((v) => -Math.abs(v) - 1) };
      const ties = { shape: x, data: Float32Array.from({ length: n }, () => rng.int(3) - 3) };
      for (const t of [signed, negative, ties]) expect(await check(c, t, rng)).toBeNull();
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  test("matches cpu on 40 random shapes, strides and paddings (signed inputs, some tied)", async () => {
    const rng = rngFor("maxpool-cases");
    const failures: string[] = [];
    for (let i = 0; i < 40; i++) {
      const c = randomPoolCase(rng);
      const x = randomTensor(rng, c.x);
      if (i % 2 === 1) x.data = x.data.map((v) => Math.round(v) - 1); // ties, mostly negative
      const f = await check(c, x, rng);
      if (f) failures.push(f);
    }
    expect(failures).toEqual([]);
  });
});

describe("wasm MaxPoolGrad: SIMD 2x2 path", () => {
  beforeAll(async () => {
    await selectBackend({ backend: "wasm", quiet: true });
  });

  test("the SIMD 2x2 path is bit for bit the JavaScript one: 4-20 channels, NaN, infinities, ties, signed zeros", async () => {
    await selectBackend({ backend: "wasm", quiet: true });
    const backend = tf.backend() as BackendWasm;
    expect(simdKernels(backend)).not.toBeNull(); // this runtime has WebAssembly SIMD, so the path runs
    const before = tf.memory().numTensors;
    const rng = rngFor("maxpool-simd");
    const specials = [Number.NaN, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, -0, 0, 1, -1];
    const failures: string[] = [];
    for (const C of [4, 5, 7, 8, 10, 13, 20]) {
      for (const [H, W] of [
        [4, 6],
        [5, 7],
        [24, 24],
      ] as [number, number][]) {
        const shape: [number, number, number, number] = [2, H, W, C];
        const n = 2 * H * W * C;
        const x = rng
          .normals(n)
          .map((v, i) => (i % 5 === 0 ? specials[rng.int(specials.length)]! : Math.round(v * 2)));
        const [oH, oW] = [Math.floor(H / 2), Math.floor(W / 2)];
        const dyData = rng.normals(2 * oH * oW * C).map((v, i) => (i % 7 === 0 ? -0 : v));
        const input = tf.tensor4d(x, shape);
        const dy = tf.tensor4d(dyData, [2, oH, oW, C]);
        const attrs = { filterSize: [2, 2], strides: [2, 2], pad: "valid" } as unknown as tf.NamedAttrMap;
        const got = tf.engine().runKernel("MaxPoolGrad", { dy, input, output: dy }, attrs) as tf.Tensor;
        const want = new Float32Array(n).fill(Number.NaN); // pool2x2 must write every covered position
        pool2x2(x, dyData, want, 2, H, W, C, oH, oW);
        if (!sameBits((await got.data()) as Float32Array, want)) failures.push(`[2, ${H}, ${W}, ${C}]`);
        tf.dispose([input, dy, got]);
      }
    }
    expect(failures).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
  });
});
