/**
 * Insta-NY standardisation fitted on the adversary's side only (`standardiseOn`): the statistics
 * equal a float64 mean / population std computed here from the raw counts of the shadow side, and
 * the target side's records do not change them (nor any standardised shadow or probe record),
 * however far the target records are moved.
 */
import { describe, expect, test } from "bun:test";
import { makeFeatureDataset, standardiseOn } from "./dataset.ts";
import { generateInstaSynthetic, INSTA_FEATURES, instaSyntheticDataset } from "./insta-synthetic.ts";
import { makeSplits } from "./splits.ts";
import type { Dataset } from "./types.ts";

const COUNT = 3_000;
const ds = instaSyntheticDataset({ count: COUNT });
const splits = makeSplits(ds, { seed: 0, trainSize: 500 });
const shadowRows = Int32Array.from([...splits.shadow.train, ...splits.shadow.pool]);
const targetRows = Int32Array.from([...splits.target.train, ...splits.target.pool]);
const WHO = "the shadow side";

/** The data set with the raw values of `rows` replaced by `f(value)` (then standardised on all). */
function withRows(rows: Int32Array, f: (v: number) => number): Dataset {
  const raw = generateInstaSynthetic({ count: COUNT }).counts;
  for (const r of rows) {
    for (let j = 0; j < INSTA_FEATURES; j++) raw[r * INSTA_FEATURES + j] = f(raw[r * INSTA_FEATURES + j]!);
  }
  return makeFeatureDataset({
    name: ds.name,
    numClasses: ds.numClasses,
    classNames: ds.classNames,
    labels: ds.labels,
    x: raw.slice(),
    raw,
    featureCount: INSTA_FEATURES,
    normalization: ds.normalization,
    files: [],
    warnings: [],
    source: "test",
  });
}

describe("standardiseOn (Insta-NY statistics from the adversary's side)", () => {
  test("mean and population std are those of the shadow side's raw counts (float64 reference)", () => {
    const raw = generateInstaSynthetic({ count: COUNT }).counts;
    const fitted = standardiseOn(ds, shadowRows, WHO);
    let worstMean = 0;
    let worstStd = 0;
    for (let f = 0; f < INSTA_FEATURES; f++) {
      let m = 0;
      for (const r of shadowRows) m += raw[r * INSTA_FEATURES + f]!;
      m /= shadowRows.length;
      let q = 0;
      for (const r of shadowRows) q += (raw[r * INSTA_FEATURES + f]! - m) ** 2;
      const sd = Math.sqrt(q / shadowRows.length) || 1;
      worstMean = Math.max(
        worstMean,
        Math.abs(fitted.normalization.mean[f]! - m) / Math.max(Math.abs(m), 1e-6),
      );
      worstStd = Math.max(worstStd, Math.abs(fitted.normalization.std[f]! - sd) / sd);
    }
    expect(worstMean).toBeLessThan(1e-6);
    expect(worstStd).toBeLessThan(1e-6);
    // Standardised shadow records: mean 0, std 1 per feature (feature 0 as a spot check).
    const col = Array.from(shadowRows, (r) => fitted.x[r * INSTA_FEATURES]!);
    const mean = col.reduce((a, b) => a + b, 0) / col.length;
    const sd = Math.sqrt(col.reduce((a, b) => a + (b - mean) ** 2, 0) / col.length);
    expect(Math.abs(mean)).toBeLessThan(1e-5);
    expect(Math.abs(sd - 1)).toBeLessThan(1e-5);
    expect(fitted.normalization.description).toContain(`${shadowRows.length} of ${COUNT} records (${WHO})`);
  });

  test("moving every target record leaves the statistics and the adversary's records unchanged", () => {
    const moved = withRows(targetRows, (v) => v * 1000 + 7);
    // The premise: fitted on all records, the moved target side would change the statistics.
    const allA = standardiseOn(
      ds,
      Int32Array.from({ length: COUNT }, (_, i) => i),
      "all",
    );
    const allB = standardiseOn(
      moved,
      Int32Array.from({ length: COUNT }, (_, i) => i),
      "all",
    );
    expect(allB.normalization.mean[0]).not.toBe(allA.normalization.mean[0]);
    const a = standardiseOn(ds, shadowRows, WHO);
    const b = standardiseOn(moved, shadowRows, WHO);
    expect(b.normalization.mean).toEqual(a.normalization.mean);
    expect(b.normalization.std).toEqual(a.normalization.std);
    const notTarget = [...shadowRows, ...splits.probe];
    expect(b.gather(notTarget).x).toEqual(a.gather(notTarget).x);
    // ...while the moved target records themselves are standardised with those statistics.
    expect(b.gather(splits.target.train).x).not.toEqual(a.gather(splits.target.train).x);
  });

  test("images and empty row sets are refused by name", () => {
    expect(() => standardiseOn(ds, new Int32Array(0), WHO)).toThrow(
      "standardiseOn needs at least one record",
    );
    expect(() => standardiseOn(ds, Int32Array.of(COUNT), WHO)).toThrow(
      `standardisation: record ${COUNT} out of range, expected an integer in [0, ${COUNT})`,
    );
    const image = { ...ds, reconSpace: "unit" } as Dataset;
    expect(() => standardiseOn(image, shadowRows, WHO)).toThrow("standardiseOn needs a feature data set");
  });
});
