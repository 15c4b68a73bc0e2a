/**
 * Nominal FLOP counts (a multiply-add counts 2) of the model math, from the model spec: what the
 * GFLOP/s figures divide by. Only matMul and convolution multiply-adds count; biases, activations,
 * pooling, dropout, softmax and the engine's own reshuffling (im2col, transposes) do not.
 *
 *   matMul [M,K]x[K,N]                      2*M*K*N
 *   conv2d 'valid', stride 1, batch B       2*B*OH*OW*KH*KW*C*O   (each gradient: the same count)
 *   forward of one sample, F                sum over conv layers of 2*OH*OW*K*K*C*O
 *                                           + sum over dense layers of 2*IN*OUT
 *   training on one sample                  3F - F1 (forward, weight gradients, input gradients
 *                                           of every parametrised layer but the first, F1)
 *   one updated model, set size S, P probes S*(3F - F1) + P*F
 */
import { layerOutputShapes, type ModelSpec } from "@updates-leak/core";

export const FLOP_FORMULA = {
  matMul: "2*M*K*N",
  conv2d: "2*B*OH*OW*KH*KW*C*O",
  train:
    "B*(3F - F1), F = forward FLOP per sample (conv: 2*OH*OW*K*K*C*O, dense: 2*IN*OUT), F1 = first layer's",
  /** Per updated model: S samples per set, P probes. */
  updatedModel: "S*(3F - F1) + P*F",
} as const;

export function matMulFlops(m: number, k: number, n: number): number {
  return 2 * m * k * n;
}

export function conv2dFlops(batch: number, oh: number, ow: number, k: number, c: number, o: number): number {
  return 2 * batch * oh * ow * k * k * c * o;
}

/** Forward FLOP per sample of each parametrised layer, in order. */
export function layerFlops(spec: ModelSpec): number[] {
  const shapes = layerOutputShapes(spec);
  const out: number[] = [];
  spec.layers.forEach((l, i) => {
    if (l.kind === "conv") {
      const [oh, ow] = shapes[i] as [number, number, number];
      out.push(conv2dFlops(1, oh, ow, l.k, l.in, l.out));
    } else if (l.kind === "dense") {
      out.push(matMulFlops(1, l.in, l.out));
    }
  });
  return out;
}

/** F: forward FLOP per sample. */
export function forwardFlops(spec: ModelSpec): number {
  return layerFlops(spec).reduce((a, b) => a + b, 0);
}

/** 3F - F1: one sample's forward and backward (no input gradient for the first layer). */
export function trainFlopsPerSample(spec: ModelSpec): number {
  return 3 * forwardFlops(spec) - (layerFlops(spec)[0] ?? 0);
}

/** S*(3F - F1) + P*F: one updated model's update on S samples and its P-probe forward. */
export function updatedModelFlops(spec: ModelSpec, setSize: number, probes: number): number {
  return setSize * trainFlopsPerSample(spec) + probes * forwardFlops(spec);
}
