/**
 * The probe forward's fused conv blocks (wasm) against the layers they replace, on fresh random
 * inputs: bit for bit against the same layers on wasm (the same XNNPACK calls, exact max and
 * relu), and within float32 tolerance against the layers on cpu. The first-layer op runs with
 * slices that split the probes unevenly, and with fewer than 4 channels (the JavaScript pool).
 * Seed in failure messages. Which backends fuse is checked in conv-pool.test.ts.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { computeOn, type HostTensor, sameBits } from "../backend/compare.ts";
import { selectBackend } from "../backend/select.ts";
import {
  type ConvBlockCase,
  convBlockInputs,
  convPoolLayers,
  expectClose,
  randomTensor,
  rngFor,
  TEST_SEED,
} from "../kernels/wasm/test-cases.ts";
import { type Tensor, tf } from "../tf.ts";
import { groupedConvPoolReluInference, sharedConvPoolRelu } from "./conv-pool-inference.ts";
import { groupedConv2d } from "./grouped.ts";

interface SharedCase {
  name: string;
  M: number;
  B: number;
  H: number;
  C: number;
  O: number;
  k: number;
  /** The kernel's slice bound, in pooled rows of the conv's output (undefined: its default). */
  sliceRows?: number;
}

const SHARED: SharedCase[] = [
  { name: "MNIST conv1, default slices", M: 5, B: 4, H: 28, C: 1, O: 10, k: 5 },
  { name: "MNIST conv1, 5 pooled rows a slice (uneven)", M: 3, B: 3, H: 28, C: 1, O: 10, k: 5, sliceRows: 5 },
  { name: "CIFAR-10 conv1, one pooled row a slice", M: 4, B: 2, H: 32, C: 3, O: 6, k: 5, sliceRows: 1 },
  { name: "one model, 4 channels", M: 1, B: 3, H: 9, C: 2, O: 4, k: 2, sliceRows: 3 },
  { name: "3 channels out (JavaScript pool)", M: 3, B: 2, H: 10, C: 2, O: 3, k: 3, sliceRows: 2 },
];

/** The probes' patches with a ones column [B*oh*ow, k*k*C + 1], and every model's filters side by side. */
function sharedInputs(c: SharedCase): Record<string, HostTensor> {
  const rng = rngFor(`shared-conv-pool-${c.name}`);
  const oh = c.H - c.k + 1;
  const K = c.k * c.k * c.C + 1;
  const patches = randomTensor(rng, [c.B * oh * oh, K]);
  for (let r = 0; r < c.B * oh * oh; r++) patches.data[r * K + K - 1] = 1;
  return { patches, side: randomTensor(rng, [K, c.M * c.O]) };
}

/** What batchedForward did before: matMul, maxPool, relu, then regroup model-major. */
function sharedLayers(c: SharedCase, t: Record<string, Tensor>): Tensor {
  const oh = c.H - c.k + 1;
  const h = tf.reshape(tf.matMul(t.patches!, t.side!), [c.B, oh, oh, c.M * c.O]);
  const p = tf.relu(tf.maxPool(h as tf.Tensor4D, 2, 2, "valid"));
  const ph = oh / 2;
  return tf.reshape(tf.transpose(tf.reshape(p, [c.B * ph * ph, c.M, c.O]), [1, 0, 2]), [
    c.M * c.B,
    ph,
    ph,
    c.O,
  ]);
}

const GROUPED: ConvBlockCase[] = [
  { name: "MNIST conv2", G: 3, B: 4, H: 12, C: 10, O: 20, k: 5 },
  { name: "6 channels out, 3x3 filters", G: 2, B: 3, H: 10, C: 3, O: 6, k: 3 },
  { name: "3 channels out (JavaScript pool)", G: 2, B: 2, H: 7, C: 2, O: 3, k: 2 },
];

function groupedInputs(c: ConvBlockCase): Record<string, HostTensor> {
  return convBlockInputs(c, rngFor(`grouped-conv-pool-${c.name}`));
}

describe("the probe forward's fused conv blocks", () => {
  beforeAll(async () => {
    await selectBackend({ backend: "wasm", quiet: true });
  });

  for (const c of SHARED) {
    test(`sharedConvPoolRelu, ${c.name}: the layers' bits on wasm, their values on cpu`, async () => {
      const inputs = sharedInputs(c);
      const oh = c.H - c.k + 1;
      const sliceBytes = c.sliceRows === undefined ? undefined : c.sliceRows * 4 * 2 * oh * c.M * c.O;
      await selectBackend({ backend: "wasm", quiet: true });
      const before = tf.memory().numTensors;
      const [got] = await computeOn("wasm", inputs, (t) =>
        sharedConvPoolRelu(t.patches!, t.side!, oh, oh, c.M, sliceBytes),
      );
      await selectBackend({ backend: "wasm", quiet: true });
      expect(tf.memory().numTensors).toBe(before);
      const [same] = await computeOn("wasm", inputs, (t) => sharedLayers(c, t));
      const [cpu] = await computeOn("cpu", inputs, (t) => sharedLayers(c, t));
      expect(got!.shape).toEqual([c.M * c.B, oh / 2, oh / 2, c.O]);
      expect([`seed=${TEST_SEED}`, sameBits(got!.data, same!.data)]).toEqual([`seed=${TEST_SEED}`, true]);
      expect(expectClose(got!, cpu!, `${c.name} seed=${TEST_SEED}`)).toBeNull();
      // Not trivially zero: some windows passed the ReLU, some did not.
      expect(got!.data.some((v) => v > 0) && got!.data.some((v) => v === 0)).toBe(true);
    });
  }

  for (const c of GROUPED) {
    test(`groupedConvPoolReluInference, ${c.name}: the layers' bits on wasm, their values on cpu`, async () => {
      const inputs = groupedInputs(c);
      await selectBackend({ backend: "wasm", quiet: true });
      const before = tf.memory().numTensors;
      const [got] = await computeOn("wasm", inputs, (t) => groupedConvPoolReluInference(t.x!, t.w!, t.b!));
      await selectBackend({ backend: "wasm", quiet: true });
      expect(tf.memory().numTensors).toBe(before);
      const [same] = await computeOn("wasm", inputs, (t) =>
        tf.relu(tf.maxPool(groupedConv2d(t.x!, t.w!, { bias: t.b! }) as tf.Tensor4D, 2, 2, "valid")),
      );
      const [cpu] = await computeOn("cpu", inputs, (t) => convPoolLayers(c.G, { x: t.x!, w: t.w!, b: t.b! }));
      const p = (c.H - c.k + 1) / 2;
      expect(got!.shape).toEqual([c.G * c.B, p, p, c.O]);
      expect([`seed=${TEST_SEED}`, sameBits(got!.data, same!.data)]).toEqual([`seed=${TEST_SEED}`, true]);
      expect(expectClose(got!, cpu!, `${c.name} seed=${TEST_SEED}`)).toBeNull();
      expect(got!.data.some((v) => v > 0) && got!.data.some((v) => v === 0)).toBe(true);
    });
  }

  test("shapes that do not fit are refused with the shapes named", async () => {
    await selectBackend({ backend: "wasm", quiet: true });
    const t = {
      patches: tf.zeros([2 * 25, 10]),
      side: tf.zeros([10, 12]),
      x: tf.zeros([2, 8, 8, 1]),
      w: tf.zeros([1, 4, 4, 1, 4]),
      b: tf.zeros([1, 4]),
    };
    expect(() => sharedConvPoolRelu(t.patches, t.side, 5, 5, 3)).toThrow(
      "patches [50,10] and side [10,12] do not fit 3 models' 5x5 outputs (even sides)",
    );
    expect(() => groupedConvPoolReluInference(t.x, t.w, t.b)).toThrow(
      "x [2,8,8,1], w [1,4,4,1,4] and b [1,4] do not fit 1 groups with even output sides",
    );
    tf.dispose(Object.values(t));
  });
});
