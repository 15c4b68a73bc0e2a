/**
 * Output defences against references written differently (sorting, toFixed, a plain per-row
 * loop), on fresh random posteriors, and the spec language's parse and errors.
 */
import { describe, expect, test } from "bun:test";
import { Rng } from "../random.ts";
import { applyDefence, defendedDeltas } from "./output.ts";
import {
  DefenceSpecError,
  dpSgdOf,
  formatDefence,
  isRandomDefence,
  outputSteps,
  parseDefence,
  replayOf,
  updatesOf,
} from "./spec.ts";

const CLASSES = 10;

/** `rows` random posteriors (softmax of normal logits of scale 3), float32. */
function randomPosteriors(rows: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const p = new Float32Array(rows * CLASSES);
  for (let r = 0; r < rows; r++) {
    const z = Array.from({ length: CLASSES }, () => Math.exp(3 * rng.normal()));
    const s = z.reduce((a, b) => a + b, 0);
    for (let c = 0; c < CLASSES; c++) p[r * CLASSES + c] = z[c]! / s;
  }
  return p;
}

function rowsOf(p: Float32Array): number[][] {
  return Array.from({ length: p.length / CLASSES }, (_, r) =>
    Array.from(p.subarray(r * CLASSES, (r + 1) * CLASSES)),
  );
}

/** Reference top-k: sort the classes by (value desc, index asc), keep the first k. */
function refTopK(row: number[], k: number): number[] {
  const order = row.map((v, c) => [v, c] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const keep = new Set(order.slice(0, k).map(([, c]) => c));
  return row.map((v, c) => (keep.has(c) ? v : 0));
}

describe("parseDefence and formatDefence", () => {
  test("specs parse to their steps and print back canonically", () => {
    expect(parseDefence("none")).toEqual([]);
    expect(parseDefence(" topk:3 ")).toEqual([{ kind: "topk", k: 3 }]);
    expect(parseDefence("round:2+topk:1")).toEqual([
      { kind: "round", decimals: 2 },
      { kind: "topk", k: 1 },
    ]);
    expect(parseDefence("noise:1e-2+label")).toEqual([{ kind: "noise", sigma: 0.01 }, { kind: "label" }]);
    expect(parseDefence("dpsgd:1:1.1+round:2")).toEqual([
      { kind: "dpsgd", clip: 1, noiseMultiplier: 1.1 },
      { kind: "round", decimals: 2 },
    ]);
    expect(dpSgdOf(parseDefence("dpsgd:0.5:0+label"))).toEqual({ clip: 0.5, noiseMultiplier: 0 });
    expect(outputSteps(parseDefence("dpsgd:0.5:0+label"))).toEqual([{ kind: "label" }]);
    expect(dpSgdOf(parseDefence("label"))).toBeNull();
    expect(parseDefence("replay:63+round:1")).toEqual([
      { kind: "replay", count: 63 },
      { kind: "round", decimals: 1 },
    ]);
    expect(replayOf(parseDefence("replay:63+round:1"))).toBe(63);
    expect(replayOf(parseDefence("round:1"))).toBe(0);
    expect(parseDefence("updates:4")).toEqual([{ kind: "updates", count: 4 }]);
    expect(updatesOf(parseDefence("updates:4+label"))).toBe(4);
    expect(updatesOf(parseDefence("label"))).toBe(1);
    expect(outputSteps(parseDefence("updates:4+label"))).toEqual([{ kind: "label" }]);
    expect(outputSteps(parseDefence("replay:63+round:1"))).toEqual([{ kind: "round", decimals: 1 }]);
    for (const s of [
      "none",
      "label",
      "topk:1",
      "round:0",
      "noise:0.5",
      "noise:0.01+round:3+topk:3",
      "dpsgd:1:1.1",
      "replay:7+label",
      "updates:3+round:2",
    ]) {
      expect(formatDefence(parseDefence(s))).toBe(s);
    }
    expect(formatDefence(parseDefence("noise:.010"))).toBe("noise:0.01");
    expect(isRandomDefence(parseDefence("round:2+noise:0.1"))).toBe(true);
    expect(isRandomDefence(parseDefence("round:2+topk:1"))).toBe(false);
  });

  test("a bad spec names the step and says what is expected", () => {
    const cases: [string, RegExp][] = [
      ["", /empty defence spec; expected none, or steps/],
      ["topk", /"topk": topk needs an argument; expected none, or steps joined by '\+'/],
      ["topk:0", /"topk:0": K must be at least 1/],
      ["topk:1.5", /"topk:1.5": expected an integer, got "1.5"/],
      ["round:9", /"round:9": D must be from 0 to 8/],
      ["noise:0", /"noise:0": SIGMA must be a number > 0/],
      ["noise:-1", /SIGMA must be a number > 0, got "-1"/],
      ["label:2", /"label:2": label takes no argument/],
      ["blur:3", /unknown step "blur"/],
      ["topk:1+topk:3", /step topk is given twice/],
      ["none+label", /"none": none stands alone/],
      ["dpsgd:1", /"dpsgd:1": expected dpsgd:C:Z, e.g. dpsgd:1:1.1/],
      ["dpsgd:0:1", /"dpsgd:0:1": C must be a number > 0/],
      ["dpsgd:1:-1", /Z must be a number >= 0, got "-1"/],
      ["dpsgd:1:1+dpsgd:2:1", /step dpsgd is given twice/],
      ["replay", /"replay": replay needs an argument/],
      ["replay:0", /"replay:0": R must be at least 1/],
      ["updates:1", /"updates:1": U must be at least 2 \(updates:1 is no defence\)/],
      ["replay:2.5", /"replay:2.5": expected an integer, got "2.5"/],
    ];
    for (const [spec, message] of cases) {
      expect(() => parseDefence(spec)).toThrow(DefenceSpecError);
      expect(() => parseDefence(spec)).toThrow(message);
    }
  });
});

describe("applyDefence against references", () => {
  const p = randomPosteriors(200, 1);

  test("topk:k keeps the k largest values, zeroes the rest (k = 1, 3, 10)", () => {
    for (const k of [1, 3, 10]) {
      const got = rowsOf(applyDefence(parseDefence(`topk:${k}`), p.slice(), CLASSES));
      const want = rowsOf(p).map((r) => refTopK(r, k));
      expect(got).toEqual(want.map((r) => r.map(Math.fround)));
      for (const row of got) expect(row.filter((v) => v !== 0).length).toBe(k);
    }
  });

  test("ties go to the lower class index", () => {
    const tied = new Float32Array([0.1, 0.3, 0.3, 0.3, 0, 0, 0, 0, 0, 0]);
    expect(Array.from(applyDefence(parseDefence("topk:2"), tied.slice(), CLASSES))).toEqual(
      Array.from(new Float32Array([0, 0.3, 0.3, 0, 0, 0, 0, 0, 0, 0])),
    );
    expect(Array.from(applyDefence(parseDefence("label"), tied.slice(), CLASSES))).toEqual([
      0, 1, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
  });

  test("label is one-hot at the argmax", () => {
    const got = rowsOf(applyDefence(parseDefence("label"), p.slice(), CLASSES));
    rowsOf(p).forEach((row, r) => {
      const want = row.map((_, c) => (c === row.indexOf(Math.max(...row)) ? 1 : 0));
      expect(got[r]).toEqual(want);
    });
  });

  test("round:d equals toFixed(d) (d = 0..3)", () => {
    for (const d of [0, 1, 2, 3]) {
      const got = applyDefence(parseDefence(`round:${d}`), p.slice(), CLASSES);
      const want = Float32Array.from(p, (v) => Number(v.toFixed(d)));
      expect(Array.from(got)).toEqual(Array.from(want));
    }
  });

  test("steps apply in the order given", () => {
    const row = new Float32Array([0.443, 0.444, 0.113, 0, 0, 0, 0, 0, 0, 0]);
    // Rounding first makes a tie that the lower index wins; top-1 first keeps class 1.
    expect(Array.from(applyDefence(parseDefence("round:2+topk:1"), row.slice(), CLASSES))).toEqual(
      Array.from(new Float32Array([0.44, 0, 0, 0, 0, 0, 0, 0, 0, 0])),
    );
    expect(Array.from(applyDefence(parseDefence("topk:1+round:2"), row.slice(), CLASSES))).toEqual(
      Array.from(new Float32Array([0, 0.44, 0, 0, 0, 0, 0, 0, 0, 0])),
    );
  });

  test("noise:s adds N(0, s^2) per value, clips at 0 and renormalises, as a plain loop does", () => {
    const sigma = 0.05;
    const got = applyDefence(parseDefence(`noise:${sigma}`), p.slice(), CLASSES, new Rng(7));
    const rng = new Rng(7);
    rowsOf(p).forEach((row, r) => {
      const noisy = row.map((v) => Math.max(0, v + sigma * rng.normal()));
      const s = noisy.reduce((a, b) => a + b, 0);
      const want = noisy.map((v) => v / s);
      for (let c = 0; c < CLASSES; c++) expect(got[r * CLASSES + c]).toBeCloseTo(want[c]!, 6);
    });
    for (const row of rowsOf(got)) {
      expect(row.every((v) => v >= 0)).toBe(true);
      expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    }
    // Before clipping and renormalising, the added values have standard deviation sigma.
    const raw = new Rng(9);
    const diffs = Array.from({ length: 20_000 }, () => sigma * raw.normal());
    const sd = Math.sqrt(diffs.reduce((a, b) => a + b * b, 0) / diffs.length);
    expect(Math.abs(sd - sigma) / sigma).toBeLessThan(0.02);
  });

  test("a row of noise that clips to all zeros becomes uniform", () => {
    const row = new Float32Array(CLASSES).fill(0);
    row[0] = 1;
    const rng = { normal: () => -100 } as unknown as Rng;
    expect(Array.from(applyDefence(parseDefence("noise:1"), row, CLASSES, rng))).toEqual(
      Array.from(new Float32Array(CLASSES).fill(0.1)),
    );
  });

  test("update-side steps (dpsgd, replay, updates) leave the answers alone", () => {
    expect(Array.from(applyDefence(parseDefence("dpsgd:1:1"), p.slice(), CLASSES))).toEqual(Array.from(p));
    expect(Array.from(applyDefence(parseDefence("replay:63"), p.slice(), CLASSES))).toEqual(Array.from(p));
    expect(Array.from(applyDefence(parseDefence("updates:2"), p.slice(), CLASSES))).toEqual(Array.from(p));
  });

  test("a noise step without a stream, or rows of the wrong width, is an error", () => {
    expect(() => applyDefence(parseDefence("noise:0.1"), p.slice(), CLASSES)).toThrow(
      /needs a random stream/,
    );
    expect(() => applyDefence(parseDefence("label"), new Float32Array(15), CLASSES)).toThrow(
      /15 values are not rows of 10 classes/,
    );
  });
});

describe("defendedDeltas", () => {
  test("model j's delta is D(p_old) - D(p_new[j]), each query with its own stream", () => {
    const pOld = randomPosteriors(5, 2);
    const pNew = randomPosteriors(15, 3); // 3 models of 5 probes
    const defence = parseDefence("noise:0.02+topk:3");
    const rngs = [0, 1, 2].map((j) => new Rng(11).fork("model", j));
    const got = defendedDeltas(defence, pOld, pNew, CLASSES, rngs);
    const d = pOld.length;
    for (let j = 0; j < 3; j++) {
      const before = applyDefence(
        defence,
        pOld.slice(),
        CLASSES,
        new Rng(11).fork("model", j).fork("before"),
      );
      const after = applyDefence(
        defence,
        pNew.slice(j * d, (j + 1) * d),
        CLASSES,
        new Rng(11).fork("model", j).fork("after"),
      );
      expect(Array.from(got.subarray(j * d, (j + 1) * d))).toEqual(
        Array.from(Float32Array.from(before, (v, i) => v - after[i]!)),
      );
    }
    expect(() => defendedDeltas(defence, pOld, pNew, CLASSES, null)).toThrow(/one stream per model \(3\)/);
  });

  test("label-only deltas are -1, 0 or 1 and sum to 0 per probe", () => {
    const got = defendedDeltas(
      parseDefence("label"),
      randomPosteriors(4, 5),
      randomPosteriors(40, 6),
      CLASSES,
      null,
    );
    expect(got.every((v) => v === -1 || v === 0 || v === 1)).toBe(true);
    for (const row of rowsOf(got)) expect(row.reduce((a, b) => a + b, 0)).toBe(0);
  });
});
