/**
 * The model cache key of an original model names its split: two configs that differ only in
 * the probe-set size or in the data set's record count (so in the training set) get different
 * keys, the same split the same key. (v3 keys named only the seed and the training-set size, so
 * `--probe-count 200` after a run with 100 probes reloaded a model trained on the new probes.)
 */
import { describe, expect, test } from "bun:test";
import { originalKey, trainingDigest } from "@updates-leak/attacks";
import { instaSyntheticDataset, makeSplits } from "@updates-leak/datasets";

const cfg = { dataset: "insta-ny" as const, seed: 0 };
const small = instaSyntheticDataset({ count: 2_000 });
const larger = instaSyntheticDataset({ count: 2_001 });

function key(ds: typeof small, probeSize: number, side: "target" | "shadow" = "target"): string {
  const split = makeSplits(ds, { seed: cfg.seed, probeSize, trainSize: 500 })[side].train;
  return originalKey(cfg, side, { length: split.length, digest: trainingDigest(ds, split) }, ds.name, 3);
}

describe("original model cache key", () => {
  test("the same split gives the same key, twice", () => {
    expect(key(small, 100)).toBe(key(small, 100));
    expect(key(small, 100)).toMatch(
      /^v4-insta-ny-synthetic-insta-ny-mlp-seed0-target-n500-d[0-9a-f]{16}-e3-/,
    );
  });

  test("another probe-set size: another training set, another key", () => {
    const a = makeSplits(small, { seed: 0, probeSize: 100, trainSize: 500 }).target.train;
    const b = makeSplits(small, { seed: 0, probeSize: 200, trainSize: 500 }).target.train;
    // The premise: the 200-probe split's target training set holds samples the 100-probe one does not.
    const inA = new Set(a);
    expect(b.filter((i) => !inA.has(i)).length).toBeGreaterThan(0);
    expect(key(small, 200)).not.toBe(key(small, 100));
    expect(key(small, 200, "shadow")).not.toBe(key(small, 100, "shadow"));
  });

  test("another record count: another key", () => {
    expect(key(larger, 100)).not.toBe(key(small, 100));
  });

  test("the digest is of the training data itself: order and labels count", () => {
    const idx = makeSplits(small, { seed: 0, trainSize: 500 }).target.train;
    const reversed = idx.slice().reverse();
    expect(trainingDigest(small, reversed)).not.toBe(trainingDigest(small, idx));
    expect(trainingDigest(small, idx.slice())).toBe(trainingDigest(small, idx));
    // One sample fewer: another digest (and another n in the key).
    expect(trainingDigest(small, idx.subarray(1))).not.toBe(trainingDigest(small, idx));
  });
});
