/**
 * Random convolution and pooling configurations for the wasm kernel tests (shared by the test
 * files of this folder), with the seed shown in every failure message.
 */
import { type HostTensor, relativeError } from "../../backend/compare.ts";
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

export function expectClose(actual: HostTensor, reference: HostTensor, what: string): string | null {
  if (actual.shape.join() !== reference.shape.join())
    return `${what}: shape ${actual.shape} vs ${reference.shape}`;
  const e = relativeError(actual.data, reference.data);
  return e <= FLOAT32_TOLERANCE ? null : `${what}: relative error ${e.toExponential(2)}`;
}

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
