import { beforeAll, describe, expect, test } from "bun:test";
import { runKernelOn } from "../../backend/compare.ts";
import { selectBackend } from "../../backend/select.ts";
import { tf } from "../../tf.ts";
import {
  type ConvCase,
  convInfo,
  describeCase,
  expectClose,
  randomConvCase,
  randomTensor,
  rngFor,
} from "./test-cases.ts";

async function check(c: ConvCase, seedName: string): Promise<string | null> {
  const rng = rngFor(seedName);
  const info = convInfo(c);
  const x = randomTensor(rng, c.x);
  const dy = randomTensor(rng, [c.x[0], info.outHeight, info.outWidth, c.filter[3]]);
  const attrs = { strides: c.strides, pad: c.pad, dataFormat: "NHWC", filterShape: c.filter };
  const [got] = await runKernelOn("wasm", "Conv2DBackpropFilter", { x, dy }, attrs);
  const [want] = await runKernelOn("cpu", "Conv2DBackpropFilter", { x, dy }, attrs);
  return expectClose(got!, want!, describeCase(c));
}

describe("wasm Conv2DBackpropFilter (registered by this project)", () => {
  beforeAll(async () => {
    await selectBackend({ backend: "wasm", quiet: true });
  });

  test("is registered for wasm", () => {
    expect(tf.getKernel("Conv2DBackpropFilter", "wasm")).toBeDefined();
  });

  test("matches cpu on edge cases: crop path, 1x1, filter as large as the input", async () => {
    const before = tf.memory().numTensors;
    const cases: ConvCase[] = [
      // valid, stride 2, 8 rows: the forward pass never reads row 7 (result is cropped)
      { x: [2, 8, 8, 3], filter: [3, 3, 3, 4], strides: [2, 2], pad: "valid" },
      { x: [2, 7, 9, 2], filter: [2, 4, 2, 3], strides: [3, 2], pad: "valid" },
      { x: [1, 5, 5, 1], filter: [1, 1, 1, 1], strides: [1, 1], pad: "same" },
      { x: [3, 4, 4, 2], filter: [4, 4, 2, 2], strides: [1, 1], pad: "valid" },
      { x: [2, 9, 9, 3], filter: [5, 5, 3, 4], strides: [2, 2], pad: "same" },
      {
        x: [2, 6, 7, 2],
        filter: [3, 2, 2, 3],
        strides: [1, 1],
        pad: [
          [0, 0],
          [2, 0],
          [1, 1],
          [0, 0],
        ],
      },
    ];
    for (const [i, c] of cases.entries()) expect(await check(c, `edge${i}`)).toBeNull();
    expect(tf.memory().numTensors).toBe(before);
  });

  test("matches cpu on 40 random shapes, strides and paddings", async () => {
    const rng = rngFor("conv-filter-cases");
    const failures: string[] = [];
    for (let i = 0; i < 40; i++) {
      const f = await check(randomConvCase(rng), `random${i}`);
      if (f) failures.push(f);
    }
    expect(failures).toEqual([]);
  });

  test("a CNN-sized case (batch 16, 28x28, 5x5 filters, 'same') matches cpu", async () => {
    const c: ConvCase = { x: [16, 28, 28, 1], filter: [5, 5, 1, 8], strides: [1, 1], pad: "same" };
    expect(await check(c, "cnn")).toBeNull();
  });
});
