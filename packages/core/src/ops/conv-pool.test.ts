/**
 * The fused conv block (groupedConvPoolRelu, wasm) against the layers it replaces run one by one
 * on cpu (tf.conv2d per group, bias, mask, tf.maxPool, tf.relu, and tfjs's own gradients), on
 * fresh random inputs: forward values and the gradients of x, w and b. Seed in failure messages.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { computeOn, type HostTensor } from "../backend/compare.ts";
import { availableBackends, selectBackend } from "../backend/select.ts";
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
import { convPoolFusable, groupedConvPoolRelu } from "./conv-pool.ts";
import { convPoolInferenceFusable } from "./conv-pool-inference.ts";

interface BlockCase extends ConvBlockCase {
  mask: boolean;
  inputGrad: boolean;
}

const CASES: BlockCase[] = [
  // The 5x5, one-channel filter gradient held in registers (MNIST's first layer).
  { name: "MNIST conv1", G: 2, B: 3, H: 12, C: 1, O: 10, k: 5, mask: false, inputGrad: false },
  {
    name: "MNIST conv2 (dropout2d, input gradient)",
    G: 2,
    B: 3,
    H: 12,
    C: 10,
    O: 20,
    k: 5,
    mask: true,
    inputGrad: true,
  },
  { name: "CIFAR-10 conv1", G: 2, B: 2, H: 14, C: 3, O: 6, k: 5, mask: false, inputGrad: false },
  // Fewer than 4 channels out: the pool runs in JavaScript.
  { name: "3 channels out, 4x4 filters", G: 3, B: 2, H: 9, C: 2, O: 3, k: 4, mask: true, inputGrad: true },
  // One channel in with an input gradient: the general kernel with a row tail.
  { name: "1 channel in, input gradient", G: 1, B: 2, H: 10, C: 1, O: 5, k: 5, mask: true, inputGrad: true },
];

/** y, then the gradients (x if inputGrad, w, b) of sum(y * up). */
function withGrads(c: BlockCase, block: (t: Record<string, Tensor>) => Tensor) {
  return (t: Record<string, Tensor>): Tensor[] => {
    const loss = (...v: Tensor[]) => {
      const inputs = c.inputGrad ? { ...t, x: v[0]!, w: v[1]!, b: v[2]! } : { ...t, w: v[0]!, b: v[1]! };
      return tf.sum(tf.mul(block(inputs), t.up!)) as tf.Scalar;
    };
    const vars = c.inputGrad ? [t.x!, t.w!, t.b!] : [t.w!, t.b!];
    return [block(t), ...tf.grads(loss)(vars)];
  };
}

function inputsFor(c: BlockCase, seed: string): Record<string, HostTensor> {
  const rng = rngFor(seed);
  const p = (c.H - c.k + 1) / 2;
  const mask = { shape: [c.G * c.B, c.O], data: rng.normals(c.G * c.B * c.O).map((v) => (v > 0 ? 2 : 0)) };
  return {
    ...convBlockInputs(c, rng),
    up: randomTensor(rng, [c.G * c.B, p, p, c.O]),
    ...(c.mask ? { mask } : {}),
  };
}

const backends = await availableBackends();

describe("groupedConvPoolRelu: the fused conv block", () => {
  beforeAll(async () => {
    await selectBackend({ backend: "wasm", quiet: true });
  });

  test("runs fused on wasm only, in training and in the probe pass; other backends run the layers one by one", async () => {
    for (const backend of backends) {
      await selectBackend({ backend, quiet: true, allowSoftware: true });
      const wasm = backend === "wasm";
      expect([backend, convPoolFusable(), convPoolInferenceFusable()]).toEqual([backend, wasm, wasm]);
    }
  });

  for (const c of CASES) {
    test(`${c.name}: values and gradients equal the layers' on cpu`, async () => {
      const inputs = inputsFor(c, `conv-pool-${c.name}`);
      const fused = (t: Record<string, Tensor>) =>
        groupedConvPoolRelu(t.x!, t.w!, t.b!, c.mask ? t.mask! : null, c.inputGrad);
      await selectBackend({ backend: "wasm", quiet: true });
      const before = tf.memory().numTensors;
      const got = await computeOn("wasm", inputs, withGrads(c, fused));
      await selectBackend({ backend: "wasm", quiet: true });
      expect(tf.memory().numTensors).toBe(before);
      const want = await computeOn(
        "cpu",
        inputs,
        withGrads(c, (t) =>
          convPoolLayers(c.G, { x: t.x!, w: t.w!, b: t.b!, ...(c.mask ? { mask: t.mask! } : {}) }),
        ),
      );
      const names = c.inputGrad ? ["y", "dx", "dw", "db"] : ["y", "dw", "db"];
      const failures = names.map((n, i) =>
        expectClose(got[i]!, want[i]!, `${c.name} ${n} seed=${TEST_SEED}`),
      );
      expect(failures.filter((f) => f !== null)).toEqual([]);
      // The gradient is not trivially zero: some windows passed the ReLU.
      expect(want[names.indexOf("dw")]!.data.some((v) => v !== 0)).toBe(true);
    });
  }

  test("an odd convolution output is refused with the sizes named", async () => {
    await selectBackend({ backend: "wasm", quiet: true });
    const x = tf.zeros([1, 8, 8, 1]);
    const w = tf.zeros([1, 4, 4, 1, 4]);
    const b = tf.zeros([1, 4]);
    expect(() => groupedConvPoolRelu(x, w, b, null, false)).toThrow("output 5x5 must have even sides");
    tf.dispose([x, w, b]);
  });
});
