/**
 * End-to-end tests of the CLI as a user runs it: `bun tools/src/cli.ts ...` in a child process.
 * Help, usage errors (exit 2, a message naming the flag and its allowed values, nothing written),
 * the backend report as JSON and `merge` on a job-array run folder. Real runs through the CLI,
 * killed and resumed, are in resume.test.ts.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { configHash, dataFields } from "../tools/src/config-hash.ts";
import { resolveConfig } from "../tools/src/resolve-config.ts";
import { RunFolder } from "../tools/src/run-folder.ts";
import { FileShardStore } from "../tools/src/shard-store.ts";

const ROOT = path.resolve(import.meta.dir, "..");
const CLI = path.join(ROOT, "tools", "src", "cli.ts");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ul-cli-"));

/** Is python3 with numpy here (to read .npy files as a user would)? */
const numpy = spawnSync("python3", ["-c", "import numpy"]).status === 0;

/** A .npy file of int32 read the long way: magic, version 1.0, header, little-endian data. */
function readNpyInt32(file: string): Int32Array {
  const b = fs.readFileSync(file);
  expect(Array.from(b.subarray(0, 8))).toEqual([0x93, 78, 85, 77, 80, 89, 1, 0]);
  const headerLength = b.readUInt16LE(8);
  expect((10 + headerLength) % 64).toBe(0);
  const header = b.subarray(10, 10 + headerLength).toString("latin1");
  expect(header).toMatch(/^\{'descr': '<i4', 'fortran_order': False, 'shape': \((\d+),\), \} *\n$/);
  const n = Number(/\((\d+),\)/.exec(header)![1]);
  return Int32Array.from({ length: n }, (_, i) => b.readInt32LE(10 + headerLength + 4 * i));
}
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function leak(args: string[], timeoutMs = 60_000) {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd: tmp,
    encoding: "utf8",
    timeout: timeoutMs,
    env: { ...process.env, NO_COLOR: "1" },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("leak --help", () => {
  test("top-level help lists every subcommand", () => {
    const r = leak(["--help"]);
    expect(r.code).toBe(0);
    for (const c of ["backend", "label", "reconstruct", "distribution", "msr", "merge"]) {
      expect(r.stdout).toContain(`  ${c} `);
    }
  });

  test("each subcommand has help naming its flags", () => {
    const r = leak(["distribution", "--help"]);
    expect(r.code).toBe(0);
    for (const f of [
      "--dataset <name>",
      "--seed <n>",
      "--shadow-models <n>",
      "--target-models <n>",
      "--set-size <n>",
      "--probe-count <n>",
      "--shard-size <n>",
      "--chunk-size <n>",
      "--train-epochs <n>",
      "--attack-epochs <n>",
      "--backend <name>",
      "--threads <n>",
      "--smoke",
      "--data-dir <dir>",
      "--offline",
      "--model-cache-dir <dir>",
      "--runs-dir <dir>",
      "--run-dir <dir>",
      "--fresh",
      "--shard <K/N>",
    ]) {
      expect(r.stdout).toContain(f);
    }
  });
});

describe("bad input: exit 2, a message naming the flag, nothing written", () => {
  const runs = path.join(tmp, "runs-bad");
  /** An attack command line that would write under `runs` if it got that far. */
  const A = (...args: string[]) => [...args, "--runs-dir", runs];
  // The full matrix of bad input runs in-process in tools/src/cli.test.ts; these spawn the real CLI.
  const cases: [string, string[], RegExp][] = [
    ["unknown subcommand", ["attack"], /unknown command 'attack'/],
    ["unknown flag", A("label", "--dataset", "mnist", "--epochs", "3"), /unknown option '--epochs'/],
    [
      "probe count 0",
      A("label", "--dataset", "mnist", "--probe-count", "0"),
      /'--probe-count <n>' argument '0' is invalid\. Expected an integer from 1 to 10000/,
    ],
    [
      "unknown data set",
      A("label", "--dataset", "svhn"),
      /'--dataset <name>' argument 'svhn' is invalid\. Allowed choices are mnist, cifar10, insta-ny/,
    ],
    [
      "set size larger than the pool",
      A("reconstruct", "--dataset", "cifar10", "--set-size", "20000"),
      /--set-size 20000 is larger than the cifar10 updating pool; allowed: 1 to 19950/,
    ],
  ];
  for (const [name, args, message] of cases) {
    test(name, () => {
      const r = leak(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe("");
      expect(fs.existsSync(runs)).toBe(false);
    });
  }

  test("a --run-dir made for other data: exit 2 naming --fresh and --run-dir, folder untouched", () => {
    const runDir = path.join(tmp, "made-for-seed-0");
    const config = resolveConfig("label", { dataset: "mnist", smoke: true });
    RunFolder.prepare(config, { runsDir: tmp, runDir }).writeConfig({
      config,
      configHash: configHash(config),
    });
    const before = fs.readFileSync(path.join(runDir, "config.json"), "utf8");
    const r = leak(["label", "--dataset", "mnist", "--smoke", "--seed", "1", "--run-dir", runDir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("was made for another config (seed: 0 -> 1)");
    expect(r.stderr).toContain("add --fresh");
    expect(r.stderr).toContain("pick a new --run-dir");
    expect(fs.readdirSync(runDir)).toEqual(["config.json"]);
    expect(fs.readFileSync(path.join(runDir, "config.json"), "utf8")).toBe(before);
  });

  test("no subcommand prints help and exits 2", () => {
    const r = leak([]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Usage: leak");
  });
});

describe("leak backend", () => {
  test("--backend cpu --json prints only the JSON report on stdout", () => {
    const r = leak(["backend", "--backend", "cpu", "--json"]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.backend).toBe("cpu");
    expect(report.threads).toBe(1);
    expect(report.tried).toEqual([expect.objectContaining({ backend: "cpu", ok: true })]);
  });

  test("plain output names the backend and the reason", () => {
    const r = leak(["backend", "--backend", "cpu"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^backend\s+cpu \(/);
  });
});

describe("an attack run's --json and run.log", () => {
  const dir = path.join(tmp, "json-run");
  const cmd = ["label", "--dataset", "insta-ny", "--smoke", "--run-dir", dir, "--no-model-cache"];

  test("--json: stdout is result.json alone, on one line; the usual lines go to stderr", () => {
    const r = leak([...cmd, "--json"], 300_000);
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n").filter((l) => l !== "");
    expect(lines).toHaveLength(1);
    const onDisk = JSON.parse(fs.readFileSync(path.join(dir, "result.json"), "utf8"));
    expect(JSON.parse(lines[0] as string)).toEqual(onDisk);
    expect(onDisk.attack).toBe("label");
    expect([onDisk.format, onDisk.version, onDisk.seed]).toEqual(["updates-leak-result", 2, 0]);
    expect(onDisk.config).toMatchObject({ attack: "label", dataset: "insta-ny", seed: 0, smoke: true });
    expect(r.stderr).toContain("result: accuracy");
    expect(r.stderr).toContain(`run folder     ${dir}`);
  });

  test("predictions/*.npy: the predicted and true labels give result.json's accuracy", () => {
    const result = JSON.parse(fs.readFileSync(path.join(dir, "result.json"), "utf8"));
    expect(result.predictions.predicted_label).toMatchObject({ dtype: "int32", shape: [100] });
    const labels = (name: string) => readNpyInt32(path.join(dir, "predictions", `${name}.npy`));
    const predicted = labels("predicted_label");
    const truth = labels("true_label");
    expect(predicted.length).toBe(100);
    expect(predicted.filter((v, i) => v === truth[i]).length / 100).toBe(result.value);
  });

  test.skipIf(!numpy)(
    `numpy reads predictions/*.npy (${numpy ? "numpy found" : "skipped: python3 with numpy not found"})`,
    () => {
      const script =
        "import numpy as np, sys; p = np.load(sys.argv[1]); t = np.load(sys.argv[2]); print(p.dtype, p.shape, int((p == t).sum()))";
      const r = spawnSync(
        "python3",
        [
          "-c",
          script,
          ...["predicted_label", "true_label"].map((n) => path.join(dir, "predictions", `${n}.npy`)),
        ],
        {
          encoding: "utf8",
        },
      );
      const result = JSON.parse(fs.readFileSync(path.join(dir, "result.json"), "utf8"));
      expect(r.stderr).toBe("");
      expect(r.stdout.trim()).toBe(`int32 (100,) ${Math.round(result.value * 100)}`);
    },
  );

  test("run.log holds what the run printed under a header; a resume appends, --fresh starts it anew", () => {
    const first = fs.readFileSync(path.join(dir, "run.log"), "utf8");
    const lines = first.split("\n");
    expect(lines[0]).toMatch(/^# \d{4}-\d\d-\d\dT[\d:.]+Z leak label --dataset insta-ny --smoke /);
    expect(lines[1]).toBe("updates-leak label on insta-ny (smoke size)");
    // The plan (printed before the folder existed), progress messages, finished stages, the result.
    for (const text of [
      `  run folder     ${dir}`,
      "insta-ny: no insta-ny.csv found",
      "[train A_LI] 20/20 100%",
    ]) {
      expect(lines.some((l) => l.startsWith(text))).toBe(true);
    }
    expect(lines.filter((l) => l.startsWith("result: accuracy"))).toHaveLength(1);
    expect(leak(cmd, 300_000).code).toBe(0);
    const resumed = fs.readFileSync(path.join(dir, "run.log"), "utf8");
    expect(resumed.startsWith(first)).toBe(true);
    expect(resumed.split("\n").filter((l) => l.startsWith("# "))).toHaveLength(2);
    expect(resumed.slice(first.length)).toContain(`  run folder     ${dir} (resume)`);
    expect(leak([...cmd, "--fresh"], 300_000).code).toBe(0);
    const fresh = fs.readFileSync(path.join(dir, "run.log"), "utf8");
    expect(fresh.split("\n").filter((l) => l.startsWith("# "))).toHaveLength(1);
    expect(fresh.split("\n").filter((l) => l.startsWith("result: accuracy"))).toHaveLength(1);
  });

  test("a run stopped by bad data writes no folder and so no log", () => {
    const bad = path.join(tmp, "json-bad");
    const r = leak(["label", "--dataset", "mnist", "--data-dir", path.join(tmp, "empty"), "--run-dir", bad]);
    expect(r.code).not.toBe(0);
    expect(fs.existsSync(bad)).toBe(false);
  });
});

describe("leak report over real runs", () => {
  const runs = path.join(tmp, "report-runs");
  const run = (seed: number, epochs: number) =>
    leak(
      [
        ...[
          "label",
          "--dataset",
          "insta-ny",
          "--smoke",
          "--no-model-cache",
          "--attack-epochs",
          String(epochs),
        ],
        ...["--seed", String(seed), "--run-dir", path.join(runs, `e${epochs}-s${seed}`)],
      ],
      300_000,
    );

  test("three seeds of one setting: the mean and sample sd of their result.json values, n = 3", () => {
    for (const [seed, epochs] of [
      [0, 2],
      [1, 2],
      [2, 2],
      [0, 3],
    ] as const)
      expect(run(seed, epochs).code).toBe(0);
    const r = leak(["report", runs, "--json"]);
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.stdout) as {
      n: number;
      seeds: number[];
      mean: number;
      sd: number;
      differs: string[];
    }[];
    expect(rows.map((row) => [row.n, row.differs])).toEqual([
      [3, ["attackEpochs=2"]],
      [1, ["attackEpochs=3"]],
    ]);
    const values = [0, 1, 2].map(
      (s) => JSON.parse(fs.readFileSync(path.join(runs, `e2-s${s}`, "result.json"), "utf8")).value as number,
    );
    const mean = (values[0]! + values[1]! + values[2]!) / 3;
    const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / 2);
    expect(rows[0]!.seeds).toEqual([0, 1, 2]);
    expect(rows[0]!.mean).toBeCloseTo(mean, 12);
    expect(rows[0]!.sd).toBeCloseTo(sd, 12);
    const table = leak(["report", runs]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain("| label | insta-ny-synthetic | attackEpochs=2 | accuracy | ");
    expect(table.stdout).toContain(" | 3 | 0, 1, 2 | random ");
  });

  test("a run folder with no result.json: exit 2, naming the file and what to do", () => {
    const unfinished = path.join(tmp, "report-unfinished");
    fs.mkdirSync(unfinished, { recursive: true });
    fs.copyFileSync(path.join(runs, "e2-s0", "config.json"), path.join(unfinished, "config.json"));
    const r = leak(["report", unfinished]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${path.join(unfinished, "result.json")} does not exist`);
    expect(r.stderr).toContain("resume it with --run-dir");
    expect(r.stdout).toBe("");
  });
});

describe("leak merge", () => {
  test("reports missing shards with exit 3, then 0 once the parts are all there", async () => {
    const config = resolveConfig("label", {
      dataset: "mnist",
      shadowModels: 30,
      targetModels: 10,
      shardSize: 10,
    });
    const runDir = path.join(tmp, "array");
    const folder = RunFolder.prepare(config, { runsDir: tmp, runDir });
    folder.writeConfig({ config, configHash: configHash(config) });
    const shard = (k: number) => ({
      count: 10,
      deltaSize: 2,
      truthSize: 1,
      deltas: new Float32Array(20).fill(k),
      truth: new Float32Array(10),
    });
    const part = (p: number, side: "shadow" | "target") =>
      FileShardStore.open({
        dir: folder.shardsDir(side),
        role: side,
        configHash: configHash(config),
        config: dataFields(config),
        slice: { part: p, of: 2 },
      });
    await part(1, "shadow").write(0, shard(0));
    await part(1, "shadow").write(2, shard(2));
    await part(1, "target").write(0, shard(0));
    let r = leak(["merge", "--run-dir", runDir]);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain("shadow  2/3 shards, missing 1");
    expect(r.stdout).toContain("target  1/1 shards");
    await part(2, "shadow").write(1, shard(1));
    r = leak(["merge", "--run-dir", runDir]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("shadow  3/3 shards");
    expect(r.stdout).toContain(
      "all shards present; fit the attack with: npm run leak -- label --dataset mnist",
    );
    expect(fs.readdirSync(folder.shardsDir("shadow")).filter((f) => f.startsWith("manifest"))).toEqual([
      "manifest.json",
    ]);
  });
});
