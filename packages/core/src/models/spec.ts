/**
 * One description per target architecture, used by the reference path, training and the batched
 * engine alike, so they cannot drift apart. Layouts follow tfjs: images NHWC, conv filters
 * [kh, kw, in, out], dense weights [in, out]. Convolutions are 'valid' with stride 1, pooling 2x2.
 */

import type { Rng } from "../random.ts";
import { sizeFromShape } from "../shape.ts";

/**
 * One layer of a model: conv (k×k, 'valid', stride 1), dense, maxpool, relu, dropout2d (per channel), dropout or flatten.
 */
export type Layer =
  | { kind: "conv"; in: number; out: number; k: number }
  | { kind: "dense"; in: number; out: number }
  | { kind: "maxpool"; size: number }
  | { kind: "relu" }
  | { kind: "dropout2d"; p: number }
  | { kind: "dropout"; p: number }
  | { kind: "flatten" };

/**
 * A sequential classifier the engine can update: input shape, classes and layers (softmax output implied).
 */
export interface ModelSpec {
  name: string;
  /** Input sample shape [h, w, c] for images, [features] for vectors. */
  inputShape: readonly number[];
  numClasses: number;
  layers: readonly Layer[];
}

/** MNIST CNN of the authors' code (PAPER.md). */
export const mnistCnn: ModelSpec = {
  name: "mnist-cnn",
  inputShape: [28, 28, 1],
  numClasses: 10,
  layers: [
    { kind: "conv", in: 1, out: 10, k: 5 },
    { kind: "maxpool", size: 2 },
    { kind: "relu" },
    { kind: "conv", in: 10, out: 20, k: 5 },
    { kind: "dropout2d", p: 0.5 },
    { kind: "maxpool", size: 2 },
    { kind: "relu" },
    { kind: "flatten" },
    { kind: "dense", in: 320, out: 50 },
    { kind: "relu" },
    { kind: "dropout", p: 0.5 },
    { kind: "dense", in: 50, out: 10 },
  ],
};

/** CIFAR-10 CNN: two conv layers, one max pooling, three dense layers [paper]; sizes [choice]. */
export const cifarCnn: ModelSpec = {
  name: "cifar10-cnn",
  inputShape: [32, 32, 3],
  numClasses: 10,
  layers: [
    { kind: "conv", in: 3, out: 6, k: 5 },
    { kind: "relu" },
    { kind: "maxpool", size: 2 },
    { kind: "conv", in: 6, out: 16, k: 5 },
    { kind: "relu" },
    { kind: "flatten" },
    { kind: "dense", in: 1600, out: 120 },
    { kind: "relu" },
    { kind: "dense", in: 120, out: 84 },
    { kind: "relu" },
    { kind: "dense", in: 84, out: 10 },
  ],
};

/** Insta-NY MLP: three dense layers [paper]; 168 -> 128 -> 64 -> 8 [choice]. */
export const instaMlp: ModelSpec = {
  name: "insta-ny-mlp",
  inputShape: [168],
  numClasses: 8,
  layers: [
    { kind: "dense", in: 168, out: 128 },
    { kind: "relu" },
    { kind: "dense", in: 128, out: 64 },
    { kind: "relu" },
    { kind: "dense", in: 64, out: 8 },
  ],
};

/** The paper's target models, one per data set: the MNIST and CIFAR-10 CNNs and the Insta-NY MLP. */
export const SPECS = { mnist: mnistCnn, cifar10: cifarCnn, "insta-ny": instaMlp } as const;

/** A parametrised layer's weight and bias shapes. */
export function paramShapes(layer: Layer): [number[], number[]] | null {
  if (layer.kind === "conv") return [[layer.k, layer.k, layer.in, layer.out], [layer.out]];
  if (layer.kind === "dense") return [[layer.in, layer.out], [layer.out]];
  return null;
}

/** Shapes of all parameter arrays in order: w0, b0, w1, b1, ... */
export function allParamShapes(spec: ModelSpec): number[][] {
  const out: number[][] = [];
  for (const l of spec.layers) {
    const s = paramShapes(l);
    if (s) out.push(s[0], s[1]);
  }
  return out;
}

/** Plain parameters of one model: one Float32Array per weight/bias, in `allParamShapes` order. */
export type Params = Float32Array[];

/**
 * PyTorch's default initialisation (kaiming_uniform with a = sqrt(5)): weights and biases
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)), drawn from a seeded Rng.
 */
export function initParams(spec: ModelSpec, rng: Rng): Params {
  const out: Params = [];
  for (const l of spec.layers) {
    const s = paramShapes(l);
    if (!s) continue;
    const fanIn = l.kind === "conv" ? l.k * l.k * l.in : l.kind === "dense" ? l.in : 1;
    const bound = 1 / Math.sqrt(fanIn);
    for (const shape of s) {
      const n = sizeFromShape(shape);
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = (rng.next() * 2 - 1) * bound;
      out.push(a);
    }
  }
  return out;
}

/** Output shape (without batch) after each layer, for checks and mask sizes. */
export function layerOutputShapes(spec: ModelSpec): number[][] {
  let shape = [...spec.inputShape];
  const out: number[][] = [];
  for (const l of spec.layers) {
    switch (l.kind) {
      case "conv": {
        const [h, w] = shape as [number, number, number];
        shape = [h - l.k + 1, w - l.k + 1, l.out];
        break;
      }
      case "maxpool": {
        const [h, w, c] = shape as [number, number, number];
        shape = [Math.floor(h / l.size), Math.floor(w / l.size), c];
        break;
      }
      case "flatten":
        shape = [sizeFromShape(shape)];
        break;
      case "dense":
        shape = [l.out];
        break;
      default:
        break;
    }
    out.push([...shape]);
  }
  return out;
}

/** The number of trainable parameters of a spec. */
export function paramCount(spec: ModelSpec): number {
  return allParamShapes(spec).reduce((a, s) => a + sizeFromShape(s), 0);
}
