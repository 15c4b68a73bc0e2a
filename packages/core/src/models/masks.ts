/**
 * Dropout masks drawn from a seeded Rng, so the reference path and the batched engine (and a
 * resumed run) use the very same masks. A mask value is 0 (dropped) or 1/(1-p) (kept, rescaled).
 * dropout2d drops whole channels: one value per (sample, channel).
 */
import type { Rng } from "../random.ts";
import { layerOutputShapes, type ModelSpec } from "./spec.ts";

/** One Float32Array per dropout layer in spec order: [batch, channels] or [batch, units]. */
export type DropoutMasks = Float32Array[];

/** The width (channels or units) of each dropout layer's input, in spec order. */
export function dropoutLayerSizes(spec: ModelSpec): number[] {
  const shapes = layerOutputShapes(spec);
  const out: number[] = [];
  spec.layers.forEach((l, i) => {
    if (l.kind === "dropout2d" || l.kind === "dropout") {
      const s = shapes[i]!;
      out.push(s[s.length - 1]!);
    }
  });
  return out;
}

/** Whether the spec has any dropout layer. */
export function hasDropout(spec: ModelSpec): boolean {
  return dropoutLayerSizes(spec).length > 0;
}

/**
 * Inverted-dropout masks for a batch: each entry 1/(1-p) with probability 1-p, else 0, drawn from `rng`.
 */
export function drawMasks(spec: ModelSpec, batch: number, rng: Rng): DropoutMasks {
  const masks: DropoutMasks = [];
  const sizes = dropoutLayerSizes(spec);
  let d = 0;
  for (const l of spec.layers) {
    if (l.kind !== "dropout2d" && l.kind !== "dropout") continue;
    const n = batch * sizes[d++]!;
    const keep = 1 - l.p;
    const m = new Float32Array(n);
    for (let i = 0; i < n; i++) m[i] = rng.next() < keep ? 1 / keep : 0;
    masks.push(m);
  }
  return masks;
}

/** Masks of all ones (dropout off), for tests that compare paths without dropout. */
export function onesMasks(spec: ModelSpec, batch: number): DropoutMasks {
  return dropoutLayerSizes(spec).map((s) => new Float32Array(batch * s).fill(1));
}

/**
 * Masks of M models for one batch of `batch` samples each, drawn from each model's own generator
 * (as the reference update draws them) and stacked model-major: [M * batch * size] per layer.
 */
export function stackedMasks(spec: ModelSpec, batch: number, rngs: readonly Rng[]): Float32Array[] {
  const per = rngs.map((r) => drawMasks(spec, batch, r));
  return dropoutLayerSizes(spec).map((size, d) => {
    const n = batch * size;
    const all = new Float32Array(rngs.length * n);
    for (let m = 0; m < per.length; m++) all.set(per[m]![d]!, m * n);
    return all;
  });
}
