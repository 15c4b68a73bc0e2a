/**
 * Kill and resume, end to end with the real CLI: a run is SIGKILLed while it generates a shard
 * (at least one shard complete), leftovers of a torn write are planted next to the shards, and the
 * same command with --run-dir on that folder finishes the run. Against an uninterrupted run of the
 * same config in another folder:
 * - every shard file is byte-identical and the manifests list the same checksums;
 * - result.json has the same metric values (the attack saw the same deltas);
 * - the shards finished before the kill were reused, not rewritten (same mtime, counted as resumed);
 * - a temporary file and an unlisted, truncated shard file left by the kill were never read.
 * SIGINT (Ctrl-C) and SIGTERM (what Slurm and Kubernetes send first) end a run within moments (no
 * handler may hold them back); the resume command was printed at the start; the shards listed by
 * then are whole.
 * Synthetic Insta-NY (no data files needed), wasm with 1 thread, originals trained once into a
 * model cache in a temp folder: about 20 s on 2 cores.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { readMetrics } from "../tools/src/run-folder.ts";
import {
  expectOk,
  expectSameShards,
  leak,
  listedShards,
  metricValues,
  oneWasmThread,
  readResult,
  secondsPerShard,
  spawnLeak,
} from "./run-support.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ul-resume-"));
afterAll(() => {
  if (!process.env.KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
});

const SHADOW_SHARDS = 5;
const ARGS = [
  "label",
  "--dataset",
  "insta-ny",
  "--shadow-models",
  String(SHADOW_SHARDS * 300),
  "--target-models",
  "300",
  "--shard-size",
  "300",
  "--train-epochs",
  "1",
  "--attack-epochs",
  "2",
  ...oneWasmThread(tmp),
];
const refDir = path.join(tmp, "reference");
const runDir = path.join(tmp, "killed");

beforeAll(() => {
  // The uninterrupted run; it also trains the original models into the cache.
  expectOk(leak([...ARGS, "--run-dir", refDir], tmp));
}, 600_000);

/** Start the run into `dir`; resolve once a shadow shard is listed and the next one is under way. */
async function startAndWaitForShard(dir: string, log: string) {
  const perShard = secondsPerShard(refDir, "shadow");
  const child = spawnLeak([...ARGS, "--run-dir", dir], tmp, path.join(tmp, log));
  const t0 = performance.now();
  while (listedShards(dir, "shadow").length === 0) {
    if (child.exitCode !== null)
      throw new Error(`the run ended (exit ${child.exitCode}) before a shard was done`);
    if (performance.now() - t0 > 90_000) throw new Error("no shard finished within 90 s");
    await Bun.sleep(5);
  }
  await Bun.sleep(Math.min(1000 * perShard * 0.5, 2000));
  return { child, perShard };
}

describe("an interrupted run", () => {
  test("SIGKILL mid-generation, then the same command with --run-dir: the reference run's shards and metrics, finished shards reused", async () => {
    const { child, perShard } = await startAndWaitForShard(runDir, "killed-run");
    child.kill("SIGKILL");
    await child.exited;
    expect(child.signalCode).toBe("SIGKILL");

    const kept = listedShards(runDir, "shadow");
    console.log(
      `resume.test: killed with ${kept.length} of ${SHADOW_SHARDS} shadow shards done (${perShard.toFixed(2)} s per shard)`,
    );
    expect(kept.length).toBeGreaterThanOrEqual(1);
    expect(kept.length).toBeLessThan(SHADOW_SHARDS); // killed during shadow generation
    expect(kept).toEqual([...Array(kept.length).keys()]);
    expect(listedShards(runDir, "target")).toEqual([]);
    expect(fs.existsSync(path.join(runDir, "result.json"))).toBe(false);

    // What a kill during a write leaves: a temporary file and a torn file under the shard's name.
    const next = kept.length;
    const shadowDir = path.join(runDir, "shards", "shadow");
    const name = `shard-${String(next).padStart(6, "0")}.bin`;
    const whole = fs.readFileSync(path.join(refDir, "shards", "shadow", name));
    const torn = whole.subarray(0, whole.length >> 1);
    const tempName = `${name}.tmp-4194304-0badf00d`;
    fs.writeFileSync(path.join(shadowDir, tempName), torn);
    fs.writeFileSync(path.join(shadowDir, name), torn);
    const keptStat = kept.map((k) => {
      const st = fs.statSync(path.join(shadowDir, `shard-${String(k).padStart(6, "0")}.bin`));
      return `${k}:${st.mtimeMs}:${st.ino}`;
    });

    const r = leak([...ARGS, "--run-dir", runDir], tmp);
    expectOk(r);
    expect(r.stdout).toContain(`run folder     ${runDir} (resume)`);

    expectSameShards(runDir, refDir);
    const got = readResult(runDir);
    const ref = readResult(refDir);
    expect(metricValues(got)).toEqual(metricValues(ref));
    expect(got.counts.shadow_shards_resumed).toBe(kept.length);
    expect(got.counts.shadow_shards_generated).toBe(SHADOW_SHARDS - kept.length);
    expect(got.counts.target_shards_generated).toBe(1);
    // Finished shards were reused as they were.
    expect(
      kept.map((k) => {
        const st = fs.statSync(path.join(shadowDir, `shard-${String(k).padStart(6, "0")}.bin`));
        return `${k}:${st.mtimeMs}:${st.ino}`;
      }),
    ).toEqual(keptStat);
    // The torn file under the shard's name was replaced by the whole shard (checked above); the
    // temporary file is listed nowhere.
    const manifest = fs.readFileSync(path.join(shadowDir, "manifest.json"), "utf8");
    expect(manifest).not.toContain(".tmp-");

    // metrics.jsonl holds both invocations (a line torn by the kill is skipped) and ends the run.
    const events = readMetrics(path.join(runDir, "metrics.jsonl"));
    expect(events.filter((e) => e.stage === "run-start").length).toBe(2);
    expect(events.at(-1)?.stage).toBe("run-end");
  }, 180_000);

  test("a finished run re-fitted with other --attack-epochs reuses every shard and needs no original model", () => {
    const copy = path.join(tmp, "refit");
    fs.cpSync(refDir, copy, { recursive: true });
    // No model cache: the originals could only come from training, which must not happen.
    const args = ARGS.slice(0, ARGS.indexOf("--model-cache-dir"));
    const r = leak([...args, "--no-model-cache", "--attack-epochs", "3", "--run-dir", copy], tmp);
    expectOk(r);
    expect(r.stdout + r.stderr).toContain("every shard is already there: the original models are not needed");
    expect(r.stdout + r.stderr).not.toContain("original shadow and target models: training both");
    expectSameShards(copy, refDir);
    const counts = readResult(copy).counts;
    expect(counts.shadow_shards_generated).toBe(0);
    expect(counts.shadow_shards_resumed).toBe(SHADOW_SHARDS);
    const epochs = readMetrics(path.join(copy, "metrics.jsonl")).filter(
      (e) => e.stage === "attack-label" && e.epoch === 3,
    );
    expect(epochs.length).toBe(1);
  }, 600_000);

  // A background job of a non-interactive shell starts with SIGINT ignored, and passes that on.
  const sigintIgnored = (() => {
    try {
      const m = /^SigIgn:\s*([0-9a-f]+)$/m.exec(fs.readFileSync("/proc/self/status", "utf8"));
      return m ? (BigInt(`0x${m[1]}`) & 2n) !== 0n : false;
    } catch {
      return false;
    }
  })();
  const signals = sigintIgnored ? (["SIGTERM"] as const) : (["SIGINT", "SIGTERM"] as const);
  if (sigintIgnored) console.warn("resume.test: SIGINT is ignored in this process; only SIGTERM is tested");

  test(`${signals.join(" and ")} (Ctrl-C, a job runner's cancel) end a run at once; the listed shards are whole`, async () => {
    for (const signal of signals) {
      const dir = path.join(tmp, signal);
      const { child } = await startAndWaitForShard(dir, signal);
      const stdout = fs.readFileSync(path.join(tmp, `${signal}.stdout`), "utf8");
      expect(stdout).toContain(
        `to resume      npm run leak -- label --dataset insta-ny --run-dir ${dir} (same flags)`,
      );
      const sent = performance.now();
      child.kill(signal);
      await child.exited;
      // Ended by the signal (a shell reports 128 + its number), not by finishing the run.
      expect(child.signalCode).toBe(signal);
      expect(performance.now() - sent).toBeLessThan(2000);
      expect(fs.existsSync(path.join(dir, "result.json"))).toBe(false);
      const kept = listedShards(dir, "shadow");
      expect(kept.length).toBeGreaterThanOrEqual(1);
      expect(kept.length).toBeLessThan(SHADOW_SHARDS);
      // merge verifies the listed shards' checksums and counts them; they equal the reference's.
      const r = leak(["merge", "--run-dir", dir], tmp);
      expect(r.code).toBe(3);
      expect(r.stdout).toContain(`shadow  ${kept.length}/${SHADOW_SHARDS} shards, missing `);
      for (const k of kept) {
        const name = `shard-${String(k).padStart(6, "0")}.bin`;
        const a = fs.readFileSync(path.join(dir, "shards", "shadow", name));
        expect(Buffer.compare(a, fs.readFileSync(path.join(refDir, "shards", "shadow", name)))).toBe(0);
      }
    }
  }, 600_000);
});
