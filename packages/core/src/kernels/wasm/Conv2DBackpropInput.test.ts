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
  const filter = randomTensor(rng, c.filter);
  const dy = randomTensor(rng, [c.x[0], info.outHeight, info.outWidth, c.filter[3]]);
  const attrs = { strides: c.strides, pad: c.pad, dataFormat: "NHWC", inputShape: c.x };
  const [got] = await runKernelOn("wasm", "Conv2DBackpropInput", { dy, filter }, attrs);
  const [want] = await runKernelOn("cpu", "Conv2DBackpropInput", { dy, filter }, attrs);
  return expectClose(got!, want!, describeCase(c));
}

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
      { x: [16, 12, 12, 8], filter: [5, 5, 8, 16], strides: [1, 1], pad: "valid" },
    ];
    for (const [i, c] of cases.entries()) expect(await check(c, `stride1-${i}`)).toBeNull();
    expect(tf.memory().numTensors).toBe(before);
  });

  test("matches cpu on 40 random shapes, strides and paddings", async () => {
    const rng = rngFor("conv-input-cases");
    const failures: string[] = [];
    for (let i = 0; i < 40; i++) {
      const f = await check(randomConvCase(rng), `random${i}`);
      if (f) failures.push(f);
    }
    expect(failures).toEqual([]);
  });
});
