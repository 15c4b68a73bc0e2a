/**
 * Seeded synthetic stand-in for Insta-NY (no public copy exists). Everything made from it is named
 * "insta-ny-synthetic". Same shape as the real data: 168 numeric features (check-ins per hour of the
 * week, Monday 00:00 first) and a location-category label.
 *
 * Assumptions (not sourced; no public copy of Insta-NY exists to check them): 8 classes (the paper's 800-value delta),
 * class frequencies chosen so that a label drawn from them is right with probability
 * sum p_c^2 = 0.2894 (the paper's Random baseline is about 0.29), 20,000 records.
 *
 * Model of one record (a location) of class c:
 *   - class profile P_c over the 168 hours: a floor plus Gaussian bumps over the hour of day, weighted
 *     per day of week (lunch/dinner for food, late nights Thu-Sat for nightlife, weekday office hours
 *     for professional, commute peaks for travel, ...);
 *   - per-record noise: the profile is shifted by -1, 0 or +1 hour, mixed with a random class's
 *     profile with weight w ~ U(0, 0.25), and each hour is multiplied by exp(0.4 z), z ~ N(0, 1);
 *   - total check-ins N = 20 + floor(exp(ln 40 + 0.8 z)) (at least 20, as in walk2friends' "ny 20");
 *   - counts per hour ~ Poisson(N * profile_h / sum(profile)) (normal approximation for rates >= 30).
 * Record r draws only from `new Rng(seed).fork("insta-ny-synthetic", r)`, so it does not depend on how
 * many records are generated. Classes are learnable but noisy: a softmax regression on 5,000
 * standardised records scores about 0.93 on the rest.
 *
 * The Dataset standardises each feature with the mean and (population) std of the whole generated
 * set and keeps the raw counts; the attack pipeline re-fits the statistics on the adversary's side
 * of its split only (`standardiseOn`, dataset.ts).
 */

import { Rng, type SeedKey } from "@updates-leak/core/random";
import { labelHistogram, makeFeatureDataset, standardiseInPlace } from "./dataset.ts";
import { DataError } from "./errors.ts";
import type { Dataset } from "./types.ts";

export const INSTA_FEATURES = 168;
export const INSTA_SYNTHETIC_DEFAULT_COUNT = 20_000;
export const INSTA_SYNTHETIC_DEFAULT_SEED = 2020;

interface Bump {
  readonly center: number;
  readonly width: number;
  readonly weight: number;
  /** Weight per day, Monday..Sunday. */
  readonly days: readonly number[];
}

interface ClassSpec {
  readonly name: string;
  readonly frequency: number;
  readonly bumps: readonly Bump[];
}

const days = (weekday: number, weekend: number) => [
  weekday,
  weekday,
  weekday,
  weekday,
  weekday,
  weekend,
  weekend,
];
const EVERY_DAY = days(1, 1);

/**
 * The 8 classes of the synthetic Insta-NY set, in label order: name, frequency (they sum to 1) and the
 * Gaussian bumps over the hour of day, weighted per day of week, that shape the class profile.
 */
export const INSTA_SYNTHETIC_CLASSES: readonly ClassSpec[] = [
  {
    name: "food",
    frequency: 0.48,
    bumps: [
      { center: 12.5, width: 1.3, weight: 1, days: EVERY_DAY },
      { center: 19.5, width: 1.6, weight: 1.2, days: days(1, 1.3) },
    ],
  },
  {
    name: "nightlife",
    frequency: 0.19,
    bumps: [{ center: 23.5, width: 2, weight: 1, days: [0.3, 0.4, 0.6, 1, 1.4, 1.5, 0.6] }],
  },
  { name: "shops", frequency: 0.1, bumps: [{ center: 15, width: 3.5, weight: 1, days: days(1, 1.6) }] },
  {
    name: "outdoors",
    frequency: 0.08,
    bumps: [{ center: 13.5, width: 2.8, weight: 1, days: days(0.35, 1.6) }],
  },
  {
    name: "arts",
    frequency: 0.06,
    bumps: [
      { center: 20, width: 1.5, weight: 1, days: days(0.8, 1) },
      { center: 14.5, width: 2, weight: 0.8, days: days(0, 1) },
    ],
  },
  {
    name: "professional",
    frequency: 0.04,
    bumps: [
      { center: 10, width: 1.8, weight: 1, days: days(1, 0.08) },
      { center: 15.5, width: 2, weight: 0.8, days: days(1, 0.08) },
    ],
  },
  {
    name: "travel",
    frequency: 0.03,
    bumps: [
      { center: 8, width: 1.1, weight: 1, days: days(1, 0.3) },
      { center: 18, width: 1.3, weight: 1, days: days(1, 0.4) },
      { center: 19, width: 2, weight: 0.6, days: [0, 0, 0, 0, 0.3, 0, 1] },
    ],
  },
  { name: "college", frequency: 0.02, bumps: [{ center: 12, width: 2.6, weight: 1, days: days(1, 0.05) }] },
];

const PROFILE_FLOOR = 0.03;
const HOUR_NOISE_SIGMA = 0.4;
const MIX_MAX = 0.25;
const MIN_CHECKINS = 20;
const LOG_MEDIAN_EXTRA = Math.log(40);
const CHECKIN_SIGMA = 0.8;

/** Class profile over the 168 hours of the week, summing to 1. */
export function classProfile(spec: ClassSpec): Float64Array {
  const p = new Float64Array(INSTA_FEATURES);
  let sum = 0;
  for (let h = 0; h < INSTA_FEATURES; h++) {
    const day = Math.floor(h / 24);
    const hour = h % 24;
    let v = PROFILE_FLOOR;
    for (const b of spec.bumps) {
      let dt = Math.abs(hour - b.center);
      dt = Math.min(dt, 24 - dt);
      v += b.weight * b.days[day]! * Math.exp(-0.5 * (dt / b.width) ** 2);
    }
    p[h] = v;
    sum += v;
  }
  for (let h = 0; h < INSTA_FEATURES; h++) p[h]! /= sum;
  return p;
}

/** Poisson draw: Knuth's product method below rate 30, rounded normal approximation above. */
export function poisson(rng: Rng, rate: number): number {
  if (rate <= 0) return 0;
  if (rate >= 30) return Math.max(0, Math.round(rate + Math.sqrt(rate) * rng.normal()));
  const limit = Math.exp(-rate);
  let k = 0;
  let p = rng.next();
  while (p > limit) {
    k++;
    p *= rng.next();
  }
  return k;
}

/** Generator options: `seed` (default 2020) and `count`, the number of records (default 20,000). */
export interface InstaSyntheticOptions {
  readonly seed?: SeedKey;
  readonly count?: number;
}

export interface InstaSyntheticRaw {
  /** Check-in counts, count x 168. */
  readonly counts: Float32Array;
  readonly labels: Uint8Array;
  readonly seed: SeedKey;
}

/** Generates the raw counts and labels (not standardised). */
export function generateInstaSynthetic(opts: InstaSyntheticOptions = {}): InstaSyntheticRaw {
  const seed = opts.seed ?? INSTA_SYNTHETIC_DEFAULT_SEED;
  const count = opts.count ?? INSTA_SYNTHETIC_DEFAULT_COUNT;
  if (!Number.isInteger(count) || count <= 0) {
    throw new DataError(`insta-ny-synthetic: option count must be a positive integer, got ${count}`);
  }
  const classes = INSTA_SYNTHETIC_CLASSES;
  const profiles = classes.map(classProfile);
  const cumulative: number[] = [];
  let acc = 0;
  for (const c of classes) {
    acc += c.frequency;
    cumulative.push(acc);
  }
  const root = new Rng(seed);
  const counts = new Float32Array(count * INSTA_FEATURES);
  const labels = new Uint8Array(count);
  const prof = new Float64Array(INSTA_FEATURES);
  for (let r = 0; r < count; r++) {
    const rng = root.fork("insta-ny-synthetic", r);
    const u = rng.next() * acc;
    let c = cumulative.findIndex((v) => u < v);
    if (c < 0) c = classes.length - 1;
    labels[r] = c;
    const own = profiles[c]!;
    const other = profiles[rng.int(classes.length)]!;
    const w = rng.next() * MIX_MAX;
    const shift = rng.int(3) - 1;
    const total = MIN_CHECKINS + Math.floor(Math.exp(LOG_MEDIAN_EXTRA + CHECKIN_SIGMA * rng.normal()));
    let sum = 0;
    for (let h = 0; h < INSTA_FEATURES; h++) {
      const src = Math.floor(h / 24) * 24 + (((h % 24) - shift + 24) % 24);
      const v = ((1 - w) * own[src]! + w * other[src]!) * Math.exp(HOUR_NOISE_SIGMA * rng.normal());
      prof[h] = v;
      sum += v;
    }
    const o = r * INSTA_FEATURES;
    for (let h = 0; h < INSTA_FEATURES; h++) counts[o + h] = poisson(rng, (total * prof[h]!) / sum);
  }
  return { counts, labels, seed };
}

/** Random-label baseline: accuracy of guessing a label drawn from the class frequencies, sum p_c^2. */
export function frequencyGuessAccuracy(labels: Uint8Array, numClasses: number): number {
  const h = labelHistogram(labels, numClasses);
  let s = 0;
  for (const v of h) s += (v / labels.length) ** 2;
  return s;
}

/** The synthetic data set, standardised with the statistics of the whole generated set. */
export function instaSyntheticDataset(opts: InstaSyntheticOptions = {}): Dataset {
  const raw = generateInstaSynthetic(opts);
  const count = raw.labels.length;
  const x = raw.counts.slice();
  const normalization = standardiseInPlace(
    x,
    count,
    INSTA_FEATURES,
    "per-feature standardisation with the mean and population std of all generated records",
  );
  return makeFeatureDataset({
    name: "insta-ny-synthetic",
    numClasses: INSTA_SYNTHETIC_CLASSES.length,
    classNames: INSTA_SYNTHETIC_CLASSES.map((c) => c.name),
    labels: raw.labels,
    x,
    raw: raw.counts,
    featureCount: INSTA_FEATURES,
    normalization,
    files: [],
    warnings: [],
    source: `synthetic Insta-NY generator (seed ${String(raw.seed)}, ${count} records); not real data`,
  });
}
