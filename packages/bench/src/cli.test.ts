/**
 * The bench CLI's smoke run, in a child process: every stdout line is a well-formed record with
 * the documented fields, every suite reports, no tensors leak, and --out receives the same lines.
 * No timing is asserted. Also the compare logic and argument errors, on records made here.
 */
import { afterAll, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "./args.ts";
import { compareBackends, compareFiles } from "./compare.ts";
import { type BenchRecord, SCHEMA, SUITES } from "./record.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "bench-cli-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Figures are rounded to 4 significant digits. */
const relDiff = (a: number, b: number) => Math.abs(a - b) / Math.abs(b);

const TIMING_KEYS = ["runs", "firstMs", "medianMs", "minMs", "maxMs", "q1Ms", "q3Ms", "cpuMs"];

test("bench --smoke --json: well-formed records from every suite, also appended to --out", async () => {
  const out = path.join(tmp, "smoke.jsonl");
  const cli = path.join(import.meta.dir, "cli.ts");
  const proc = Bun.spawn([process.execPath, cli, "--smoke", "--json", "--backends", "wasm:1", "--out", out], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (code !== 0) console.error(stderr);
  expect(code).toBe(0);
  const lines = stdout.split("\n").filter((l) => l !== "");
  expect(lines.length).toBeGreaterThan(20);
  const records = lines.map((l) => JSON.parse(l) as BenchRecord);
  const runIds = new Set(records.map((r) => r.runId));
  expect(runIds.size).toBe(1);
  for (const r of records) {
    expect(r.schema).toBe(SCHEMA);
    expect(r.smoke).toBe(true);
    expect(SUITES).toContain(r.suite);
    expect(typeof r.case).toBe("string");
    expect(Number.isNaN(Date.parse(r.time))).toBe(false);
    expect(["ok", "skipped"]).toContain(r.status);
    expect(r.machine.cores).toBeGreaterThan(0);
    expect(typeof r.machine.cpuModel).toBe("string");
    expect(r.machine).toHaveProperty("gpuAdapter");
    expect(r.runtime.tfjs.core).toMatch(/^\d+\.\d+\.\d+$/);
    expect(r.notes.filter((n) => n.includes("leaked"))).toEqual([]);
    if (r.suite === "data") expect(r.backend).toBe("none");
    else {
      expect(r.backend).toBe("wasm:1");
      expect(r.runtime.backend?.backend).toBe("wasm");
      expect(r.runtime.backend?.threads).toBe(1);
    }
    if (r.status === "skipped") {
      expect(r.timing).toBeNull();
      expect(r.notes.length).toBeGreaterThan(0);
      continue;
    }
    expect(Object.keys(r.timing!).sort()).toEqual([...TIMING_KEYS].sort());
    const t = r.timing!;
    expect(t.runs).toBeGreaterThanOrEqual(1);
    expect(t.minMs).toBeLessThanOrEqual(t.medianMs);
    expect(t.medianMs).toBeLessThanOrEqual(t.maxMs);
    expect(t.q1Ms).toBeLessThanOrEqual(t.q3Ms);
    if (r.work) {
      expect(r.work.flop).toBeGreaterThan(0);
      expect(r.work.formula.length).toBeGreaterThan(0);
      expect(relDiff(r.gflops!.median, r.work.flop / t.medianMs / 1e6)).toBeLessThan(1e-3);
    }
    if (r.rate) expect(relDiff(r.rate.median, (r.rate.perRun * 1000) / t.medianMs)).toBeLessThan(1e-3);
  }
  // Every suite reported; the engine compares itself with the reference; the kernels have ratios.
  for (const s of SUITES) expect(records.some((r) => r.suite === s)).toBe(true);
  const engine = records.find((r) => r.case === "engine mnist 1-sample")!;
  expect(engine.rate?.unit).toBe("models/s");
  expect(typeof engine.derived.speedup_vs_reference).toBe("number");
  expect(typeof engine.derived.fraction_of_peak).toBe("number");
  expect(records.find((r) => r.suite === "kernels")!.derived["speed_vs_wasm:1"]).toBe(1);
  expect(records.some((r) => r.case.startsWith("train step"))).toBe(true);
  expect(records.some((r) => r.case.startsWith("groupedConv2d"))).toBe(true);
  const pipeline = records.find((r) => r.suite === "pipeline")!;
  expect(pipeline.status).toBe("ok");
  expect(typeof pipeline.derived.models_per_second).toBe("number");
  // --out got the same records.
  expect(
    fs
      .readFileSync(out, "utf8")
      .split("\n")
      .filter((l) => l !== ""),
  ).toEqual(lines);
}, 180_000);

function rec(backend: string, runId: string, caseName: string, medianMs: number): BenchRecord {
  return {
    schema: SCHEMA,
    runId,
    time: "2026-01-01T00:00:00.000Z",
    smoke: false,
    suite: "kernels",
    case: caseName,
    backend,
    status: "ok",
    params: { a: [2, 2] },
    timing: {
      runs: 3,
      firstMs: 1,
      medianMs,
      minMs: medianMs,
      maxMs: medianMs,
      q1Ms: medianMs,
      q3Ms: medianMs,
      cpuMs: 1,
    },
    work: null,
    gflops: null,
    rate: null,
    derived: {},
    notes: [],
    machine: {
      host: "h",
      cpuModel: "c",
      cores: 2,
      totalMemoryBytes: 1,
      gpuAdapter: null,
      gpuAdapterKind: null,
      loadavg1: 0,
    },
    runtime: {} as BenchRecord["runtime"],
  };
}

test("compare: backends within one run (the latest holding both), files by latest record", () => {
  const records = [
    rec("wasm:1", "r1", "m", 10),
    rec("wasm:2", "r1", "m", 5),
    rec("wasm:1", "r2", "m", 12),
    rec("wasm:2", "r2", "m", 4),
    rec("wasm:2", "r2", "only-one-side", 4),
    rec("wasm:1", "r3", "m", 100), // r3 lacks wasm:2: not chosen
  ];
  const latest = compareBackends(records, "wasm:2", "wasm:1");
  expect(latest.runId).toBe("r2");
  expect(latest.rows.map((r) => [r.case, r.speedRatio])).toEqual([["m", 3]]);
  expect(compareBackends(records, "wasm:2", "wasm:1", "r1").rows[0]!.speedRatio).toBe(2);
  expect(() => compareBackends(records, "wasm:2", "webgpu")).toThrow("no run holds results of both");
  const files = compareFiles(
    [rec("wasm:1", "a", "m", 8)],
    [rec("wasm:1", "b", "m", 6), rec("wasm:1", "c", "m", 4)],
    "A",
    "B",
  );
  expect(files.map((r) => [r.backend, r.speedRatio])).toEqual([["wasm:1", 0.5]]);
});

test("arguments: suites in order, smoke saves nowhere, errors name the flag", () => {
  const a = parseArgs(["pipeline", "kernels", "--smoke"]);
  expect(a.command === "run" && a.suites).toEqual(["kernels", "pipeline"]);
  expect(a.command === "run" && a.out).toBeNull();
  const b = parseArgs(["--backends", "wasm:2,cpu"]);
  expect(b.command === "run" && b.out).toBe("default");
  expect(b.command === "run" && b.backends?.map((v) => v.label)).toEqual(["wasm:2", "cpu"]);
  expect(b.command === "run" && b.suites).toEqual([...SUITES]);
  const c = parseArgs([
    "all",
    "--repeats",
    "3",
    "--out",
    "r.jsonl",
    "--data-dir",
    "d",
    "--full",
    "--paper",
    "--json",
  ]);
  expect(c).toEqual({
    command: "run",
    suites: [...SUITES],
    json: true,
    smoke: false,
    backends: null,
    repeats: 3,
    dataDir: "d",
    full: true,
    paper: true,
    out: "r.jsonl",
  });
  expect(parseArgs(["--no-save"])).toMatchObject({ command: "run", out: null });
  expect(parseArgs(["compare", "a.jsonl", "b.jsonl", "--suite", "engine", "--run", "r1"])).toEqual({
    command: "compare",
    a: "a.jsonl",
    b: "b.jsonl",
    file: null,
    run: "r1",
    suite: "engine",
    json: false,
  });
  expect(() => parseArgs(["--backends", "gpu"])).toThrow(
    "option '--backends <list>' argument 'gpu' is invalid. 'gpu' is not a backend",
  );
  expect(() => parseArgs(["--repeats", "0"])).toThrow(
    "option '--repeats <n>' argument '0' is invalid. expected an integer >= 1, got '0'",
  );
  expect(() => parseArgs(["kernal"])).toThrow("unknown suite 'kernal'");
  expect(() => parseArgs(["compare", "a", "b", "--suite", "x"])).toThrow(
    "option '--suite <name>' argument 'x' is invalid. unknown suite 'x'",
  );
  expect(() => parseArgs(["--bogus"])).toThrow("unknown option '--bogus'");
  expect(() => parseArgs(["--out", "x", "--no-save"])).toThrow("--out and --no-save exclude each other");
  expect(() => parseArgs(["compare", "x.jsonl"])).toThrow("compare needs exactly two arguments");
  let help = "";
  for (const argv of [["--help"], ["help"], ["-h"]]) {
    help = "";
    expect(parseArgs(argv, (t) => (help += t))).toEqual({ command: "help" });
    expect(help).toContain("--backends <list>");
  }
});
