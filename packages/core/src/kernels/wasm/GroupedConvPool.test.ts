/**
 * The conv block's SIMD kernels (simd/kernels.wat) against their JavaScript paths (conv-pool.ts),
 * bit for bit, on fresh random inputs: the pool with ties, NaN, infinities and signed zeros; the
 * gradient through both SIMD paths (the 5x5 one-channel filter gradient in registers, and the
 * general kernel with and without input gradient). The values themselves are checked against the
 * layers on cpu in ops/conv-pool.test.ts.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import { sameBits, sameBitsOrNaN } from "../../backend/compare.ts";
import { selectBackend } from "../../backend/select.ts";
import { GROUPED_CONV_POOL_GRAD } from "../../ops/conv-pool.ts";
import { tf } from "../../tf.ts";
import {
  type ConvPoolDims,
  convPoolGradJs,
  poolReluMaskJs,
  poolReluRegroupJs,
  transposeFilters,
  untransposeFilters,
} from "./conv-pool.ts";
import { simdKernels } from "./simd/instance.ts";
import { rngFor, TEST_SEED } from "./test-cases.ts";

const gradCases: (ConvPoolDims & { mask: boolean; inputGrad: boolean; shared?: boolean })[] = [
  // 5x5 filters, one channel, no input gradient: the register path (MNIST's first layer)
  { G: 2, B: 3, H: 28, W: 28, C: 1, k: 5, O: 10, mask: false, inputGrad: false },
  { G: 1, B: 2, H: 10, W: 14, C: 1, k: 5, O: 3, mask: true, inputGrad: false },
  // the general kernel: rows of 50, 15, 5 and 8 values, with and without input gradient
  { G: 2, B: 3, H: 12, W: 12, C: 10, k: 5, O: 20, mask: true, inputGrad: true },
  { G: 3, B: 2, H: 14, W: 10, C: 3, k: 5, O: 6, mask: false, inputGrad: false },
  { G: 2, B: 2, H: 10, W: 10, C: 1, k: 5, O: 7, mask: true, inputGrad: true },
  { G: 1, B: 4, H: 9, W: 11, C: 2, k: 4, O: 4, mask: false, inputGrad: true },
  // one set of filters for every group (w [1, ...], attr groups): per-sample gradients
  { G: 5, B: 1, H: 12, W: 12, C: 10, k: 5, O: 20, mask: true, inputGrad: true, shared: true },
  { G: 4, B: 1, H: 28, W: 28, C: 1, k: 5, O: 10, mask: false, inputGrad: false, shared: true },
];

describe("conv block kernels: SIMD pooling equals JavaScript bit for bit", () => {
  let backend: BackendWasm;
  beforeAll(async () => {
    await selectBackend({ backend: "wasm", quiet: true });
    backend = tf.backend() as BackendWasm;
  });

  test("poolReluMask2x2: 4-20 channels, with and without mask; NaN, infinities, ties, signed zeros", async () => {
    const simd = simdKernels(backend);
    expect(simd).not.toBeNull(); // this runtime has WebAssembly SIMD, so the path runs
    const rng = rngFor("pool-relu-mask");
    const specials = [Number.NaN, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, -0, 0, 1, -1];
    const before = tf.memory().numTensors;
    const failures: string[] = [];
    for (const O of [4, 5, 7, 10, 13, 20]) {
      for (const [GB, ph, pw] of [
        [1, 1, 1],
        [3, 2, 5],
        [2, 12, 12],
      ] as [number, number, number][]) {
        for (const withMask of [false, true]) {
          const zData = rng
            .normals(GB * 4 * ph * pw * O)
            .map((v, i) => (i % 6 === 0 ? specials[rng.int(specials.length)]! : Math.round(v * 2) / 2));
          const maskData = rng.normals(GB * O).map((v) => (v > 0 ? 2 : v > -0.5 ? 0.5 : 0));
          const z = tf.tensor(zData, [GB, 2 * ph, 2 * pw, O]);
          const mask = withMask ? tf.tensor(maskData, [GB, O]) : null;
          const y = tf.zeros([GB, ph, pw, O]);
          const idx = tf.zeros([GB, ph, pw, O], "int32");
          const at = (t: tf.Tensor | null) => (t ? backend.getMemoryOffset(t.dataId) : 0);
          simd!.poolReluMask2x2(at(z), at(mask), at(y), at(idx), GB, ph, pw, O);
          const wantY = new Float32Array(y.size);
          const wantIdx = new Int32Array(y.size);
          poolReluMaskJs(zData, withMask ? maskData : null, wantY, wantIdx, GB, ph, pw, O);
          const gotIdx = (await idx.data()) as Int32Array;
          const what = `O=${O} [${GB}, ${ph}, ${pw}] mask=${withMask}`;
          // +Infinity times a zero mask is NaN, whose bits x86 SIMD and JavaScript write differently.
          if (!sameBitsOrNaN((await y.data()) as Float32Array, wantY)) failures.push(`${what}: y`);
          if (gotIdx.some((v, i) => v !== wantIdx[i])) failures.push(`${what}: idx`);
          tf.dispose([z, y, idx, ...(mask ? [mask] : [])]);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
  });

  test("poolReluRegroup2x2: 1-7 models, 4-20 channels; NaN, infinities, ties, signed zeros", async () => {
    const simd = simdKernels(backend)!;
    const rng = rngFor("pool-relu-regroup");
    const specials = [Number.NaN, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, -0, 0, 1, -1];
    const before = tf.memory().numTensors;
    const failures: string[] = [];
    for (const C of [4, 5, 6, 10, 13, 20]) {
      for (const M of [1, 3, 7]) {
        for (const [B, ph, pw] of [
          [1, 1, 1],
          [3, 2, 5],
          [2, 6, 6],
        ] as [number, number, number][]) {
          const zData = rng
            .normals(B * 4 * ph * pw * M * C)
            .map((v, i) => (i % 5 === 0 ? specials[rng.int(specials.length)]! : Math.round(v * 2) / 2));
          const z = tf.tensor(zData, [B, 2 * ph, 2 * pw, M * C]);
          const y = tf.zeros([M * B, ph, pw, C]);
          const tmp = tf.zeros([M * C]);
          const at = (t: tf.Tensor) => backend.getMemoryOffset(t.dataId);
          const stride = B * ph * pw * C;
          simd.poolReluRegroup2x2(at(z), at(y), at(tmp), B, ph, pw, M, C, 4 * stride);
          const want = new Float32Array(y.size);
          poolReluRegroupJs(zData, want, B, ph, pw, M, C, stride);
          if (!sameBitsOrNaN((await y.data()) as Float32Array, want))
            failures.push(`C=${C} M=${M} [${B}, ${ph}, ${pw}]`);
          tf.dispose([z, y, tmp]);
        }
      }
    }
    expect(failures).toEqual([]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe("conv block kernels: SIMD gradient equals JavaScript bit for bit", () => {
  beforeAll(async () => {
    await selectBackend({ backend: "wasm", quiet: true });
  });

  for (const c of gradCases) {
    const path = !c.inputGrad && c.k === 5 && c.k * c.C <= 8 ? "register" : "general";
    test(`GroupedConvPoolGrad, ${path} path: G${c.G} B${c.B} ${c.H}x${c.W}x${c.C}, k${c.k}, O${c.O}, mask=${c.mask}, input gradient=${c.inputGrad}${c.shared ? ", shared filters" : ""}`, async () => {
      const rng = rngFor(`conv-pool-grad-${JSON.stringify(c)}`);
      const GB = c.G * c.B;
      const [ph, pw] = [(c.H - c.k + 1) / 2, (c.W - c.k + 1) / 2];
      const nOut = GB * ph * pw * c.O;
      const host = {
        dy: rng.normals(nOut).map((v, i) => (i % 9 === 0 ? 0 : v)),
        y: rng.normals(nOut).map((v) => (v > -0.3 ? Math.abs(v) + 0.1 : v > -0.6 ? 0 : -0)),
        idx: Int32Array.from({ length: nOut }, () => rng.int(4)),
        x: rng.normals(GB * c.H * c.W * c.C),
        w: rng.normals((c.shared ? 1 : c.G) * c.k * c.k * c.C * c.O),
        mask: rng.normals(GB * c.O).map((v) => (v > 0 ? 2 : 0)),
      };
      const before = tf.memory().numTensors;
      const t = {
        dy: tf.tensor(host.dy, [GB, ph, pw, c.O]),
        y: tf.tensor(host.y, [GB, ph, pw, c.O]),
        idx: tf.tensor(host.idx, [GB, ph, pw, c.O], "int32"),
        x: tf.tensor(host.x, [GB, c.H, c.W, c.C]),
        w: tf.tensor(host.w, [c.shared ? 1 : c.G, c.k, c.k, c.C, c.O]),
        ...(c.mask ? { mask: tf.tensor(host.mask, [GB, c.O]) } : {}),
      };
      const attrs: tf.NamedAttrMap = c.shared
        ? { inputGrad: c.inputGrad, groups: c.G }
        : { inputGrad: c.inputGrad };
      const got = tf.engine().runKernel(GROUPED_CONV_POOL_GRAD, t, attrs) as tf.Tensor[];
      const filterSize = c.G * c.O * c.k * c.k * c.C;
      const wT = new Float32Array(filterSize);
      // Shared filters: every group's transposed filters are the one set's.
      const wAll = c.shared
        ? Float32Array.from({ length: filterSize }, (_, i) => host.w[i % host.w.length]!)
        : host.w;
      transposeFilters(wAll, c, wT);
      const dwT = new Float32Array(filterSize);
      const db = new Float32Array(c.G * c.O);
      const dx = c.inputGrad ? new Float32Array(host.x.length) : null;
      // prettier-ignore
      convPoolGradJs(
        c,
        host.dy,
        host.y,
        host.idx,
        host.x,
        c.mask ? host.mask : null,
        c.inputGrad ? wT : null,
        dwT,
        db,
        dx,
      );
      const dw = new Float32Array(filterSize);
      untransposeFilters(dwT, c, dw);
      const want = dx ? [dw, db, dx] : [dw, db];
      expect(got.length).toBe(want.length);
      const differ: string[] = [];
      for (const [i, name] of ["dw", "db", "dx"].slice(0, want.length).entries()) {
        if (!sameBits((await got[i]!.data()) as Float32Array, want[i]!))
          differ.push(`${name} seed=${TEST_SEED}`);
      }
      expect(differ).toEqual([]);
      expect(dw.some((v) => v !== 0)).toBe(true);
      tf.dispose([...got, ...Object.values(t)]);
      expect(tf.memory().numTensors).toBe(before);
    });
  }
});
