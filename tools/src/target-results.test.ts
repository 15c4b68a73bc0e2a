/**
 * The run folder's per-target results (target-results.ts): parts save and load bit for bit, the
 * union over the merged file and every part is what a run loads, merge folds the parts into
 * scores/ and reports what is missing, temporary files and the shard part records are not parts,
 * and a record of another config or key is refused naming its file.
 */
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { isTempName, tempNameFor } from "./atomic.ts";
import { FileTargetResults, mergeTargetResults, partResultsFile } from "./target-results.ts";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ul-target-results-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const HASH = "c0ffee";
const NAME = "msr-cbm-gan-0123456789ab";
const KEY = '{"gan":"msr-cbm-gan-ba9876543210"}';
/** Values whose float64 bits a careless format would change. */
const ODD = [0.1 + 0.2, 1 / 3, 5e-324, 0.07962470486268541, 2 ** -1074 * 3, 123456789.12345679];

function folder(name: string): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

describe("FileTargetResults and mergeTargetResults", () => {
  test("two parts save, a run loads their union bit for bit, merge folds them", () => {
    const dir = folder("two-parts");
    const p1 = new FileTargetResults(dir, HASH, { part: 1, of: 2 });
    const p2 = new FileTargetResults(dir, HASH, { part: 2, of: 2 });
    p1.save(NAME, KEY, 6, new Map([[0, ODD[0]!]]));
    p1.save(
      NAME,
      KEY,
      6,
      new Map([
        [0, ODD[0]!],
        [2, ODD[2]!],
        [4, ODD[4]!],
      ]),
    ); // rewritten whole
    p2.save(NAME, KEY, 6, new Map([[1, ODD[1]!]]));
    // A temporary file of a part being written and the shard part records are not parts.
    fs.writeFileSync(tempNameFor(partResultsFile(dir, NAME, { part: 2, of: 2 })), "{");
    fs.writeFileSync(path.join(dir, "parts", "part-1-of-2.json"), "{}");
    const plain = new FileTargetResults(dir, HASH);
    const want = new Map([0, 1, 2, 4].map((i) => [i, ODD[i]!]));
    expect(plain.load(NAME, KEY)).toEqual(want);
    expect(() => plain.save(NAME, KEY, 6, want)).toThrow("only a --shard K/N part saves them");

    const report = mergeTargetResults(dir, HASH);
    expect(report).toEqual([{ name: NAME, targets: 6, present: 4, missing: [3, 5] }]);
    // The parts are gone; the temporary file (a writer's, not ours to remove) and the record stay.
    expect(fs.readdirSync(path.join(dir, "parts")).filter((n) => !isTempName(n))).toEqual([
      "part-1-of-2.json",
    ]);
    expect(fs.readdirSync(path.join(dir, "scores"))).toEqual([`${NAME}.json`]);
    const loaded = plain.load(NAME, KEY);
    expect(loaded).toEqual(want);
    for (const [i, v] of loaded) expect(Object.is(v, ODD[i])).toBe(true);

    // A later part adds to the merged file; merge again: complete.
    p2.save(
      NAME,
      KEY,
      6,
      new Map([
        [3, ODD[3]!],
        [5, ODD[5]!],
      ]),
    );
    expect(plain.load(NAME, KEY).size).toBe(6);
    expect(mergeTargetResults(dir, HASH)).toEqual([{ name: NAME, targets: 6, present: 6, missing: [] }]);
    expect(plain.load(NAME, KEY)).toEqual(new Map(ODD.map((v, i) => [i, v])));
  });

  test("a folder without results loads nothing and merges to no report", () => {
    const dir = folder("empty");
    expect(new FileTargetResults(dir, HASH).load(NAME, KEY).size).toBe(0);
    expect(mergeTargetResults(dir, HASH)).toEqual([]);
  });

  test("another config hash or key, or a damaged record, is refused naming the file", () => {
    const dir = folder("foreign");
    new FileTargetResults(dir, HASH, { part: 1, of: 1 }).save(NAME, KEY, 2, new Map([[0, 0.5]]));
    const file = partResultsFile(dir, NAME, { part: 1, of: 1 });
    expect(() => new FileTargetResults(dir, "other").load(NAME, KEY)).toThrow(
      `${file}: made for another config (hash ${HASH}, this folder's other)`,
    );
    expect(() => new FileTargetResults(dir, HASH).load(NAME, "{}")).toThrow(
      `${file}: saved under another key`,
    );
    expect(() => mergeTargetResults(dir, "other")).toThrow(file);
    const rec = JSON.parse(fs.readFileSync(file, "utf8"));
    fs.writeFileSync(file, JSON.stringify({ ...rec, indices: [7] }));
    expect(() => new FileTargetResults(dir, HASH).load(NAME, KEY)).toThrow(`${file}: damaged`);
    expect(() => new FileTargetResults(dir, HASH).load("../x", KEY)).toThrow("is not letters");
  });
});
