/**
 * CBM-GAN training resumed, end to end with the real CLI, as test/resume.test.ts does for shards:
 * the smoke A_MSR on MNIST (3 GAN epochs, small sizes) runs to completion in one folder; in another
 * the same command is SIGKILLed once the first CBM-GAN checkpoint is written (during its second
 * epoch), rerun and SIGKILLed again once the plain GAN's first checkpoint is written (the CBM-GAN
 * then finished and evaluated), and rerun to the end. Against the uninterrupted run:
 * - result.json has the same metric values and predictions/matched_mse.npy the same bytes;
 * - the checkpoints (each GAN's final state: nets, batch norm statistics, both optimisers, losses)
 *   hold the same tensors bit for bit, and every epoch's losses in metrics.jsonl are the same;
 * - the reruns took up the checkpoints (no finished epoch trained twice), and a rerun of the
 *   finished folder trains no epoch and gives the same result.
 * wasm with 1 thread, originals trained once into a model cache in a temp folder: about 2 minutes
 * on 2 busy cores. Skipped, saying so in its name, when no MNIST files are found.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { decodeMsrCheckpoint, type MsrCheckpoint } from "@updates-leak/attacks";
import { locateDataset } from "@updates-leak/datasets";
import { readMetrics } from "../tools/src/run-folder.ts";
import { expectOk, leak, metricValues, oneWasmThread, readResult, spawnLeak } from "./run-support.ts";

const haveMnist = locateDataset("mnist").chosen !== undefined;
const noData = haveMnist ? "" : " (skipped: no MNIST files found; set UPDATES_LEAK_DATA)";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ul-msr-resume-"));
afterAll(() => {
  if (!process.env.KEEP_TMP) fs.rmSync(tmp, { recursive: true, force: true });
});

const ARGS = [
  "msr",
  "--dataset",
  "mnist",
  "--smoke",
  "--shadow-models",
  "120",
  "--target-models",
  "20",
  "--shard-size",
  "40",
  "--attack-epochs",
  "3",
  "--inference-samples",
  "400",
  "--eval-targets",
  "4",
  ...oneWasmThread(tmp),
];
const refDir = path.join(tmp, "reference");
const runDir = path.join(tmp, "killed");
const LIMIT_MS = 300_000;

beforeAll(() => {
  // The uninterrupted run; it also trains the original models into the cache.
  if (haveMnist) expectOk(leak([...ARGS, "--run-dir", refDir], tmp, LIMIT_MS));
}, 600_000);

/** The checkpoint files of a run folder whose names start with `prefix` (temporary files excluded). */
function checkpoints(dir: string, prefix = "msr-"): string[] {
  const d = path.join(dir, "checkpoints");
  if (!fs.existsSync(d)) return [];
  return fs
    .readdirSync(d)
    .filter((n) => n.startsWith(prefix) && n.endsWith(".bin"))
    .sort();
}

function readCheckpoint(dir: string, name: string): MsrCheckpoint {
  const file = path.join(dir, "checkpoints", name);
  return decodeMsrCheckpoint(fs.readFileSync(file), file);
}

/** Start the run into `runDir`, SIGKILL it as soon as a checkpoint named `prefix...` exists. */
async function killAfterCheckpoint(prefix: string, log: string): Promise<string> {
  const child = spawnLeak([...ARGS, "--run-dir", runDir], tmp, path.join(tmp, log));
  const t0 = performance.now();
  while (checkpoints(runDir, prefix).length === 0) {
    if (child.exitCode !== null)
      throw new Error(`the run ended (exit ${child.exitCode}) before a ${prefix} checkpoint was written`);
    if (performance.now() - t0 > LIMIT_MS) throw new Error(`no ${prefix} checkpoint within ${LIMIT_MS} ms`);
    await Bun.sleep(5);
  }
  child.kill("SIGKILL");
  await child.exited;
  expect(child.signalCode).toBe("SIGKILL");
  expect(fs.existsSync(path.join(runDir, "result.json"))).toBe(false);
  return (
    fs.readFileSync(path.join(tmp, `${log}.stdout`), "utf8") +
    fs.readFileSync(path.join(tmp, `${log}.stderr`), "utf8")
  );
}

const bits = (a: Float32Array) => new Uint32Array(a.buffer, a.byteOffset, a.length);

/** The same training state: every tensor bit for bit, the optimisers' counts, the losses. */
function expectSameCheckpoint(a: MsrCheckpoint, b: MsrCheckpoint, name: string): void {
  expect(b.identity).toBe(a.identity);
  expect([b.epoch, b.epochs]).toEqual([a.epoch, a.epochs]);
  expect(b.adam).toEqual(a.adam);
  expect(b.tensors.map((t) => `${t.name}[${t.shape}]`)).toEqual(
    a.tensors.map((t) => `${t.name}[${t.shape}]`),
  );
  a.tensors.forEach((t, i) => {
    const x = bits(t.data);
    const y = bits(b.tensors[i]!.data);
    if (!x.every((w, j) => w === y[j]))
      throw new Error(`${name}: ${t.name} differs from the reference run's`);
  });
  const losses = (c: MsrCheckpoint) => c.history.map((r) => [r.epoch, r.dLoss, r.gLoss, r.bestMatch]);
  expect(losses(b)).toEqual(losses(a));
}

/** `stage|epoch -> losses` of the GAN epoch events in metrics.jsonl (repeats must agree). */
function epochLosses(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of readMetrics(path.join(dir, "metrics.jsonl"))) {
    if (!String(e.stage).startsWith("attack-msr-") || e.epoch === undefined) continue;
    const k = `${e.stage}|${e.epoch}`;
    const v = JSON.stringify([e.dLoss, e.gLoss, e.bestMatch]);
    if (out.has(k) && out.get(k) !== v) throw new Error(`${dir}: ${k} reported twice with other losses`);
    out.set(k, v);
  }
  return out;
}

describe("an interrupted CBM-GAN training", () => {
  test.skipIf(!haveMnist)(
    `SIGKILL after a GAN checkpoint, twice, then the same command: the reference run's generators and result${noData}`,
    async () => {
      const t0 = performance.now();
      const ref = checkpoints(refDir);
      expect(ref.map((n) => n.replace(/-[0-9a-f]{12}\.bin$/, ""))).toEqual([
        "msr-cbm-gan",
        "msr-gan-no-best-match",
      ]);

      // Killed during the CBM-GAN's second epoch: only its epoch-1 state is there.
      await killAfterCheckpoint("msr-cbm-gan-", "kill-1");
      expect(checkpoints(runDir)).toEqual([ref[0]!]);
      const first = readCheckpoint(runDir, ref[0]!);
      expect(first.epoch).toBeLessThan(3);
      console.log(`msr-resume.test: first kill with the CBM-GAN at epoch ${first.epoch} of 3`);

      // Rerun, killed once the plain GAN has a checkpoint: the CBM-GAN resumed, finished and evaluated.
      const out2 = await killAfterCheckpoint("msr-gan-no-best-match-", "kill-2");
      expect(out2).toContain(
        `cbm-gan: resumed after epoch ${first.epoch} of 3 from ${path.join(runDir, "checkpoints", ref[0]!)}`,
      );
      expect(checkpoints(runDir)).toEqual(ref);
      expect(readCheckpoint(runDir, ref[0]!).epoch).toBe(3);
      const second = readCheckpoint(runDir, ref[1]!);
      expect(second.epoch).toBeLessThan(3);

      const r = leak([...ARGS, "--run-dir", runDir], tmp, LIMIT_MS);
      expectOk(r);
      expect(r.stdout).toContain(`run folder     ${runDir} (resume)`);
      expect(r.stderr + r.stdout).toContain("cbm-gan: resumed after epoch 3 of 3");
      expect(r.stderr + r.stdout).toContain(`gan-no-best-match: resumed after epoch ${second.epoch} of 3`);

      const got = readResult(runDir);
      const want = readResult(refDir);
      expect(metricValues(got)).toEqual(metricValues(want));
      expect(got.extra.std).toBe(want.extra.std as number);
      const npy = (d: string) => fs.readFileSync(path.join(d, "predictions", "matched_mse.npy"));
      expect(Buffer.compare(npy(runDir), npy(refDir))).toBe(0);
      for (const name of ref)
        expectSameCheckpoint(readCheckpoint(refDir, name), readCheckpoint(runDir, name), name);
      expect(epochLosses(runDir)).toEqual(epochLosses(refDir));
      expect(epochLosses(refDir).size).toBe(6);
      const resumes = readMetrics(path.join(runDir, "metrics.jsonl")).filter(
        (e) => e.resumedAfterEpoch !== undefined,
      );
      expect(resumes.map((e) => [e.stage, e.resumedAfterEpoch])).toEqual([
        ["attack-msr-cbm-gan", first.epoch],
        ["attack-msr-cbm-gan", 3],
        ["attack-msr-gan-no-best-match", second.epoch],
      ]);

      // The finished folder again: both GANs taken up after their last epoch, nothing trained.
      const again = leak([...ARGS, "--run-dir", runDir], tmp, LIMIT_MS);
      expectOk(again);
      expect(again.stderr + again.stdout).toContain("gan-no-best-match: resumed after epoch 3 of 3");
      expect(metricValues(readResult(runDir))).toEqual(metricValues(want));
      expect(epochLosses(runDir)).toEqual(epochLosses(refDir));
      console.log(
        `msr-resume.test: kills, resumes and rerun in ${((performance.now() - t0) / 1000).toFixed(0)} s`,
      );
    },
    900_000,
  );
});
