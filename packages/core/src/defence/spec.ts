/**
 * A defence spec: what the model owner does against the attacks, as a list of steps. Output-side
 * steps (what the API does to each posterior it returns) apply in the order given; the update-side
 * steps change how the owner updates. E.g. `dpsgd:1:1.1+round:2`:
 *
 *   topk:k       keep the k largest probabilities, zero the rest (no renormalisation; ties: the
 *                lower class index wins)
 *   label        the label only: one-hot at the argmax (ties: the lower class index)
 *   round:d      round each probability to d decimals (halves up)
 *   noise:s      add Gaussian noise of standard deviation s to each probability, clip at 0 and
 *                renormalise to sum 1 (an all-zero row becomes uniform)
 *   dpsgd:C:z    the update is DP-SGD: each sample's gradient clipped to L2 norm C, Gaussian noise
 *                of standard deviation z*C added to their sum (dpsgd.ts; single-sample updates)
 *   replay:R     the update is made on the new set mixed with R samples replayed from the
 *                original model's training data, drawn afresh for every update and shuffled in
 *                with the new ones (one new sample among 63 old ones fills the paper's batch of 64)
 *   updates:U    the owner updates U times between the adversary's two queries: the new set's
 *                update at a random place among U - 1 updates with other new sets of the same
 *                size, one step each, the optimiser's state kept from one to the next
 *   none         no step (only alone)
 *
 * Output noise is fresh at every query. Pure parsing and formatting; no tensors, no I/O.
 */
export type DefenceStep =
  | { readonly kind: "topk"; readonly k: number }
  | { readonly kind: "label" }
  | { readonly kind: "round"; readonly decimals: number }
  | { readonly kind: "noise"; readonly sigma: number }
  | { readonly kind: "dpsgd"; readonly clip: number; readonly noiseMultiplier: number }
  | { readonly kind: "replay"; readonly count: number }
  | { readonly kind: "updates"; readonly count: number };

/** A defence: its steps in order; empty is `none`. */
export type Defence = readonly DefenceStep[];

/** DP-SGD's parameters: per-sample clipping norm C and noise multiplier z. */
export interface DpSgdConfig {
  readonly clip: number;
  readonly noiseMultiplier: number;
}

/** What a defence spec looks like, for error messages. */
export const DEFENCE_SYNTAX =
  "none, or steps joined by '+': topk:K (K >= 1), label, round:D (D = 0..8), noise:SIGMA (SIGMA > 0), dpsgd:C:Z (C > 0, Z >= 0), replay:R (R >= 1), updates:U (U >= 2), e.g. round:2+topk:3";

/**
 * Thrown by `parseDefence` for a malformed `--defence` spec; the message names the step and quotes `DEFENCE_SYNTAX`.
 */
export class DefenceSpecError extends Error {}

/** A decimal number (`0.5`, `.5`, `1e-2`), else NaN. */
function decimal(s: string): number {
  return /^(\d+\.?\d*|\.\d+)(e-?\d+)?$/i.test(s) ? Number(s) : Number.NaN;
}

function parseStep(part: string): DefenceStep {
  const [name, arg, ...rest] = part.split(":");
  const bad = (why: string) => new DefenceSpecError(`defence step ${JSON.stringify(part)}: ${why}`);
  if (name === "none") throw bad("none stands alone, not as a step");
  if (!["topk", "label", "round", "noise", "dpsgd", "replay", "updates"].includes(name!))
    throw bad(`unknown step ${JSON.stringify(name)}`);
  if (name === "dpsgd") {
    if (arg === undefined || rest.length !== 1) throw bad("expected dpsgd:C:Z, e.g. dpsgd:1:1.1");
    const clip = decimal(arg);
    const z = decimal(rest[0]!);
    if (!(clip > 0) || !Number.isFinite(clip))
      throw bad(`C must be a number > 0, got ${JSON.stringify(arg)}`);
    if (!(z >= 0) || !Number.isFinite(z))
      throw bad(`Z must be a number >= 0, got ${JSON.stringify(rest[0])}`);
    return { kind: "dpsgd", clip, noiseMultiplier: z };
  }
  if (rest.length > 0) throw bad("has more than one ':'");
  if (name === "label") {
    if (arg !== undefined) throw bad("label takes no argument");
    return { kind: "label" };
  }
  if (arg === undefined) throw bad(`${name} needs an argument`);
  if (name === "topk" || name === "round" || name === "replay" || name === "updates") {
    if (!/^\d+$/.test(arg)) throw bad(`expected an integer, got ${JSON.stringify(arg)}`);
    const n = Number(arg);
    if (name === "replay") {
      if (n < 1) throw bad("R must be at least 1");
      return { kind: "replay", count: n };
    }
    if (name === "updates") {
      if (n < 2) throw bad("U must be at least 2 (updates:1 is no defence)");
      return { kind: "updates", count: n };
    }
    if (name === "topk") {
      if (n < 1) throw bad("K must be at least 1");
      return { kind: "topk", k: n };
    }
    if (n > 8) throw bad("D must be from 0 to 8 (float32 posteriors carry about 7 decimals)");
    return { kind: "round", decimals: n };
  }
  if (name === "noise") {
    const sigma = decimal(arg);
    if (!(sigma > 0) || !Number.isFinite(sigma))
      throw bad(`SIGMA must be a number > 0, got ${JSON.stringify(arg)}`);
    return { kind: "noise", sigma };
  }
  throw bad(`unknown step ${JSON.stringify(name)}`);
}

/** Parses a defence spec (see the file comment); throws `DefenceSpecError` saying what is expected. */
export function parseDefence(spec: string): Defence {
  const s = spec.trim();
  if (s === "none") return [];
  if (s === "") throw new DefenceSpecError(`empty defence spec; expected ${DEFENCE_SYNTAX}`);
  const steps: DefenceStep[] = [];
  for (const part of s.split("+")) {
    let step: DefenceStep;
    try {
      step = parseStep(part.trim());
    } catch (e) {
      throw new DefenceSpecError(`${(e as Error).message}; expected ${DEFENCE_SYNTAX}`);
    }
    if (steps.some((t) => t.kind === step.kind)) {
      throw new DefenceSpecError(`defence step ${step.kind} is given twice in ${JSON.stringify(spec)}`);
    }
    steps.push(step);
  }
  return steps;
}

/** The canonical spec of a defence (`none` when empty), e.g. `round:2+topk:3`. */
export function formatDefence(defence: Defence): string {
  if (defence.length === 0) return "none";
  return defence
    .map((s) => {
      if (s.kind === "topk") return `topk:${s.k}`;
      if (s.kind === "round") return `round:${s.decimals}`;
      if (s.kind === "noise") return `noise:${s.sigma}`;
      if (s.kind === "dpsgd") return `dpsgd:${s.clip}:${s.noiseMultiplier}`;
      if (s.kind === "replay") return `replay:${s.count}`;
      if (s.kind === "updates") return `updates:${s.count}`;
      return "label";
    })
    .join("+");
}

/** Does the defence's output side draw random numbers (so each query needs its own stream)? */
export function isRandomDefence(defence: Defence): boolean {
  return defence.some((s) => s.kind === "noise");
}

/** The output-side steps (what the API does to a posterior), in order. */
export function outputSteps(defence: Defence): Defence {
  return defence.filter((s) => s.kind !== "dpsgd" && s.kind !== "replay" && s.kind !== "updates");
}

/** How many replayed samples each update mixes in (`replay:R`), 0 without that step. */
export function replayOf(defence: Defence): number {
  const s = defence.find((t) => t.kind === "replay");
  return s && s.kind === "replay" ? s.count : 0;
}

/** How many updates the owner makes between the two queries (`updates:U`), 1 without that step. */
export function updatesOf(defence: Defence): number {
  const s = defence.find((t) => t.kind === "updates");
  return s && s.kind === "updates" ? s.count : 1;
}

/** The update-side DP-SGD step, or null. */
export function dpSgdOf(defence: Defence): DpSgdConfig | null {
  const s = defence.find((t) => t.kind === "dpsgd");
  return s && s.kind === "dpsgd" ? { clip: s.clip, noiseMultiplier: s.noiseMultiplier } : null;
}
