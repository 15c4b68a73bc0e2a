/**
 * The run wiring (folder, stores, config.json, metrics, result, figures, resume, refusal, job-array
 * parts and merge) driven by a small experiment of the test's own: it writes real shards through
 * the context's stores, reads them back, and computes its metric from what it read, so the
 * expected numbers can be computed independently here.
 */
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { ExperimentConfig } from "@updates-leak/attacks/config";
import type { ExperimentResult, RunContext } from "@updates-leak/attacks/context";
import type { ShardData } from "@updates-leak/attacks/store";
import { UsageError } from "./errors.ts";
import { decodePng } from "./figures.ts";
import { mergeRun } from "./merge.ts";
import { Progress } from "./progress.ts";
import { resolveConfig } from "./resolve-config.ts";
import { type AttackRunOptions, type CliRunContext, runAttack } from "./run-attack.ts";
import { readMetrics } from "./run-folder.ts";
import { inSlice } from "./shard-store.ts";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ul-run-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const CLASSES = 4;

/** Shard k of a side: row r has delta one-hot-ish at (seed + k + r) % CLASSES; truth = same class, except every 3rd row. */
function shardFor(seed: number, side: string, k: number, count: number): ShardData {
  const deltas = new Float32Array(count * CLASSES);
  const truth = new Float32Array(count);
  for (let r = 0; r < count; r++) {
    const c = (seed + k + r + (side === "target" ? 1 : 0)) % CLASSES;
    deltas[r * CLASSES + c] = 1;
    truth[r] = (r + k) % 3 === 0 ? (c + 1) % CLASSES : c;
  }
  return { count, deltaSize: CLASSES, truthSize: 1, deltas, truth };
}

interface Calls {
  generated: { shadow: number[]; target: number[] };
}

function tinyExperiment(calls: Calls) {
  return async (config: ExperimentConfig, ctx: RunContext): Promise<ExperimentResult> => {
    const slice = (ctx as CliRunContext).shardSlice;
    const sides = [
      ["shadow", ctx.shadowStore, config.shadowModels],
      ["target", ctx.targetStore, config.targetModels],
    ] as const;
    for (const [side, store, models] of sides) {
      const n = Math.ceil(models / config.shardSize);
      const done = await store.completed();
      for (let k = 0; k < n; k++) {
        if (done.has(k) || !inSlice(k, slice)) continue;
        const count = Math.min(config.shardSize, models - k * config.shardSize);
        await store.write(k, shardFor(config.seed, side, k, count));
        calls.generated[side].push(k);
        ctx.progress(`${side} deltas`, k + 1, n);
      }
    }
    ctx.metric({ stage: "generate", shadow: calls.generated.shadow.length });
    const empty = { attack: config.attack, dataset: config.dataset, metric: "accuracy", value: 0 };
    if (slice) {
      return {
        ...empty,
        baselines: {},
        extra: {},
        counts: {},
        timingsSeconds: {},
        figures: { bars: [], grids: [] },
      };
    }
    // "Attack": predict argmax(delta); accuracy on the target side, read back from the store.
    let right = 0;
    let total = 0;
    const n = Math.ceil(config.targetModels / config.shardSize);
    for (let k = 0; k < n; k++) {
      const s = await ctx.targetStore.read(k);
      for (let r = 0; r < s.count; r++) {
        const row = Array.from(s.deltas.subarray(r * CLASSES, (r + 1) * CLASSES));
        if (row.indexOf(Math.max(...row)) === s.truth[r]) right++;
        total++;
      }
    }
    ctx.log("fitted");
    return {
      ...empty,
      value: right / total,
      baselines: { random: 1 / CLASSES },
      extra: { note: "tiny" },
      counts: { target: total },
      timingsSeconds: { attack: 0.01 },
      figures: {
        bars: [
          {
            title: "Tiny accuracy",
            metric: "accuracy",
            better: "higher",
            bars: [
              { label: "attack", value: right / total },
              { label: "random", value: 0.25 },
            ],
          },
        ],
        grids: [
          {
            title: "Tiny grid",
            rowLabels: ["a", "b"],
            shape: [2, 2, 1],
            rows: [[new Float32Array([0, 0.25, 0.5, 1])], [new Float32Array([1, 1, 0, 0])]],
          },
        ],
      },
    };
  };
}

/** Accuracy the tiny attack must reach on the target side: rows with (r + k) % 3 !== 0. */
function expectedAccuracy(models: number, shardSize: number): number {
  let right = 0;
  for (let i = 0; i < models; i++) {
    const k = Math.floor(i / shardSize);
    const r = i - k * shardSize;
    if ((r + k) % 3 !== 0) right++;
  }
  return right / models;
}

const selectBackend = async () => ({ backend: "cpu", reason: "test", threads: 1, tried: [] });

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      out: (l: string) => out.push(l),
      progress: new Progress({ stream: { write: (s: string) => err.push(s) }, tty: false }),
    },
  };
}

const config = resolveConfig("label", {
  dataset: "mnist",
  seed: 3,
  shadowModels: 25,
  targetModels: 14,
  shardSize: 4,
  smoke: true,
});

function options(extra: Partial<AttackRunOptions> = {}): AttackRunOptions {
  return {
    runsDir: path.join(root, "runs"),
    cacheDir: null,
    argv: ["label", "--dataset", "mnist"],
    ...extra,
  };
}

describe("runAttack: a new run", () => {
  test("a new run folder holds config.json, metrics.jsonl, result.json, figures and shards", async () => {
    const calls: Calls = { generated: { shadow: [], target: [] } };
    const t = io();
    const now = new Date(Date.UTC(2026, 10, 28, 22, 40, 12));
    const outcome = await runAttack(config, options({ now }), tinyExperiment(calls), selectBackend, t.io);
    expect(path.basename(outcome.dir)).toBe("20261128T224012Z-label-mnist-s3-smoke");
    expect(calls.generated.shadow).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(calls.generated.target).toEqual([0, 1, 2, 3]);

    const rec = JSON.parse(fs.readFileSync(path.join(outcome.dir, "config.json"), "utf8"));
    expect(rec.format).toBe("updates-leak-run");
    expect(rec.config).toEqual(config);
    expect(rec.configHash).toMatch(/^[0-9a-f]{64}$/);
    expect(rec.seeds.seed).toBe(3);
    expect(rec.backend.backend).toBe("cpu");
    expect(rec.versions.bun).toBe(Bun.version);
    expect(rec.versions["@tensorflow/tfjs-core"]).toBe("4.22.0");
    expect(rec.git.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(typeof rec.git.dirty).toBe("boolean");
    expect(rec.host.cpus).toBe(os.cpus().length);
    expect(rec.nonDataFields).toContain("threads");

    const result = JSON.parse(fs.readFileSync(path.join(outcome.dir, "result.json"), "utf8"));
    expect(result.value).toBeCloseTo(expectedAccuracy(14, 4), 12);
    expect(result.baselines).toEqual({ random: 0.25 });
    expect(result.counts).toEqual({ target: 14 });
    expect(result.figures.bars[0].file).toBe("figures/bar-1-tiny-accuracy.png");
    expect(result.figures.grids[0].file).toBe("figures/grid-1-tiny-grid.png");
    for (const f of outcome.figures) {
      const png = decodePng(fs.readFileSync(path.join(outcome.dir, f)));
      expect(png.width).toBeGreaterThan(50);
    }
    const metrics = readMetrics(path.join(outcome.dir, "metrics.jsonl"));
    expect(metrics.map((m) => m.stage)).toEqual(["run-start", "generate", "run-end"]);
    expect(metrics[2]?.value).toBeCloseTo(result.value, 12);
    expect(fs.readdirSync(path.join(outcome.dir, "shards", "shadow")).length).toBe(8); // 7 shards + manifest

    expect(t.out[0]).toBe("updates-leak label on mnist (smoke size)");
    expect(t.out.join("\n")).toContain("shadow models  25");
    expect(t.out.join("\n")).toContain("4 (7 shadow + 4 target shards)");
    expect(t.out.at(-2)).toStartWith("result: accuracy 0.6429 (baselines: random 0.25)");
    expect(t.err.join("")).toContain("fitted");
  });
});

describe("runAttack: resume", () => {
  test("resume: a --run-dir run generates only the missing shards; corrupt ones are redone", async () => {
    const runDir = path.join(root, "resume");
    const first: Calls = { generated: { shadow: [], target: [] } };
    // A first run that dies after the shadow side: its experiment throws once shadow is done.
    const dying = async (c: ExperimentConfig, ctx: RunContext) => {
      await tinyExperiment(first)(c, {
        ...ctx,
        targetStore: {
          ...ctx.targetStore,
          write: async () => {
            throw new Error("killed");
          },
          completed: () => ctx.targetStore.completed(),
          read: (i) => ctx.targetStore.read(i),
        },
      });
      throw new Error("unreachable");
    };
    await expect(runAttack(config, options({ runDir }), dying, selectBackend, io().io)).rejects.toThrow(
      "killed",
    );
    expect(first.generated.shadow).toEqual([0, 1, 2, 3, 4, 5, 6]);
    // Corrupt shadow shard 2.
    const f = path.join(runDir, "shards", "shadow", "shard-000002.bin");
    const b = fs.readFileSync(f);
    b[40]! ^= 1;
    fs.writeFileSync(f, b);
    const second: Calls = { generated: { shadow: [], target: [] } };
    const t = io();
    const out = await runAttack(config, options({ runDir }), tinyExperiment(second), selectBackend, t.io);
    expect(second.generated.shadow).toEqual([2]);
    expect(second.generated.target).toEqual([0, 1, 2, 3]);
    expect(out.result?.value).toBeCloseTo(expectedAccuracy(14, 4), 12);
    expect(t.out.join("\n")).toContain("(resume)");
    expect(t.err.join("")).toContain("fails its sha256 check");
    const stages = readMetrics(path.join(runDir, "metrics.jsonl")).map((m) => m.stage);
    expect(stages).toEqual(["run-start", "run-error", "run-start", "generate", "run-end"]);
  });
});

describe("runAttack: run folders it refuses", () => {
  test("a --run-dir made for other data is refused before anything is written; --fresh starts over", async () => {
    const runDir = path.join(root, "refuse");
    await runAttack(
      config,
      options({ runDir }),
      tinyExperiment({ generated: { shadow: [], target: [] } }),
      selectBackend,
      io().io,
    );
    const snapshot = () =>
      fs
        .readdirSync(runDir, { recursive: true })
        .map(String)
        .sort()
        .map((p) => `${p}:${fs.statSync(path.join(runDir, p)).mtimeMs}`);
    const before = snapshot();
    const other = { ...config, seed: 4 };
    const calls: Calls = { generated: { shadow: [], target: [] } };
    const t = io();
    await expect(
      runAttack(other, options({ runDir }), tinyExperiment(calls), selectBackend, t.io),
    ).rejects.toThrow(/made for another config \(seed: 3 -> 4\).*--fresh.*new --run-dir/);
    expect(snapshot()).toEqual(before);
    expect(t.out).toEqual([]);
    // Non-data fields may change on resume.
    const threads = { ...config, threads: 2, attackEpochs: 7 };
    await runAttack(threads, options({ runDir }), tinyExperiment(calls), selectBackend, io().io);
    expect(calls.generated.shadow).toEqual([]);
    // --fresh deletes and regenerates.
    await runAttack(other, options({ runDir, fresh: true }), tinyExperiment(calls), selectBackend, io().io);
    expect(calls.generated.shadow).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(JSON.parse(fs.readFileSync(path.join(runDir, "config.json"), "utf8")).config.seed).toBe(4);
  });

  test("a non-empty folder that is not a run folder is refused", async () => {
    const runDir = path.join(root, "foreign");
    fs.mkdirSync(runDir);
    fs.writeFileSync(path.join(runDir, "notes.txt"), "mine");
    await expect(
      runAttack(
        config,
        options({ runDir }),
        tinyExperiment({ generated: { shadow: [], target: [] } }),
        selectBackend,
        io().io,
      ),
    ).rejects.toThrow("is not empty and has no config.json");
    expect(fs.readdirSync(runDir)).toEqual(["notes.txt"]);
  });
});

describe("runAttack: job arrays", () => {
  test("job array: parts generate their shards, merge reports, a plain run then only fits", async () => {
    const runDir = path.join(root, "array");
    const generated: number[][] = [];
    for (const part of [1, 2, 3]) {
      const calls: Calls = { generated: { shadow: [], target: [] } };
      const t = io();
      const out = await runAttack(
        config,
        options({ runDir, shard: { part, of: 3 } }),
        tinyExperiment(calls),
        selectBackend,
        t.io,
      );
      expect(out.result).toBeNull();
      generated.push(calls.generated.shadow);
      expect(t.out.join("\n")).toContain(`part ${part}/3 done`);
      if (part === 2) {
        const mid = await mergeRun(runDir);
        expect(mid.complete).toBe(false);
        expect(mid.shadow.missing).toEqual([2, 5]);
        expect(mid.target.missing).toEqual([2]);
      }
    }
    expect(generated).toEqual([
      [0, 3, 6],
      [1, 4],
      [2, 5],
    ]);
    expect(fs.readdirSync(path.join(runDir, "parts")).sort()).toEqual([
      "part-1-of-3.json",
      "part-2-of-3.json",
      "part-3-of-3.json",
    ]);
    const report = await mergeRun(runDir);
    expect(report.complete).toBe(true);
    expect([report.shadow.present, report.target.present]).toEqual([7, 4]);
    const calls: Calls = { generated: { shadow: [], target: [] } };
    const out = await runAttack(config, options({ runDir }), tinyExperiment(calls), selectBackend, io().io);
    expect(calls.generated).toEqual({ shadow: [], target: [] });
    expect(out.result?.value).toBeCloseTo(expectedAccuracy(14, 4), 12);
  });
});

describe("runAttack: --target-set-sizes", () => {
  test("--target-set-sizes: one store per size in shards/target-s<n>/, sliced, merged, resumable", async () => {
    const runDir = path.join(root, "relaxation");
    const relax = (targetSetSizes: number[]) =>
      resolveConfig("distribution", {
        dataset: "mnist",
        seed: 3,
        shadowModels: 2,
        targetModels: 6,
        shardSize: 2,
        smoke: true,
        targetSetSizes,
      });
    const written: number[][] = [];
    const experiment = async (c: ExperimentConfig, ctx: RunContext): Promise<ExperimentResult> => {
      const slice = (ctx as CliRunContext).shardSlice;
      for (const n of c.targetSetSizes) {
        const store = ctx.extraTargetStore!(n);
        expect(ctx.extraTargetStore!(n)).toBe(store); // one store per size, shared by every call
        const done = await store.completed();
        for (let k = 0; k < 3; k++) {
          if (done.has(k) || !inSlice(k, slice)) continue;
          await store.write(k, shardFor(c.seed, "target", k, 2));
          written.push([n, k]);
        }
      }
      return {
        attack: c.attack,
        dataset: c.dataset,
        metric: "kl",
        value: 0,
        baselines: {},
        extra: {},
        counts: {},
        timingsSeconds: {},
        figures: { bars: [], grids: [] },
      };
    };
    const t = io();
    await runAttack(
      relax([2]),
      options({ runDir, shard: { part: 1, of: 2 } }),
      experiment,
      selectBackend,
      t.io,
    );
    expect(t.out.join("\n")).toContain("test set sizes 2 (extra target sides, attack trained on 100)");
    expect(written).toEqual([
      [2, 0],
      [2, 2],
    ]);
    const mid = await mergeRun(runDir);
    expect(mid.extraTargets).toEqual([{ setSize: 2, report: { expected: 3, present: 2, missing: [1] } }]);
    expect(mid.complete).toBe(false);
    const manifest = JSON.parse(
      fs.readFileSync(path.join(runDir, "shards", "target-s2", "manifest.json"), "utf8"),
    );
    expect(manifest.role).toBe("target");
    // Another size on resume: same config hash, so the folder is not refused; only the new work is done.
    written.length = 0;
    await runAttack(relax([2, 3]), options({ runDir }), experiment, selectBackend, io().io);
    expect(written).toEqual([
      [2, 1],
      [3, 0],
      [3, 1],
      [3, 2],
    ]);
    const report = await mergeRun(runDir);
    expect(report.extraTargets.map((e) => [e.setSize, e.report.present, e.report.missing])).toEqual([
      [2, 3, []],
      [3, 3, []],
    ]);
    expect(fs.readdirSync(path.join(runDir, "shards")).sort()).toEqual([
      "shadow",
      "target",
      "target-s2",
      "target-s3",
    ]);
  });
});

describe("runAttack: job array flags and data errors", () => {
  test("--shard without --run-dir, and --shard with --fresh, are usage errors", async () => {
    const e = tinyExperiment({ generated: { shadow: [], target: [] } });
    await expect(
      runAttack(config, options({ shard: { part: 1, of: 2 } }), e, selectBackend, io().io),
    ).rejects.toThrow("--shard needs --run-dir");
    await expect(
      runAttack(
        config,
        options({ runDir: path.join(root, "x"), shard: { part: 1, of: 2 }, fresh: true }),
        e,
        selectBackend,
        io().io,
      ),
    ).rejects.toThrow("cannot be combined with --fresh");
    expect(fs.existsSync(path.join(root, "x"))).toBe(false);
  });

  test("a data error (prepareData throws) stops the run before the run folder is made", async () => {
    const calls: Calls = { generated: { shadow: [], target: [] } };
    const runsDir = path.join(root, "runs-data-error");
    let backendAsked = false;
    const e = await runAttack(
      config,
      options({
        runsDir,
        prepareData: async () => {
          throw new Error("/data/mnist/train-images-idx3-ubyte.gz: checksum mismatch");
        },
      }),
      tinyExperiment(calls),
      async () => {
        backendAsked = true;
        return selectBackend();
      },
      io().io,
    ).catch((err: Error) => err);
    expect((e as Error).message).toBe("/data/mnist/train-images-idx3-ubyte.gz: checksum mismatch");
    expect([fs.existsSync(runsDir), backendAsked, calls.generated.shadow.length]).toEqual([false, false, 0]);
  });
});

describe("runAttack: prepared data and its fingerprint", () => {
  test("what prepareData returns reaches the experiment as ctx.preparedData", async () => {
    const seen: unknown[] = [];
    const inner = tinyExperiment({ generated: { shadow: [], target: [] } });
    const data = { dataset: "loaded once", fingerprint: { dataset: "x", records: 1, labelsSha256: "00" } };
    await runAttack(
      config,
      options({ runsDir: path.join(root, "runs-prepared"), prepareData: async () => data }),
      async (c, ctx) => {
        seen.push((ctx as CliRunContext).preparedData);
        return inner(c, ctx);
      },
      selectBackend,
      io().io,
    );
    expect(seen).toEqual([data]);
    expect(seen[0]).toBe(data);
  });

  test("a run folder resumed on other data is refused, naming both, before anything is written", async () => {
    const runDir = path.join(root, "runs-data", "r");
    const made = { dataset: "cifar10", records: 51_000, labelsSha256: "a".repeat(64) };
    const inner = tinyExperiment({ generated: { shadow: [], target: [] } });
    await runAttack(
      config,
      options({ runDir, prepareData: async () => ({ fingerprint: made }) }),
      inner,
      selectBackend,
      io().io,
    );
    expect(JSON.parse(fs.readFileSync(path.join(runDir, "data.json"), "utf8"))).toEqual(made);
    const before = fs.readFileSync(path.join(runDir, "config.json"), "utf8");
    const other = { ...made, records: 60_000, labelsSha256: "b".repeat(64) };
    const e = await runAttack(
      config,
      options({ runDir, prepareData: async () => ({ fingerprint: other }) }),
      inner,
      selectBackend,
      io().io,
    ).catch((err: Error) => err);
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).toContain("made from cifar10 with 51000 records");
    expect((e as Error).message).toContain("now has 60000 records");
    expect(fs.readFileSync(path.join(runDir, "config.json"), "utf8")).toBe(before);
    // The same data resumes.
    await runAttack(
      config,
      options({ runDir, prepareData: async () => ({ fingerprint: made }) }),
      inner,
      selectBackend,
      io().io,
    );
  });
});
