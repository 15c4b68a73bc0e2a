/**
 * Output-side defences applied to posteriors (see spec.ts for the language): what the owner's API
 * does to every posterior before returning it. Every query gets fresh noise: the adversary's query
 * before the update and the one after it draw from their own streams. Host arrays only (posteriors
 * are read back anyway); no I/O.
 */
import type { Rng } from "../random.ts";
import { type Defence, type DefenceStep, isRandomDefence } from "./spec.ts";

/** Indices of a row's `k` largest values, larger first, ties to the lower index. */
function topIndices(p: Float32Array, from: number, n: number, k: number): number[] {
  const order: number[] = [];
  for (let c = 0; c < n; c++) {
    let at = order.length;
    while (at > 0 && p[from + c]! > p[from + order[at - 1]!]!) at--;
    if (at < k) {
      order.splice(at, 0, c);
      if (order.length > k) order.pop();
    }
  }
  return order;
}

function applyStep(step: DefenceStep, p: Float32Array, from: number, n: number, rng: Rng | null): void {
  if (step.kind === "dpsgd" || step.kind === "replay" || step.kind === "updates") return; // the update side
  if (step.kind === "topk" || step.kind === "label") {
    const keep = topIndices(p, from, n, step.kind === "topk" ? step.k : 1);
    const kept = keep.map((c) => p[from + c]!);
    p.fill(0, from, from + n);
    keep.forEach((c, i) => {
      p[from + c] = step.kind === "label" ? 1 : kept[i]!;
    });
  } else if (step.kind === "round") {
    const scale = 10 ** step.decimals;
    for (let c = from; c < from + n; c++) p[c] = Math.round(p[c]! * scale) / scale;
  } else {
    if (!rng) throw new Error("applyDefence: a noise step needs a random stream");
    let sum = 0;
    for (let c = from; c < from + n; c++) {
      const v = Math.max(0, p[c]! + step.sigma * rng.normal());
      p[c] = v;
      sum += v;
    }
    for (let c = from; c < from + n; c++) p[c] = sum > 0 ? p[c]! / sum : 1 / n;
  }
}

/**
 * Applies `defence` in place to `p`, rows of `classes` posteriors (e.g. one query's probes).
 * `rng` draws the noise (rows in order, classes in order); needed only by a random defence.
 */
export function applyDefence(
  defence: Defence,
  p: Float32Array,
  classes: number,
  rng: Rng | null = null,
): Float32Array {
  if (p.length % classes !== 0) {
    throw new Error(`applyDefence: ${p.length} values are not rows of ${classes} classes`);
  }
  for (let from = 0; from < p.length; from += classes) {
    for (const step of defence) applyStep(step, p, from, classes, rng);
  }
  return p;
}

/**
 * Deltas of defended queries: for model j, D(p_old) - D(p_new[j]), each query defended with its
 * own stream (`rngs[j].fork("before")`, `rngs[j].fork("after")`). `pOld` [probes*classes] is the
 * original model's posteriors, `pNew` [models, probes*classes] the updated models'.
 */
export function defendedDeltas(
  defence: Defence,
  pOld: Float32Array,
  pNew: Float32Array,
  classes: number,
  rngs: readonly Rng[] | null,
): Float32Array {
  const d = pOld.length;
  const models = pNew.length / d;
  if (!Number.isInteger(models)) {
    throw new Error(`defendedDeltas: ${pNew.length} values are not models of ${d} posteriors`);
  }
  const random = isRandomDefence(defence);
  if (random && (!rngs || rngs.length !== models)) {
    throw new Error(`defendedDeltas: a random defence needs one stream per model (${models})`);
  }
  const out = new Float32Array(pNew.length);
  // Without noise the answer before the update is the same for every model: defended once.
  const fixed = random ? null : applyDefence(defence, pOld.slice(), classes);
  for (let j = 0; j < models; j++) {
    const before = fixed ?? applyDefence(defence, pOld.slice(), classes, rngs![j]!.fork("before"));
    const after = pNew.slice(j * d, (j + 1) * d);
    applyDefence(defence, after, classes, random ? rngs![j]!.fork("after") : null);
    for (let i = 0; i < d; i++) out[j * d + i] = before[i]! - after[i]!;
  }
  return out;
}
