import { beforeAll, describe, expect, test } from "bun:test";
import { selectBackend } from "../../backend/select.ts";
import { tf } from "../../tf.ts";
import { type ConvCase, checkConvBackprop, EXPLICIT_PAD_CASE, randomCaseFailures } from "./test-cases.ts";

const check = (c: ConvCase, seedName: string) => checkConvBackprop("Conv2DBackpropFilter", c, seedName);

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
      EXPLICIT_PAD_CASE,
    ];
    for (const [i, c] of cases.entries()) expect(await check(c, `edge${i}`)).toBeNull();
    expect(tf.memory().numTensors).toBe(before);
  });

  test("matches cpu on 40 random shapes, strides and paddings", async () => {
    expect(await randomCaseFailures("conv-filter-cases", 40, check)).toEqual([]);
  });

  test("a CNN-sized case (batch 16, 28x28, 5x5 filters, 'same') matches cpu", async () => {
    const c: ConvCase = { x: [16, 28, 28, 1], filter: [5, 5, 1, 8], strides: [1, 1], pad: "same" };
    expect(await check(c, "cnn")).toBeNull();
  });
});
