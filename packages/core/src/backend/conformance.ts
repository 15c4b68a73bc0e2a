/**
 * Backend conformance cases: small computations run on every available backend and compared with
 * the cpu backend on the same fresh random inputs (relative error as defined in compare.ts,
 * bound `CONFORMANCE_TOLERANCE`). Shapes stay small: WebGPU on lavapipe is ~10x slower than WASM.
 *
 * Covered: matMul (plain, batched, every transpose combination), conv2d forward and both
 * gradients, maxPool and its gradient on signed inputs, softmax cross-entropy gradient, and two
 * SGD-momentum steps of a small CNN.
 *
 * The cpu backend, the reference of the others, is checked against plain-JavaScript float64
 * references (reference64.ts) in every case that has one (all but the CNN steps); comparing cpu
 * with itself would prove nothing.
 */

import type { Rng } from "../random.ts";
import { sizeFromShape } from "../shape.ts";
import { tf } from "../tf.ts";
import type { HostTensor } from "./compare.ts";
import {
  conv2d64,
  conv2dGrads64,
  type Host64,
  matMul64,
  maxPool64,
  softmaxCrossEntropy64,
} from "./reference64.ts";

/** Largest relative error accepted (float32). */
export const CONFORMANCE_TOLERANCE = 1e-5;

export interface ConformanceCase {
  name: string;
  /** Fresh random inputs (host arrays) for one run. */
  inputs(rng: Rng): Record<string, HostTensor>;
  /** The computation; runs inside a tidy on the backend under test. */
  run(t: Record<string, tf.Tensor>): tf.Tensor[];
  /** The outputs of `run` in float64, computed in plain JavaScript (reference64.ts), when known. */
  reference?(inputs: Record<string, HostTensor>): Host64[];
}

function normal(rng: Rng, shape: number[], std = 1): HostTensor {
  return {
    shape,
    data: rng.normals(sizeFromShape(shape), std),
  };
}

function oneHot(rng: Rng, rows: number, classes: number): HostTensor {
  const data = new Float32Array(rows * classes);
  for (let r = 0; r < rows; r++) data[r * classes + rng.int(classes)] = 1;
  return { shape: [rows, classes], data };
}

const matMulCases: ConformanceCase[] = [];
for (const [tA, tB] of [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
] as const) {
  const tag = `${tA ? "T" : "N"}${tB ? "T" : "N"}`;
  matMulCases.push({
    name: `matMul ${tag} [37x45]x[45x29]`,
    inputs: (rng) => ({
      a: normal(rng, tA ? [45, 37] : [37, 45]),
      b: normal(rng, tB ? [29, 45] : [45, 29]),
    }),
    run: (t) => [tf.matMul(t.a!, t.b!, tA, tB)],
    reference: (h) => [matMul64(h.a!.data, h.a!.shape, h.b!.data, h.b!.shape, tA, tB)],
  });
  matMulCases.push({
    name: `batched matMul ${tag} [3,40,33]x[3,33,31]`,
    inputs: (rng) => ({
      a: normal(rng, tA ? [3, 33, 40] : [3, 40, 33]),
      b: normal(rng, tB ? [3, 31, 33] : [3, 33, 31]),
    }),
    run: (t) => [tf.matMul(t.a!, t.b!, tA, tB)],
    reference: (h) => [matMul64(h.a!.data, h.a!.shape, h.b!.data, h.b!.shape, tA, tB)],
  });
}

type Pad = "same" | "valid";
const convConfigs: {
  x: [number, number, number, number];
  f: [number, number, number, number];
  s: number;
  pad: Pad;
}[] = [
  { x: [2, 9, 9, 3], f: [3, 3, 3, 4], s: 1, pad: "same" },
  { x: [2, 9, 8, 2], f: [3, 2, 2, 3], s: 2, pad: "valid" },
  { x: [3, 7, 7, 1], f: [5, 5, 1, 4], s: 1, pad: "valid" },
];

const convCases: ConformanceCase[] = convConfigs.flatMap((c) => {
  const label = `x=[${c.x}] f=[${c.f}] s=${c.s} ${c.pad}`;
  const conv = (x: tf.Tensor, w: tf.Tensor) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.s, c.pad);
  const outShape = tf.backend_util.computeConv2DInfo(c.x, c.f, c.s, 1, c.pad).outShape;
  return [
    {
      name: `conv2d ${label}`,
      inputs: (rng) => ({ x: normal(rng, c.x), w: normal(rng, c.f) }),
      run: (t) => [conv(t.x!, t.w!)],
      reference: (h) => [conv2d64(h.x!.data, c.x, h.w!.data, c.f, c.s, c.pad)],
    },
    {
      name: `conv2d gradients (input, filter) ${label}`,
      inputs: (rng) => ({ x: normal(rng, c.x), w: normal(rng, c.f), r: normal(rng, outShape) }),
      run: (t) => tf.grads((x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(conv(x, w), t.r!)))([t.x!, t.w!]),
      reference: (h) => conv2dGrads64(h.x!.data, c.x, h.w!.data, c.f, h.r!.data, c.s, c.pad),
    },
  ];
});

const poolCases: ConformanceCase[] = [
  { x: [2, 8, 8, 3], size: 2, s: 2, pad: "valid" as Pad },
  { x: [2, 7, 9, 2], size: 3, s: 2, pad: "same" as Pad },
  { x: [1, 6, 6, 4], size: 3, s: 1, pad: "same" as Pad },
].flatMap((c) => {
  const label = `x=[${c.x}] size=${c.size} s=${c.s} ${c.pad}`;
  const pool = (x: tf.Tensor) => tf.maxPool(x as tf.Tensor4D, c.size, c.s, c.pad);
  const outShape = tf.backend_util.computePool2DInfo(
    c.x as [number, number, number, number],
    c.size,
    c.s,
    1,
    c.pad,
  ).outShape;
  // Signed inputs shifted down so that many windows hold only negative values.
  const signed = (rng: Rng) => {
    const h = normal(rng, c.x);
    h.data = h.data.map((v) => v - 1);
    return h;
  };
  return [
    {
      name: `maxPool ${label}`,
      inputs: (rng: Rng) => ({ x: signed(rng) }),
      run: (t) => [pool(t.x!)],
      reference: (h) => [maxPool64(h.x!.data, c.x, c.size, c.s, c.pad).out],
    },
    {
      name: `maxPool gradient, signed inputs, ${label}`,
      inputs: (rng: Rng) => ({ x: signed(rng), r: normal(rng, outShape) }),
      run: (t) => [tf.grad((x: tf.Tensor) => tf.sum(tf.mul(pool(x), t.r!)))(t.x!)],
      reference: (h) => [maxPool64(h.x!.data, c.x, c.size, c.s, c.pad, h.r!.data).grad!],
    },
  ] satisfies ConformanceCase[];
});

const softmaxCase: ConformanceCase = {
  name: "softmax cross-entropy gradient [16x10]",
  inputs: (rng) => ({ logits: normal(rng, [16, 10], 3), labels: oneHot(rng, 16, 10) }),
  run: (t) => {
    const loss = (l: tf.Tensor) => tf.losses.softmaxCrossEntropy(t.labels!, l);
    return [loss(t.logits!), tf.grad(loss)(t.logits!)];
  },
  reference: (h) => softmaxCrossEntropy64(h.logits!.data, h.labels!.data, 16, 10),
};

/** Two SGD-momentum steps of conv(3x3, 4) -> relu -> maxPool 2 -> dense(5) -> softmax CE. */
const cnnStepCase: ConformanceCase = {
  name: "CNN training: 2 SGD-momentum steps (conv, relu, maxPool, dense, softmax CE)",
  inputs: (rng) => ({
    x: normal(rng, [4, 8, 8, 2]),
    labels: oneHot(rng, 4, 5),
    w1: normal(rng, [3, 3, 2, 4], 0.3),
    b1: normal(rng, [4], 0.1),
    w2: normal(rng, [64, 5], 0.2),
    b2: normal(rng, [5], 0.1),
  }),
  run: (t) => {
    const vars = ["w1", "b1", "w2", "b2"].map((k) => tf.variable(t[k]!, true, undefined, "float32"));
    const [w1, b1, w2, b2] = vars as [tf.Variable, tf.Variable, tf.Variable, tf.Variable];
    const optimizer = tf.train.momentum(0.05, 0.9);
    const loss = () => {
      const h = tf.relu(tf.add(tf.conv2d(t.x! as tf.Tensor4D, w1 as tf.Tensor4D, 1, "same"), b1));
      const p = tf.maxPool(h as tf.Tensor4D, 2, 2, "valid");
      const logits = tf.add(tf.matMul(tf.reshape(p, [4, 64]), w2), b2);
      return tf.losses.softmaxCrossEntropy(t.labels!, logits) as tf.Scalar;
    };
    const losses: tf.Tensor[] = [];
    for (let step = 0; step < 2; step++) {
      const l = optimizer.minimize(loss, true, vars);
      if (l) losses.push(l);
    }
    const out = [...losses, ...vars.map((v) => tf.clone(v))];
    optimizer.dispose();
    // tfjs 4.22's MomentumOptimizer.dispose forgets the learning-rate scalar of its SGD base.
    const lr = (optimizer as unknown as { c?: tf.Tensor }).c;
    if (lr && !lr.isDisposed) lr.dispose();
    for (const v of vars) v.dispose();
    return out;
  },
};

/** Every conformance case. */
export const CONFORMANCE_CASES: readonly ConformanceCase[] = [
  ...matMulCases,
  ...convCases,
  ...poolCases,
  softmaxCase,
  cnnStepCase,
];
