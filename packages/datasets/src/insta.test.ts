/**
 * Insta-NY: the seeded synthetic generator (determinism, shape, class-frequency baseline, count model,
 * standardisation, learnability) and the CSV loader (round trip of generated data, label handling,
 * clear errors).
 */

import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { labelHistogram } from "./dataset.ts";
import { loadInstaCsv } from "./insta-csv.ts";
import {
  classProfile,
  frequencyGuessAccuracy,
  generateInstaSynthetic,
  INSTA_SYNTHETIC_CLASSES,
  instaSyntheticDataset,
} from "./insta-synthetic.ts";
import { loadDataset } from "./load.ts";
import { errorOf, tempDir } from "./test-support.ts";

const tmp = tempDir("insta");
afterAll(() => tmp.cleanup());

/** The default synthetic data set, shared by the generator's tests. */
const ds = instaSyntheticDataset();

describe("synthetic Insta-NY: shape, determinism and standardisation", () => {
  test("shape, name and class-frequency baseline", () => {
    expect(ds.name).toBe("insta-ny-synthetic");
    expect([ds.count, ds.numClasses, ds.sampleSize]).toEqual([20_000, 8, 168]);
    expect(ds.sampleShape).toEqual([168]);
    expect(ds.reconSpace).toBe("standardised");
    const specified = INSTA_SYNTHETIC_CLASSES.reduce((a, c) => a + c.frequency ** 2, 0);
    expect(specified).toBeCloseTo(0.2894, 4);
    const baseline = frequencyGuessAccuracy(ds.labels, 8);
    expect(Math.abs(baseline - 0.29)).toBeLessThan(0.03);
    // Reference: sum p^2 by brute force over labels.
    let brute = 0;
    for (let c = 0; c < 8; c++) brute += (ds.labels.filter((l) => l === c).length / ds.count) ** 2;
    expect(baseline).toBeCloseTo(brute, 12);
    const hist = labelHistogram(ds.labels, 8);
    expect(Math.min(...hist)).toBeGreaterThan(200);
  });

  test("deterministic per seed; record r does not depend on the count", () => {
    const a = generateInstaSynthetic({ seed: 7, count: 1500 });
    const b = generateInstaSynthetic({ seed: 7, count: 1500 });
    const c = generateInstaSynthetic({ seed: 8, count: 1500 });
    const short = generateInstaSynthetic({ seed: 7, count: 300 });
    expect(Buffer.from(a.counts.buffer).equals(Buffer.from(b.counts.buffer))).toBe(true);
    expect([...a.labels]).toEqual([...b.labels]);
    expect(Buffer.from(a.counts.buffer).equals(Buffer.from(c.counts.buffer))).toBe(false);
    expect([...short.counts]).toEqual([...a.counts.subarray(0, 300 * 168)]);
    // Golden values (recorded once), so a change of the generator or of Rng cannot go unnoticed.
    const sums = [0, 1, 2].map((r) => a.counts.subarray(r * 168, (r + 1) * 168).reduce((s, v) => s + v, 0));
    expect([...a.labels.subarray(0, 8)]).toEqual([0, 7, 2, 0, 2, 5, 0, 2]);
    expect(sums).toEqual([37, 52, 83]);
  });

  test("features are check-in counts (>= 20 per record), then standardised over the whole set", () => {
    const raw = generateInstaSynthetic({ count: 2000 });
    let minTotal = Infinity;
    let allCounts = true;
    for (let r = 0; r < 2000; r++) {
      let t = 0;
      for (let h = 0; h < 168; h++) {
        const v = raw.counts[r * 168 + h]!;
        allCounts &&= Number.isInteger(v) && v >= 0;
        t += v;
      }
      minTotal = Math.min(minTotal, t);
    }
    expect(allCounts).toBe(true);
    // Poisson totals: at least 20 expected per record, rarely far below.
    expect(minTotal).toBeGreaterThanOrEqual(5);
    const { mean, std } = ds.normalization;
    let worst = 0;
    for (const f of [0, 40, 100, 167]) {
      let m = 0;
      let s = 0;
      for (let r = 0; r < ds.count; r++) m += ds.x[r * 168 + f]!;
      m /= ds.count;
      for (let r = 0; r < ds.count; r++) s += (ds.x[r * 168 + f]! - m) ** 2;
      worst = Math.max(worst, Math.abs(m), Math.abs(Math.sqrt(s / ds.count) - 1));
      expect(std[f]!).toBeGreaterThan(0);
      expect(mean[f]!).toBeGreaterThan(0);
    }
    expect(worst).toBeLessThan(1e-4);
    expect(ds.toUnit(ds.x.subarray(0, 168))).toEqual(ds.x.slice(0, 168));
  });
});

describe("synthetic Insta-NY: learnability and loadDataset", () => {
  test("class profiles are distinct; classes are learnable but noisy (nearest centroid)", () => {
    const profiles = INSTA_SYNTHETIC_CLASSES.map(classProfile);
    for (let a = 0; a < 8; a++) {
      for (let b = a + 1; b < 8; b++) {
        let tv = 0;
        for (let h = 0; h < 168; h++) tv += Math.abs(profiles[a]![h]! - profiles[b]![h]!) / 2;
        expect(tv).toBeGreaterThan(0.15);
      }
    }
    const F = 168;
    const train = 5000;
    const cen = new Float64Array(8 * F);
    const n = new Float64Array(8);
    for (let r = 0; r < train; r++) {
      const l = ds.labels[r]!;
      n[l]!++;
      for (let f = 0; f < F; f++) cen[l * F + f]! += ds.x[r * F + f]!;
    }
    for (let c = 0; c < 8; c++) for (let f = 0; f < F; f++) cen[c * F + f]! /= n[c]!;
    let ok = 0;
    for (let r = train; r < ds.count; r++) {
      let best = Infinity;
      let arg = -1;
      for (let c = 0; c < 8; c++) {
        let d = 0;
        for (let f = 0; f < F; f++) d += (ds.x[r * F + f]! - cen[c * F + f]!) ** 2;
        if (d < best) [best, arg] = [d, c];
      }
      if (arg === ds.labels[r]) ok++;
    }
    const acc = ok / (ds.count - train);
    expect(acc).toBeGreaterThan(0.8); // far above the 0.29 frequency baseline
    expect(acc).toBeLessThan(0.99); // but not trivially separable
  });

  test("loadDataset returns the same data set", async () => {
    const viaLoad = await loadDataset("insta-ny-synthetic", { synthetic: { count: 500 } });
    const direct = instaSyntheticDataset({ count: 500 });
    expect([...viaLoad.x]).toEqual([...direct.x]);
    expect(viaLoad.source).toContain("synthetic");
  });
});

describe("Insta-NY CSV loader", () => {
  const raw = generateInstaSynthetic({ seed: 3, count: 300 });
  const header = ["locid", ...Array.from({ length: 168 }, (_, h) => `h${h}`), "catid"].join(",");
  const rows = Array.from({ length: 300 }, (_, r) =>
    [`L${r}`, ...raw.counts.subarray(r * 168, (r + 1) * 168), raw.labels[r]].join(","),
  );
  const write = (name: string, text: string) => {
    const p = join(tmp.dir, name);
    writeFileSync(p, text);
    return p;
  };

  test("round trip: features standardised like the generator's, labels from catid", async () => {
    const p = write("insta-ny.csv", `${header}\n${rows.join("\n")}\n`);
    const ds = await loadInstaCsv(p);
    expect([ds.name, ds.count, ds.sampleSize]).toEqual(["insta-ny", 300, 168]);
    expect([...ds.labels]).toEqual([...raw.labels]);
    const ref = instaSyntheticDataset({ seed: 3, count: 300 });
    let maxErr = 0;
    for (let i = 0; i < ds.x.length; i++) maxErr = Math.max(maxErr, Math.abs(ds.x[i]! - ref.x[i]!));
    expect(maxErr).toBeLessThan(1e-5);
    expect(ds.files[0]!.verification).toBe("structure-only");
    expect(ds.warnings[0]).toContain("no published checksum");
    // Found through the search order too, with gz support.
    const dir = join(tmp.dir, "data-dir", "insta-ny");
    await Bun.write(
      join(dir, "insta-ny.csv.gz"),
      Bun.gzipSync(new TextEncoder().encode(`${header}\n${rows.join("\n")}`)),
    );
    const found = await loadDataset("insta-ny", {
      dataDir: join(tmp.dir, "data-dir"),
      env: {},
      cwd: tmp.dir,
    });
    expect([...found.x]).toEqual([...ds.x]);
  });

  test("string labels become sorted classes; numClasses is respected", async () => {
    const names = ["park", "bar", "cafe"];
    const p = write(
      "named.csv",
      rows
        .slice(0, 30)
        .map((r, i) => r.replace(/,\d+$/, `,${names[i % 3]}`).replace(/^L\d+,/, ""))
        .join("\n"),
    );
    const ds = await loadInstaCsv(p, { numClasses: 4 });
    expect(ds.classNames).toEqual(["bar", "cafe", "park", "class-3"]);
    expect([...ds.labels.subarray(0, 3)]).toEqual([2, 0, 1]);
  });

  test("clear errors", async () => {
    const bad1 = write("bad-number.csv", `${header}\n${rows[0]!.replace(/,[0-9]+,/, ",abc,")}`);
    expect((await errorOf(() => loadInstaCsv(bad1))).message).toBe(
      `${bad1}: line 2, column "h0": "abc" is not a number`,
    );
    const bad2 = write("bad-width.csv", `${header}\n${rows[0]}\n${rows[1]!.replace(/,[0-9]+$/, "")}`);
    expect((await errorOf(() => loadInstaCsv(bad2))).message).toBe(
      `${bad2}: line 3: 169 fields, expected 170 as in line 1`,
    );
    const bad3 = write("bad-cols.csv", rows.map((r) => r.replace(/^L\d+,/, "")).join("\n"));
    expect((await errorOf(() => loadInstaCsv(bad3, { featureCount: 170 }))).message).toBe(
      `${bad3}: 168 feature columns (169 columns, label column 168), expected 170`,
    );
    const bad4 = write("bad-label.csv", `${header}\n${rows[0]!.replace(/,[0-9]+$/, ",9")}`);
    expect((await errorOf(() => loadInstaCsv(bad4, { numClasses: 8 }))).message).toBe(
      `${bad4}: line 2: label 9 out of range, expected 0..7 (option numClasses)`,
    );
    const missing = await errorOf(() =>
      loadDataset("insta-ny", { env: {}, cwd: join(tmp.dir, "nowhere"), cacheDir: join(tmp.dir, "c") }),
    );
    expect(missing.message).toContain("insta-ny: data files not found. Places tried, in order:");
    expect(missing.message).toContain('use the data set "insta-ny-synthetic"');
  });
});
