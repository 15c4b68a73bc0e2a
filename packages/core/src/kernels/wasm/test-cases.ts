/**
 * Random convolution and pooling configurations for the wasm kernel tests (shared by the test
 * files of this folder), with the seed shown in every failure message.
 */
import { type HostTensor, relativeError, runKernelOn } from "../../backend/compare.ts";
import { Rng } from "../../random.ts";
import { tf } from "../../tf.ts";

/** Seed for this run's random inputs: UPDATES_LEAK_TEST_SEED, else fresh. */
export const TEST_SEED = Number(process.env.UPDATES_LEAK_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));

export function rngFor(name: string): Rng {
  return new Rng(`${name}:${TEST_SEED}`);
}

export function randomTensor(rng: Rng, shape: number[]): HostTensor {
  let n = 1;
  for (const d of shape) n *= d;
  return { shape, data: rng.normals(n) };
}

export type Pad = "same" | "valid" | [[number, number], [number, number], [number, number], [number, number]];

export interface ConvCase {
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: [number, number];
  pad: Pad;
}

/** A random NHWC conv case: batch 1-3, spatial 1-9, channels 1-4, filter 1-5, strides 1-3. */
/** Explicit padding, unequal on each side (2 rows on top, a column each side), stride 1. */
export const EXPLICIT_PAD_CASE: ConvCase = {
  x: [2, 6, 7, 2],
  filter: [3, 2, 2, 3],
  strides: [1, 1],
  pad: [
    [0, 0],
    [2, 0],
    [1, 1],
    [0, 0],
  ],
};

export function randomConvCase(rng: Rng): ConvCase {
  for (;;) {
    const fh = 1 + rng.int(5);
    const fw = 1 + rng.int(5);
    const h = 1 + rng.int(9);
    const w = 1 + rng.int(9);
    const strides: [number, number] = [1 + rng.int(3), 1 + rng.int(3)];
    const kind = rng.int(3);
    const pad: Pad =
      kind === 0
        ? "same"
        : kind === 1
          ? "valid"
          : [
              [0, 0],
              [rng.int(fh), rng.int(fh)],
              [rng.int(fw), rng.int(fw)],
              [0, 0],
            ];
    const c: ConvCase = {
      x: [1 + rng.int(3), h, w, 1 + rng.int(4)],
      filter: [fh, fw, 0, 1 + rng.int(4)],
      strides,
      pad,
    };
    c.filter[2] = c.x[3];
    const info = convInfo(c);
    if (info.outHeight > 0 && info.outWidth > 0) return c;
  }
}

export function convInfo(c: ConvCase): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    c.x,
    c.filter,
    c.strides,
    1,
    c.pad,
    undefined,
    false,
    "channelsLast",
  );
}

export function describeCase(c: ConvCase): string {
  return `x=${c.x} filter=${c.filter} strides=${c.strides} pad=${JSON.stringify(c.pad)} seed=${TEST_SEED}`;
}

/** Relative error bound for float32 results (see compare.ts for the definition). */
export const FLOAT32_TOLERANCE = 1e-5;

/**
 * `actual` against `reference` within FLOAT32_TOLERANCE relative to the reference's largest value,
 * or, given `scale`, to its largest value: for a sum of products, the same sum of their absolute
 * values, float32 rounding's own bound. A few terms that cancel leave a result far smaller than
 * its terms, whose rounding error is then large relative to the result alone (x [1,5,5,1] with a
 * 1x1 filter: one sum of 25 signed products).
 */
export function expectClose(
  actual: HostTensor,
  reference: HostTensor,
  what: string,
  scale?: HostTensor,
): string | null {
  if (actual.shape.join() !== reference.shape.join())
    return `${what}: shape ${actual.shape} vs ${reference.shape}`;
  let e = relativeError(actual.data, reference.data);
  if (scale) {
    let diff = 0;
    for (let i = 0; i < reference.data.length; i++)
      diff = Math.max(diff, Math.abs(actual.data[i]! - reference.data[i]!));
    e = diff / Math.max(1e-30, ...Array.from(scale.data, Math.abs));
  }
  return e <= FLOAT32_TOLERANCE ? null : `${what}: relative error ${e.toExponential(2)}`;
}

const absolute = (t: HostTensor): HostTensor => ({
  shape: t.shape,
  data: Float32Array.from(t.data, Math.abs),
});

/**
 * The conv block as the model layers compute it, one group at a time (the reference for the fused
 * blocks): relu(maxpool2x2(conv(x_g, w_g) + b_g) * mask) for x [G*B, H, W, C], w [G, k, k, C, O],
 * b [G, O], mask [G*B, O] or undefined. One group goes by reshape: tfjs's gradients of a one-way
 * split and unstack fail.
 */
export function convPoolLayers(
  G: number,
  t: { x: tf.Tensor; w: tf.Tensor; b: tf.Tensor; mask?: tf.Tensor },
): tf.Tensor {
  const O = t.w.shape[4]!;
  const xs = G === 1 ? [t.x] : tf.split(t.x, G, 0);
  const ws = G === 1 ? [tf.reshape(t.w, t.w.shape.slice(1))] : tf.unstack(t.w, 0);
  const bs = G === 1 ? [tf.reshape(t.b, [O])] : tf.unstack(t.b, 0);
  const z = tf.concat(
    xs.map((xg, g) => tf.add(tf.conv2d(xg as tf.Tensor4D, ws[g] as tf.Tensor4D, 1, "valid"), bs[g]!)),
    0,
  );
  const masked = t.mask ? tf.mul(z, tf.reshape(t.mask, [t.x.shape[0]!, 1, 1, O])) : z;
  return tf.relu(tf.maxPool(masked as tf.Tensor4D, 2, 2, "valid"));
}

/**
 * The wasm kernel of a convolution's filter or input gradient against cpu's, on case c's random
 * inputs (x or the filter, then dy) from rngFor(seedName): the failure message, or null.
 */
export async function checkConvBackprop(
  kernel: "Conv2DBackpropFilter" | "Conv2DBackpropInput",
  c: ConvCase,
  seedName: string,
): Promise<string | null> {
  const rng = rngFor(seedName);
  const info = convInfo(c);
  const filterGrad = kernel === "Conv2DBackpropFilter";
  const given = randomTensor(rng, filterGrad ? c.x : c.filter);
  const dy = randomTensor(rng, [c.x[0], info.outHeight, info.outWidth, c.filter[3]]);
  const common = { strides: c.strides, pad: c.pad, dataFormat: "NHWC" };
  const [inputs, attrs] = filterGrad
    ? [
        { x: given, dy },
        { ...common, filterShape: c.filter },
      ]
    : [
        { dy, filter: given },
        { ...common, inputShape: c.x },
      ];
  const [got] = await runKernelOn("wasm", kernel, inputs, attrs);
  const [want] = await runKernelOn("cpu", kernel, inputs, attrs);
  // The same sums over the inputs' absolute values: the scale of each output's rounding error.
  const absInputs = Object.fromEntries(Object.entries(inputs).map(([k, v]) => [k, absolute(v)]));
  const [scale] = await runKernelOn("cpu", kernel, absInputs, attrs);
  return expectClose(got!, want!, describeCase(c), scale);
}

/** `check` on `n` random cases drawn from rngFor(name) (seeds random0, random1, ...): the failure messages. */
export async function randomCaseFailures(
  name: string,
  n: number,
  check: (c: ConvCase, seedName: string) => Promise<string | null>,
): Promise<string[]> {
  const rng = rngFor(name);
  const failures: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = await check(randomConvCase(rng), `random${i}`);
    if (f) failures.push(f);
  }
  return failures;
}

/** A conv block case: G groups of B samples, x [G*B, H, H, C], k x k filters, O channels out. */
export interface ConvBlockCase {
  name: string;
  G: number;
  B: number;
  H: number;
  C: number;
  O: number;
  k: number;
}

/** Random x, w [G, k, k, C, O] and b [G, O] for case c, drawn from `rng` in that order. */
export function convBlockInputs(c: ConvBlockCase, rng: Rng): { x: HostTensor; w: HostTensor; b: HostTensor } {
  return {
    x: randomTensor(rng, [c.G * c.B, c.H, c.H, c.C]),
    w: randomTensor(rng, [c.G, c.k, c.k, c.C, c.O]),
    b: randomTensor(rng, [c.G, c.O]),
  };
}
