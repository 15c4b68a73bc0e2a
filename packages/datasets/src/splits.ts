/**
 * Seeded, disjoint splits of a data set into the probing set, the target side and the shadow side
 * (PAPER.md "Shadow pipeline"). One permutation of all samples, drawn from
 * `new Rng(seed).fork("splits", name, count)`, is cut in order into:
 *   probe (100) | target side | shadow side   (the sides get floor((count - probe) / 2) each;
 *                                             an odd sample left over is unused)
 * and each side into its training set (10,000 images for MNIST/CIFAR-10, 5,000 records for Insta-NY)
 * followed by its update pool (the rest, from which updating sets are drawn).
 * MNIST (70,000): sides of 34,950 = 10,000 train + 24,950 pool. CIFAR-10 (51,000): 25,450 =
 * 10,000 + 15,450. Insta-NY synthetic (20,000): 9,950 = 5,000 + 4,950.
 * Same seed and data set, same split, on any machine (the generator is pure TypeScript).
 */

import { Rng, type SeedKey } from "@updates-leak/core/random";
import { DataError } from "./errors.ts";
import type { Dataset, DatasetName } from "./types.ts";

/** One side (target or shadow) of a split: sample indices into the data set. */
export interface Side {
  /** Indices of the training set of this side's original model. */
  readonly train: Int32Array;
  /** Indices updating sets are drawn from. */
  readonly pool: Int32Array;
}

/** A seeded split of a data set: probing-set indices and the target and shadow sides, all disjoint. */
export interface Splits {
  readonly name: DatasetName;
  readonly count: number;
  readonly seed: SeedKey;
  readonly probe: Int32Array;
  readonly target: Side;
  readonly shadow: Side;
}

/** Options of `makeSplits`: the seed (required) and the set sizes. */
export interface SplitOptions {
  readonly seed: SeedKey;
  /** Probing-set size (default 100). */
  readonly probeSize?: number;
  /** Training-set size per side (default 10,000 for images, 5,000 for Insta-NY). */
  readonly trainSize?: number;
}

/** Training-set size per side: 5,000 for Insta-NY (real or synthetic), 10,000 for the image data sets. */
export function defaultTrainSize(name: DatasetName): number {
  return name === "insta-ny" || name === "insta-ny-synthetic" ? 5_000 : 10_000;
}

/**
 * Splits the `ds.count` samples as described at the top of this file; same seed, same split. Throws a
 * DataError when a size is not a positive integer, or when the samples are too few for the probe set
 * and two sides each with `trainSize` training samples and a non-empty update pool.
 */
export function makeSplits(ds: Pick<Dataset, "name" | "count">, opts: SplitOptions): Splits {
  const probeSize = opts.probeSize ?? 100;
  const trainSize = opts.trainSize ?? defaultTrainSize(ds.name);
  for (const [k, v] of [
    ["probeSize", probeSize],
    ["trainSize", trainSize],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0)
      throw new DataError(`split option ${k}: expected a positive integer, got ${v}`);
  }
  const side = Math.floor((ds.count - probeSize) / 2);
  if (side <= trainSize) {
    throw new DataError(
      `${ds.name}: ${ds.count} samples are too few for a probe set of ${probeSize} and two sides of ` +
        `${trainSize} training samples plus a non-empty update pool (each side gets ${Math.max(side, 0)})`,
    );
  }
  const perm = new Rng(opts.seed).fork("splits", ds.name, ds.count).permutation(ds.count);
  const cut = (from: number, n: number) => perm.slice(from, from + n);
  const sideAt = (from: number): Side => ({
    train: cut(from, trainSize),
    pool: cut(from + trainSize, side - trainSize),
  });
  return {
    name: ds.name,
    count: ds.count,
    seed: opts.seed,
    probe: cut(0, probeSize),
    target: sideAt(probeSize),
    shadow: sideAt(probeSize + side),
  };
}
