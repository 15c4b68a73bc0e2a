/**
 * A job array end to end with the real CLI: `--shard 1/2` and `--shard 2/2` into one --run-dir
 * (run one after the other, as a scheduler may), `merge` in between (exit 3, the other part's
 * shards named missing) and after (exit 0), then a plain run on that folder that only fits the
 * attack. Against an unsharded run of the same config: byte-identical shard files and the same
 * result.json metric values. Then three parts started at the same moment into a new folder, as
 * a job array starts them: merge finds the reference run's shards. Synthetic Insta-NY, wasm with
 * 1 thread: about 25 s on 2 cores.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  expectOk,
  expectSameShards,
  leak,
  metricValues,
  oneWasmThread,
  readResult,
  shardFiles,
  spawnLeak,
} from "./run-support.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ul-parts-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const ARGS = [
  "label",
  "--dataset",
  "insta-ny",
  "--shadow-models",
  "60",
  "--target-models",
  "30",
  "--shard-size",
  "10",
  "--train-epochs",
  "1",
  "--attack-epochs",
  "2",
  ...oneWasmThread(tmp),
];
const refDir = path.join(tmp, "unsharded");
const runDir = path.join(tmp, "array");
const names = (ks: number[]) => ks.map((k) => `shard-${String(k).padStart(6, "0")}.bin`);

beforeAll(() => {
  // The unsharded run; it also trains the original models into the cache.
  expectOk(leak([...ARGS, "--run-dir", refDir], tmp));
}, 600_000);

describe("--shard K/N parts, merge, then a plain run", () => {
  test("part 1/2 writes only its shards and a part record, no result", () => {
    const r = leak([...ARGS, "--run-dir", runDir, "--shard", "1/2"], tmp);
    expectOk(r);
    expect(r.stdout).toContain("shard part     1/2 (generate shards only)");
    expect(r.stdout).toContain("part 1/2 done in");
    expect(r.stdout).toContain("shards now visible: shadow 3/6, target 2/3");
    expect(shardFiles(runDir, "shadow")).toEqual(names([0, 2, 4]));
    expect(shardFiles(runDir, "target")).toEqual(names([0, 2]));
    expect(fs.existsSync(path.join(runDir, "shards", "shadow", "manifest.part-1-of-2.json"))).toBe(true);
    expect(fs.existsSync(path.join(runDir, "parts", "part-1-of-2.json"))).toBe(true);
    expect(fs.existsSync(path.join(runDir, "result.json"))).toBe(false);
  });

  test("merge with part 2 missing: exit 3, its shards named", () => {
    const r = leak(["merge", "--run-dir", runDir], tmp);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("shadow  3/6 shards, missing 1, 3, 5");
    expect(r.stdout).toContain("target  2/3 shards, missing 1");
  });

  test("part 2/2, merge: exit 0, every shard present", () => {
    expectOk(leak([...ARGS, "--run-dir", runDir, "--shard", "2/2"], tmp));
    expect(shardFiles(runDir, "shadow")).toEqual(names([0, 1, 2, 3, 4, 5]));
    const r = leak(["merge", "--run-dir", runDir], tmp);
    expectOk(r);
    expect(r.stdout).toContain("shadow  6/6 shards");
    expect(r.stdout).toContain("target  3/3 shards");
    expect(r.stdout).toContain("all shards present; fit the attack with: npm run leak -- label");
    for (const side of ["shadow", "target"]) {
      expect(
        fs.readdirSync(path.join(runDir, "shards", side)).filter((n) => n.startsWith("manifest")),
      ).toEqual(["manifest.json"]);
    }
  });

  test("a plain run fits the attack only; shards and metrics equal the unsharded run's", () => {
    const r = leak([...ARGS, "--run-dir", runDir], tmp);
    expectOk(r);
    expect(r.stdout).toContain("(resume)");
    const got = readResult(runDir);
    expect(got.counts.shadow_shards_generated).toBe(0);
    expect(got.counts.shadow_shards_resumed).toBe(6);
    expect(got.counts.target_shards_generated).toBe(0);
    expect(got.counts.target_shards_resumed).toBe(3);
    expectSameShards(runDir, refDir);
    expect(metricValues(got)).toEqual(metricValues(readResult(refDir)));
  });

  test("parts started at the same time into a new folder (a real array): merge finds the same shards", async () => {
    const dir = path.join(tmp, "concurrent");
    const parts = [1, 2, 3].map((k) =>
      spawnLeak([...ARGS, "--run-dir", dir, "--shard", `${k}/3`], tmp, path.join(tmp, `part-${k}`)),
    );
    const codes = await Promise.all(parts.map((p) => p.exited));
    if (codes.some((c) => c !== 0)) {
      const logs = [1, 2, 3].map((k) => fs.readFileSync(path.join(tmp, `part-${k}.stderr`), "utf8"));
      throw new Error(`parts exited ${codes.join(", ")}\n${logs.join("\n---\n")}`);
    }
    expect(fs.readdirSync(path.join(dir, "parts")).sort()).toEqual([
      "part-1-of-3.json",
      "part-2-of-3.json",
      "part-3-of-3.json",
    ]);
    expectOk(leak(["merge", "--run-dir", dir], tmp));
    expectSameShards(dir, refDir);
  }, 600_000);
});
