/**
 * A_MSR's target inference spread over a job array, end to end with the real CLI, as
 * test/shard-parts.test.ts does for the shards: the smoke A_MSR on MNIST (1 GAN epoch, 200 inference
 * samples, 6 evaluated targets) runs plainly in one folder; in another, two `--shard K/2` parts
 * generate the shards (they score nothing: no GAN is trained yet), `merge`, a `--train-only` run
 * trains both GANs, the two parts again score their targets (i % 2 == K - 1) from the checkpoints,
 * `merge` (exit 3 with part 2 missing, its targets named; 0 after it), and the final plain run takes
 * the scores up. Against the plain run: the same result.json metric values and std,
 * predictions/matched_mse.npy and the figures byte for byte. A copy of the folder made when only
 * part 1 had scored, finished by a plain run that scores the other targets itself, gives the same.
 * So does tools/experiments/msr-parts.sh, which runs the flow with its parts at once on one machine.
 * wasm with 1 thread: about 2 minutes on 2 busy cores. Skipped, saying so in its name, when no
 * MNIST files are found.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { locateDataset } from "@updates-leak/datasets";
import { expectOk, leak, metricValues, oneWasmThread, readResult } from "./run-support.ts";

const haveMnist = locateDataset("mnist").chosen !== undefined;
const noData = haveMnist ? "" : " (skipped: no MNIST files found; set UPDATES_LEAK_DATA)";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ul-msr-parts-"));
afterAll(() => {
  if (!process.env.KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
});

const ARGS = [
  "msr",
  "--dataset",
  "mnist",
  "--smoke",
  "--shadow-models",
  "80",
  "--target-models",
  "8",
  "--shard-size",
  "20",
  "--attack-epochs",
  "1",
  "--inference-samples",
  "200",
  "--eval-targets",
  "6",
  ...oneWasmThread(tmp),
];
const refDir = path.join(tmp, "plain");
const runDir = path.join(tmp, "array");
const halfDir = path.join(tmp, "half-scored");
const LIMIT_MS = 300_000;
const SCRIPT = path.join(import.meta.dir, "..", "tools", "experiments", "msr-parts.sh");

beforeAll(() => {
  // The plain run; it also trains the original models into the cache.
  if (haveMnist) expectOk(leak([...ARGS, "--run-dir", refDir], tmp, LIMIT_MS));
}, 600_000);

const files = (dir: string, sub: string) =>
  fs.existsSync(path.join(dir, sub)) ? fs.readdirSync(path.join(dir, sub)).sort() : [];

/** The same metric values and std, the same predictions and figures, byte for byte. */
function expectSameResult(dir: string): void {
  const got = readResult(dir);
  const want = readResult(refDir);
  expect(metricValues(got)).toEqual(metricValues(want));
  expect(got.extra.std).toBe(want.extra.std as number);
  for (const sub of ["predictions", "figures"]) {
    expect(files(dir, sub)).toEqual(files(refDir, sub));
    expect(files(dir, sub).length).toBeGreaterThan(0);
    for (const n of files(refDir, sub)) {
      const a = fs.readFileSync(path.join(dir, sub, n));
      const b = fs.readFileSync(path.join(refDir, sub, n));
      if (Buffer.compare(a, b) !== 0) throw new Error(`${dir}: ${sub}/${n} differs from the plain run's`);
    }
  }
}

describe("A_MSR targets scored by --shard K/N parts", () => {
  test.skipIf(!haveMnist)(
    `shards by parts, merge, --train-only, targets by parts, merge, plain run: the plain run's result${noData}`,
    () => {
      const t0 = performance.now();
      const run = (extra: string[]) => leak([...ARGS, "--run-dir", runDir, ...extra], tmp, LIMIT_MS);
      for (const k of [1, 2]) {
        const r = run(["--shard", `${k}/2`]);
        expectOk(r);
        expect(r.stdout).toContain("score targets once the GANs are trained");
      }
      expect(files(runDir, "checkpoints")).toEqual([]);
      expect(files(runDir, "parts")).toEqual(["part-1-of-2.json", "part-2-of-2.json"]);
      expectOk(leak(["merge", "--run-dir", runDir], tmp));

      const trained = run(["--train-only"]);
      expectOk(trained);
      expect(trained.stdout).toContain("score the targets with --shard K/N parts");
      expect(fs.existsSync(path.join(runDir, "result.json"))).toBe(false);
      expect(files(runDir, "checkpoints").map((n) => n.replace(/-[0-9a-f]{12}\.bin$/, ""))).toEqual([
        "msr-cbm-gan",
        "msr-gan-no-best-match",
      ]);

      const part1 = run(["--shard", "1/2"]);
      expectOk(part1);
      const out1 = part1.stdout + part1.stderr;
      expect(out1).toContain("A_MSR cbm-gan: 3 targets scored, 0 already saved (of 6, this part's 3)");
      expect(out1).toContain("A_MSR gan-no-best-match: 3 targets scored");
      expect(out1).not.toContain("[train ");
      const missing = leak(["merge", "--run-dir", runDir], tmp);
      expect(missing.code).toBe(3);
      expect(missing.stdout).toMatch(/msr-cbm-gan-[0-9a-f]{12} 3\/6 targets scored, missing 1, 3, 5/);
      expect(missing.stdout).toMatch(
        /msr-gan-no-best-match-[0-9a-f]{12} 3\/6 targets scored, missing 1, 3, 5/,
      );
      fs.cpSync(runDir, halfDir, { recursive: true });

      expectOk(run(["--shard", "2/2"]));
      const merged = leak(["merge", "--run-dir", runDir], tmp);
      expectOk(merged);
      expect(merged.stdout).toMatch(/msr-cbm-gan-[0-9a-f]{12} 6\/6 targets scored\n/);
      expect(merged.stdout).toContain("all shards and scored targets present");
      expect(files(runDir, "parts")).toEqual(["part-1-of-2.json", "part-2-of-2.json"]);
      expect(files(runDir, "scores").length).toBe(2);

      const final = run([]);
      expectOk(final);
      expect(final.stdout + final.stderr).toContain("cbm-gan: 6 of 6 targets scored by --shard parts");
      expect(readResult(runDir).extra.targetsScoredByParts).toEqual({ "cbm-gan": 6, "gan-no-best-match": 6 });
      expectSameResult(runDir);

      // Half the targets scored by a part, the rest by the final run itself.
      const half = leak([...ARGS, "--run-dir", halfDir], tmp, LIMIT_MS);
      expectOk(half);
      expect(readResult(halfDir).extra.targetsScoredByParts).toEqual({
        "cbm-gan": 3,
        "gan-no-best-match": 3,
      });
      expectSameResult(halfDir);
      console.log(
        `msr-parts.test: value ${readResult(refDir).value}; array, merges and final runs in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
      );
    },
    900_000,
  );

  test.skipIf(!haveMnist)(
    `tools/experiments/msr-parts.sh runs the flow with 2 parts at once: the plain run's result${noData}`,
    () => {
      const dir = path.join(tmp, "script");
      // ARGS without "msr --dataset mnist", which the script adds.
      const r = spawnSync("bash", [SCRIPT, "mnist", dir, "2", "--", ...ARGS.slice(3)], {
        cwd: tmp,
        encoding: "utf8",
        timeout: LIMIT_MS,
        env: { ...process.env, NO_COLOR: "1" },
      });
      if (r.status !== 0) throw new Error(`msr-parts.sh exited ${r.status}\n${r.stdout}\n${r.stderr}`);
      expect(readResult(dir).extra.targetsScoredByParts).toEqual({ "cbm-gan": 6, "gan-no-best-match": 6 });
      expect(fs.readFileSync(path.join(dir, "part-2.log"), "utf8")).toContain(
        "A_MSR cbm-gan: 3 targets scored, 0 already saved (of 6, this part's 3)",
      );
      expectSameResult(dir);
    },
    LIMIT_MS,
  );

  test("msr-parts.sh refuses a PARTS that is not a positive whole number, before anything is written", () => {
    const dir = path.join(tmp, "script-refused");
    const r = spawnSync("bash", [SCRIPT, "mnist", dir, "--smoke"], { cwd: tmp, encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("PARTS must be a positive whole number, got '--smoke'");
    expect(fs.existsSync(dir)).toBe(false);
  });

  test("--train-only is refused with --shard and for other attacks, before anything is written", () => {
    const dir = path.join(tmp, "refused");
    const a = leak([...ARGS, "--run-dir", dir, "--train-only", "--shard", "1/2"], tmp);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain("--train-only cannot be combined with --shard");
    const b = leak(["label", "--dataset", "insta-ny", "--run-dir", dir, "--train-only"], tmp);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain("--train-only applies to msr");
    expect(fs.existsSync(dir)).toBe(false);
  });
});
