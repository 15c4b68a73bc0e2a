/**
 * Every example in examples/ under Bun (the TypeScript), Node and Deno (the bundles that
 * `npm run build` writes to examples/dist). Each prints JSON lines; the checks:
 * - label-attack: A_LI beats the 0.1 Random baseline by a wide margin, with the same accuracy on
 *   every runtime (seeded model, seeded attack, deterministic engine);
 * - save-deltas: numpy reads the .npy files (examples/read_deltas.py), each probe's posterior
 *   difference sums to zero over the classes, and every runtime writes the same bytes;
 * - bench-backends: a finite, positive rate for wasm and cpu at least (a timing, never compared).
 * A runtime that is not installed, MNIST that is not found or numpy that is missing skips the
 * case, with the reason in its name.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { locateDataset } from "@updates-leak/datasets";
import { commandVersion, DENO, ensureBuilt, ROOT } from "./run-support.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ul-examples-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const haveMnist = locateDataset("mnist").chosen !== undefined;
const numpy = spawnSync("python3", ["-c", "import numpy"]).status === 0;

const runtimes = [
  {
    name: "bun",
    run: (ex: string) => [process.execPath, path.join(ROOT, "examples", `${ex}.ts`)],
    version: "",
  },
  { name: "node", run: (ex: string) => ["node", bundle(ex)], version: commandVersion("node") },
  {
    name: "deno",
    run: (ex: string) => [DENO, "run", "--allow-all", bundle(ex)],
    version: commandVersion(DENO),
  },
];

function bundle(example: string): string {
  return path.join(ROOT, "examples", "dist", `${example}.js`);
}

/** Runs an example; returns its JSON lines. */
function run(argv: string[], args: string[] = []): Record<string, unknown>[] {
  const [cmd, ...pre] = argv;
  const r = spawnSync(cmd!, [...pre, ...args], { cwd: tmp, encoding: "utf8", timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${argv.join(" ")} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l));
}

beforeAll(() => ensureBuilt());

const accuracies: number[] = [];
const deltaFiles: Buffer[] = [];

describe.each(runtimes)("examples under $name", (rt) => {
  const missing = rt.version === null ? ` (skipped: ${rt.name} not found)` : "";
  const noData = haveMnist ? "" : " (skipped: no MNIST files found; set UPDATES_LEAK_DATA)";

  test.skipIf(rt.version === null || !haveMnist)(`label-attack: A_LI beats Random${missing}${noData}`, () => {
    const [out] = run(rt.run("label-attack"));
    expect(out!.example).toBe("label-attack");
    expect(out!.random).toBe(0.1);
    expect(out!.accuracy as number).toBeGreaterThan(0.5);
    accuracies.push(out!.accuracy as number);
    expect(new Set(accuracies).size).toBe(1); // the same number on every runtime so far
  });

  const noNumpy = numpy ? "" : " (numpy check skipped: python3 has no numpy)";
  test.skipIf(rt.version === null || !haveMnist)(
    `save-deltas: numpy reads them${missing}${noData}${noNumpy}`,
    () => {
      const dir = path.join(tmp, `deltas-${rt.name}`);
      run(rt.run("save-deltas"), [dir]);
      const bytes = fs.readFileSync(path.join(dir, "deltas.npy"));
      deltaFiles.push(bytes);
      expect(Buffer.compare(bytes, deltaFiles[0]!)).toBe(0); // byte for byte the same on every runtime
      if (!numpy) return;
      const r = spawnSync("python3", [path.join(ROOT, "examples", "read_deltas.py"), dir], {
        encoding: "utf8",
      });
      expect(r.status).toBe(0);
      const read = JSON.parse(r.stdout);
      expect(read.shape).toEqual([200, 1000]);
      expect(read.dtype).toBe("float32");
      expect(read.labels).toHaveLength(5);
      expect(read.max_abs_row_sum).toBeLessThan(1e-5);
      expect(read.mean_abs_delta).toBeGreaterThan(1e-6); // the updates moved the posteriors
    },
  );

  test.skipIf(rt.version === null)(`bench-backends: a rate for each backend${missing}`, () => {
    const lines = run(rt.run("bench-backends"));
    const backends = lines.map((l) => l.backend);
    expect(backends).toContain("wasm");
    expect(backends).toContain("cpu");
    for (const l of lines) {
      expect(Number.isFinite(l.modelsPerSecond)).toBe(true);
      expect(l.modelsPerSecond as number).toBeGreaterThan(0);
    }
  });
});
