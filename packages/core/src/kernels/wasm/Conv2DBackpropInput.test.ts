import { beforeAll, describe, expect, test } from "bun:test";
import { selectBackend } from "../../backend/select.ts";
import { tf } from "../../tf.ts";
import { type ConvCase, checkConvBackprop, EXPLICIT_PAD_CASE, randomCaseFailures } from "./test-cases.ts";

const check = (c: ConvCase, seedName: string) => checkConvBackprop("Conv2DBackpropInput", c, seedName);

describe("wasm Conv2DBackpropInput (stride 1 through Conv2D, else the package's kernel)", () => {
  beforeAll(async () => {
    await selectBackend({ backend: "wasm", quiet: true });
  });

  test("matches cpu for stride 1 with same, valid and explicit padding", async () => {
    const before = tf.memory().numTensors;
    const cases: ConvCase[] = [
      { x: [2, 8, 8, 3], filter: [3, 3, 3, 4], strides: [1, 1], pad: "same" },
      { x: [2, 8, 7, 3], filter: [4, 2, 3, 4], strides: [1, 1], pad: "same" },
      { x: [1, 6, 6, 2], filter: [5, 5, 2, 3], strides: [1, 1], pad: "valid" },
      EXPLICIT_PAD_CASE,
      { x: [16, 12, 12, 8], filter: [5, 5, 8, 16], strides: [1, 1], pad: "valid" },
    ];
    for (const [i, c] of cases.entries()) expect(await check(c, `stride1-${i}`)).toBeNull();
    expect(tf.memory().numTensors).toBe(before);
  });

  test("matches cpu on 40 random shapes, strides and paddings", async () => {
    expect(await randomCaseFailures("conv-input-cases", 40, check)).toEqual([]);
  });
});
