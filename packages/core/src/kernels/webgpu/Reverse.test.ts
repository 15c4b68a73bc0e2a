import { afterAll, describe, expect, test } from "bun:test";
import { computeOn, relativeError } from "../../backend/compare.ts";
import { selectBackend } from "../../backend/select.ts";
import { probeWebGpu } from "../../backend/webgpu.ts";
import { Rng } from "../../random.ts";
import { sizeFromShape } from "../../shape.ts";
import { tf } from "../../tf.ts";
import { collapseReverse } from "./Reverse.ts";

describe("collapseReverse", () => {
  test("merges runs of reversed and of kept axes", () => {
    expect(collapseReverse([2, 3, 3, 4, 5], [1, 2])).toEqual({ shape: [2, 9, 20], axes: [1] });
    expect(collapseReverse([2, 3, 4, 5, 6], [0, 2, 4])).toEqual({ shape: [2, 3, 4, 5, 6], axes: [0, 2, 4] });
    expect(collapseReverse([2, 3, 4, 5, 6, 7], [0, 1, 2])).toEqual({ shape: [24, 210], axes: [0] });
    expect(collapseReverse([4], [])).toEqual({ shape: [4], axes: [] });
  });
});

const probe = await probeWebGpu();
const usable = probe.adapter !== null && probe.adapter.kind !== "null";

describe.skipIf(!usable)("webgpu Reverse at rank > 4", () => {
  afterAll(async () => {
    await selectBackend({ backend: "cpu", quiet: true });
  });

  test("matches cpu for rank 5 and 6 reversals that reduce to rank <= 4", async () => {
    const rng = new Rng("webgpu-reverse");
    const cases: [number[], number[]][] = [
      [
        [2, 3, 3, 4, 5],
        [1, 2],
      ],
      [
        [2, 3, 3, 4, 5],
        [0, 1, 2],
      ],
      [
        [2, 2, 3, 3, 4, 2],
        [2, 3],
      ],
      [[3, 4], [1]],
    ];
    const before = tf.memory().numTensors;
    for (const [shape, axes] of cases) {
      const x = { shape, data: rng.normals(sizeFromShape(shape)) };
      const f = (t: Record<string, tf.Tensor>) => tf.reverse(t.x!, axes);
      const [got] = await computeOn("webgpu", { x }, f);
      const [want] = await computeOn("cpu", { x }, f);
      expect(got!.shape).toEqual(shape);
      expect(relativeError(got!.data, want!.data)).toBe(0);
    }
    expect(tf.memory().numTensors).toBe(before);
  });

  test("an irreducible rank-5 reversal says why", async () => {
    await selectBackend({ backend: "webgpu", quiet: true });
    const x = tf.zeros([2, 2, 2, 2, 2]);
    expect(() => tf.reverse(x, [0, 2, 4])).toThrow("does not reduce to rank <= 4");
    x.dispose();
  });
});
