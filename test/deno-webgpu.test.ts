/**
 * WebGPU under Deno, on Deno's own `navigator.gpu` (no bun-webgpu): the engine's deltas on webgpu,
 * started with `syncReads: false`, against the one-model-at-a-time reference on Deno's cpu backend,
 * for the MNIST CNN with dropout, single-sample and 3-sample updates. Also: the backend report
 * names the runtime and the adapter and says reads are asynchronous only; a synchronous read fails
 * with a message that says what to do; nothing leaks; without `syncReads: false` webgpu is refused
 * with the reason. Runs the built core (`npm run build`), as a Deno user of the package would.
 * Skipped, with the reason, when Deno is missing or finds no WebGPU adapter.
 */
import { afterAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { commandVersion, DENO, ensureBuilt, ROOT } from "./run-support.ts";

// Inside the checkout (.tmp/ is ignored by git): Deno resolves the packages through its package.json.
fs.mkdirSync(path.join(ROOT, ".tmp"), { recursive: true });
const tmp = fs.mkdtempSync(path.join(ROOT, ".tmp", "deno-webgpu-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const CORE = "@updates-leak/core";
const SCRIPT = `
import { selectBackend, tf, UpdateEngine, referenceDeltas, SPECS, initParams, Rng, PAPER_UPDATE, randomUpdateSets } from ${JSON.stringify(CORE)};
const out = {};
try {
  await selectBackend({ backend: "webgpu", quiet: true });
  out.refusedWithSyncReads = null;
} catch (err) {
  out.refusedWithSyncReads = err.message;
}
let report;
try {
  report = await selectBackend({ backend: "webgpu", quiet: true, syncReads: false });
} catch (err) {
  console.log(JSON.stringify({ skip: err.message }));
  Deno.exit(0);
}
out.report = report;
const spec = SPECS.mnist;
const rng = new Rng("deno-webgpu");
const opts = {
  spec,
  original: initParams(spec, rng.fork("init")),
  probes: rng.fork("probes").normals(12 * 784),
  update: PAPER_UPDATE,
  dropout: true,
};
const masks = (n, k) => Array.from({ length: n }, (_, i) => new Rng("masks").fork(k, i));
out.cases = [];
for (const setSize of [1, 3]) {
  const sets = randomUpdateSets(spec, 4, setSize, rng.fork("sets", setSize));
  await selectBackend({ backend: "webgpu", quiet: true, syncReads: false });
  const before = tf.memory().numTensors;
  const engine = new UpdateEngine(opts);
  const gpu = await engine.deltas(sets, masks(4, setSize));
  engine.dispose();
  const leaked = tf.memory().numTensors - before;
  await selectBackend({ backend: "cpu", quiet: true });
  const ref = await referenceDeltas(opts, sets, masks(4, setSize));
  let maxErr = 0;
  let maxRef = 0;
  for (let i = 0; i < ref.length; i++) {
    maxErr = Math.max(maxErr, Math.abs(gpu[i] - ref[i]));
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
  }
  out.cases.push({ setSize, n: ref.length, maxErr, maxRef, leaked });
}
await selectBackend({ backend: "webgpu", quiet: true, syncReads: false });
const [a, b] = [tf.ones([64, 64]), tf.ones([64, 64])];
const t = tf.matMul(a, b); // big enough to run on the GPU (tiny ops run on the host)
try {
  t.dataSync();
  out.syncReadError = null;
} catch (err) {
  out.syncReadError = err.message;
}
out.asyncRead = Array.from((await t.data()).slice(0, 2));
tf.dispose([a, b, t]);
console.log(JSON.stringify(out));
`;

interface Outcome {
  skip?: string;
  refusedWithSyncReads: string | null;
  report: { backend: string; runtime: string; adapter: string | null; syncReads: boolean };
  cases: { setSize: number; n: number; maxErr: number; maxRef: number; leaked: number }[];
  syncReadError: string | null;
  asyncRead: number[];
}

/** Runs the script under Deno (at load time: whether to skip is known only after it ran). */
function runUnderDeno(): { outcome: Outcome | null; skip: string } {
  if (denoVersion === null) return { outcome: null, skip: " (skipped: deno not found)" };
  ensureBuilt();
  const file = path.join(tmp, "engine-webgpu.mjs");
  fs.writeFileSync(file, SCRIPT);
  const r = spawnSync(DENO, ["run", "--allow-all", file], { cwd: ROOT, encoding: "utf8", timeout: 300_000 });
  if (r.status !== 0) throw new Error(`deno exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  const outcome = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Outcome;
  return { outcome, skip: outcome.skip ? ` (skipped: ${outcome.skip})` : "" };
}

const denoVersion = commandVersion(DENO);
const { outcome, skip } = runUnderDeno();

test.skipIf(skip !== "")(
  `webgpu under Deno: engine deltas equal the cpu reference within 1e-6${skip}`,
  () => {
    for (const c of outcome!.cases) {
      expect(c.n).toBe(4 * 12 * 10);
      expect(c.maxRef).toBeGreaterThan(1e-6); // the updates move the posteriors at all
      expect(c.maxErr).toBeLessThan(1e-6);
      expect(c.leaked).toBe(0);
    }
  },
);

test.skipIf(skip !== "")(
  `webgpu under Deno: the report names runtime and adapter, reads async only${skip}`,
  () => {
    const o = outcome!;
    expect(o.report.backend).toBe("webgpu");
    expect(o.report.runtime).toBe(denoVersion!.replace(/ \(.*$/, ""));
    expect(o.report.adapter).not.toBeNull();
    expect(o.report.syncReads).toBe(false);
    expect(o.refusedWithSyncReads).toContain("no synchronous WebGPU read");
    expect(o.syncReadError).toContain("no synchronous read");
    expect(o.asyncRead).toEqual([64, 64]);
  },
);
