/**
 * The CLI's argument handling in-process (fast): every kind of bad input exits 2 with a message
 * naming the flag and what it accepts, and writes nothing; resolved defaults (paper / smoke) are as
 * documented. test/cli.test.ts spawns the real CLI for the end-to-end checks.
 */
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { intListArg, main, parseShardSlice } from "./cli.ts";
import { FLAG_OF, formatConfig, resolveConfig } from "./resolve-config.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ul-cli-unit-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function run(args: string[]) {
  let out = "";
  let err = "";
  const code = await main(args, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

const runs = path.join(tmp, "runs-bad");
/** An attack command line that would write under `runs` if it got that far. */
const A = (...args: string[]) => [...args, "--runs-dir", runs];

/** [case, command line, the message expected on stderr]. */
const BAD_INPUT: [string, string[], RegExp][] = [
  ["unknown subcommand", ["attack"], /unknown command 'attack'/],
  ["unknown flag", A("label", "--dataset", "mnist", "--epochs", "3"), /unknown option '--epochs'/],
  [
    "unknown data set",
    A("label", "--dataset", "svhn"),
    /'--dataset <name>' argument 'svhn' is invalid\. Allowed choices are mnist, cifar10, insta-ny/,
  ],
  [
    "unknown backend",
    A("msr", "--dataset", "mnist", "--backend", "tpu"),
    /'--backend <name>' argument 'tpu'.*auto, webgpu, wasm, cpu/,
  ],
  [
    "probe count 0",
    A("label", "--dataset", "mnist", "--probe-count", "0"),
    /'--probe-count <n>' argument '0' is invalid\. Expected an integer from 1 to 10000/,
  ],
  [
    "negative count",
    A("label", "--dataset", "mnist", "--shadow-models", "-3"),
    /'--shadow-models <n>' argument '-3' is invalid\. Expected an integer from 1 to/,
  ],
  [
    "not a number",
    A("label", "--dataset", "mnist", "--seed", "abc"),
    /'--seed <n>' argument 'abc' is invalid/,
  ],
  [
    "fraction",
    A("label", "--dataset", "mnist", "--target-models", "1.5"),
    /'--target-models <n>' argument '1.5' is invalid/,
  ],
  [
    "set size larger than the pool",
    A("reconstruct", "--dataset", "cifar10", "--set-size", "20000"),
    /--set-size 20000 is larger than the cifar10 updating pool; allowed: 1 to 19950/,
  ],
  ["missing data set", A("label", "--smoke"), /required option '--dataset <name>' not specified/],
  [
    "bad shard slice",
    A("label", "--dataset", "mnist", "--shard", "0/4", "--run-dir", "x"),
    /'--shard <K\/N>' argument '0\/4' is invalid\. Expected K\/N with 1 <= K <= N/,
  ],
  ["shard without run dir", A("label", "--dataset", "mnist", "--shard", "1/4"), /--shard needs --run-dir/],
  ["fresh without run dir", A("label", "--dataset", "mnist", "--fresh"), /--fresh needs --run-dir/],
  [
    "missing data dir",
    A("label", "--dataset", "mnist", "--data-dir", "/nonexistent/data"),
    /--data-dir \/nonexistent\/data: no such folder/,
  ],
  ["excess argument", A("label", "--dataset", "mnist", "extra"), /too many arguments/],
  [
    "backend threads",
    ["backend", "--threads", "-1"],
    /'--threads <n>' argument '-1' is invalid\. Expected an integer from 0 to 256/,
  ],
  ["merge without folder", ["merge"], /required option '--run-dir <dir>' not specified/],
  ["merge on a non-run folder", ["merge", "--run-dir", tmp], /has no config.json; is it a run folder\?/],
  [
    "zero shadow models",
    A("distribution", "--dataset", "mnist", "--shadow-models", "0"),
    /'--shadow-models <n>' argument '0' is invalid\. Expected an integer from 1 to 1000000/,
  ],
  [
    "attack epochs 0",
    A("label", "--dataset", "mnist", "--attack-epochs", "0"),
    /'--attack-epochs <n>' argument '0' is invalid\. Expected an integer from 1 to 10000/,
  ],
  ["unknown flag on backend", ["backend", "--gpu"], /unknown option '--gpu'/],
  [
    "target set sizes on another attack",
    A("label", "--dataset", "mnist", "--target-set-sizes", "10,50"),
    /--target-set-sizes is only for the distribution attack .*, not label/,
  ],
  [
    "target set sizes: not a list of integers",
    A("distribution", "--dataset", "mnist", "--target-set-sizes", "10,x"),
    /'--target-set-sizes <list>' argument '10,x' is invalid\. "x" is not one\. Expected a comma-separated list of distinct integers from 1 to 1000000/,
  ],
  [
    "target set sizes: zero",
    A("distribution", "--dataset", "mnist", "--target-set-sizes", "0"),
    /'--target-set-sizes <list>' argument '0' is invalid\. "0" is not one\. Expected a comma-separated list/,
  ],
  [
    "target set sizes: empty item",
    A("distribution", "--dataset", "mnist", "--target-set-sizes", "10,"),
    /'--target-set-sizes <list>' argument '10,' is invalid\. "" is not one/,
  ],
  [
    "target set sizes: a duplicate",
    A("distribution", "--dataset", "mnist", "--target-set-sizes", "10,50,10"),
    /'--target-set-sizes <list>' argument '10,50,10' is invalid\. 10 is given twice\. Expected/,
  ],
  [
    "target set sizes: equal to --set-size",
    A("distribution", "--dataset", "mnist", "--set-size", "50", "--target-set-sizes", "10,50"),
    /--target-set-sizes: 50 equals --set-size/,
  ],
  [
    "target set sizes: the default set size",
    A("distribution", "--dataset", "mnist", "--target-set-sizes", "100"),
    /--target-set-sizes: 100 equals --set-size/,
  ],
  [
    "target set sizes: larger than the pool",
    A("distribution", "--dataset", "insta-ny", "--target-set-sizes", "10,5000"),
    /--target-set-sizes: 5000 is larger than the insta-ny updating pool; allowed: 1 to 4950/,
  ],
  [
    "defence: an unknown step",
    A("label", "--dataset", "mnist", "--defence", "blur:3"),
    /'--defence <spec>' argument 'blur:3' is invalid\. defence step "blur:3": unknown step "blur"; expected none, or steps joined by '\+'/,
  ],
  [
    "defence: top-k of 0",
    A("reconstruct", "--dataset", "mnist", "--defence", "round:2+topk:0"),
    /'--defence <spec>' argument 'round:2\+topk:0' is invalid\. defence step "topk:0": K must be at least 1/,
  ],
  [
    "threat without a defence",
    A("label", "--dataset", "mnist", "--threat", "non-adaptive"),
    /--threat non-adaptive needs a --defence other than none/,
  ],
  [
    "DP-SGD on multi-sample updates",
    A("distribution", "--dataset", "mnist", "--defence", "dpsgd:1:1"),
    /--defence dpsgd:1:1: DP-SGD updates are implemented for --set-size 1 \(the single-sample attacks label and reconstruct\), not 100/,
  ],
  [
    "DP-SGD with replay",
    A("label", "--dataset", "mnist", "--defence", "dpsgd:1:1+replay:63"),
    /--defence dpsgd:1:1\+replay:63: DP-SGD updates are implemented for one sample, so they do not combine with replay/,
  ],
  [
    "replay beyond the training set",
    A("label", "--dataset", "insta-ny", "--defence", "replay:6000"),
    /--defence replay:6000: replay 6000 is more than the 5000 samples the insta-ny original trains on; allowed: replay:1 to replay:5000/,
  ],
  [
    "several updates of sets larger than a batch",
    A("distribution", "--dataset", "mnist", "--defence", "updates:4"),
    /--defence updates:4: updates:4 makes each update one step on its set, so --set-size must be at most the update's batch \(64\), not 100/,
  ],
  [
    "several updates with replay",
    A("label", "--dataset", "mnist", "--defence", "updates:4+replay:3"),
    /--defence updates:4\+replay:3: updates:U does not combine with replay or DP-SGD/,
  ],
  [
    "an unknown threat",
    A("label", "--dataset", "mnist", "--defence", "label", "--threat", "oracle"),
    /'--threat <name>' argument 'oracle' is invalid\. Allowed choices are adaptive, non-adaptive/,
  ],
  [
    "an msr flag on another attack",
    A("distribution", "--dataset", "mnist", "--eval-targets", "3"),
    /--eval-targets is only for the msr attack \(see leak msr --help\), not distribution/,
  ],
];

describe("bad input: exit 2, a message naming the flag, nothing written", () => {
  for (const [name, args, message] of BAD_INPUT) {
    test(name, async () => {
      const r = await run(args);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(message);
      expect(r.out).toBe("");
      expect(fs.existsSync(runs)).toBe(false);
    });
  }

  test("no subcommand prints help on stderr and exits 2", async () => {
    const r = await run([]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("Usage: leak");
  });

  test("help and version exit 0 on stdout", async () => {
    for (const args of [["--help"], ["msr", "--help"], ["help", "label"], ["--version"]]) {
      const r = await run(args);
      expect(r.code).toBe(0);
      expect(r.out.length).toBeGreaterThan(0);
      expect(r.err).toBe("");
    }
  });
});

describe("resolved config", () => {
  test("paper defaults per attack", () => {
    const label = resolveConfig("label", { dataset: "mnist" });
    expect(label).toEqual({
      attack: "label",
      dataset: "mnist",
      seed: 0,
      shadowModels: 10_000,
      targetModels: 1_000,
      setSize: 1,
      targetSetSizes: [],
      shadowOriginals: 1,
      probeCount: 100,
      shardSize: 100,
      chunkSize: 0,
      trainEpochs: 0,
      defence: "none",
      update: "sgd:0.001:0.9:64:1",
      threat: "adaptive",
      attackEpochs: 20,
      inferenceSamples: 20_000,
      evalTargets: 0,
      backend: "auto",
      threads: 0,
      smoke: false,
    });
    expect(resolveConfig("reconstruct", { dataset: "cifar10" }).setSize).toBe(1);
    expect(resolveConfig("distribution", { dataset: "insta-ny" }).setSize).toBe(100);
    expect(resolveConfig("msr", { dataset: "mnist" }).setSize).toBe(100);
    expect(resolveConfig("distribution", { dataset: "mnist" }).attackEpochs).toBe(50);
    expect(resolveConfig("msr", { dataset: "mnist" }).attackEpochs).toBe(10);
  });

  test("--smoke gives the small size; explicit flags still win", () => {
    const s = resolveConfig("msr", { dataset: "mnist", smoke: true, targetModels: 7 });
    expect([s.shadowModels, s.targetModels, s.setSize, s.trainEpochs, s.attackEpochs, s.shardSize]).toEqual([
      300, 7, 100, 2, 2, 50,
    ]);
    expect(s.smoke).toBe(true);
  });

  test("arktype errors are reported with the flag name", () => {
    expect(() => resolveConfig("label", { dataset: "mnist", probeCount: 0 })).toThrow(
      "--probe-count must be at least 1",
    );
    expect(() => resolveConfig("label", { dataset: "svhn" })).toThrow("--dataset must be");
    expect(() => resolveConfig("label", {})).toThrow(
      "--dataset is required; allowed values: mnist, cifar10, insta-ny",
    );
    expect(() => resolveConfig("label", { dataset: "mnist", shadowModels: 2_000_000 })).toThrow(
      "--shadow-models must be an integer from 1 to 1000000 (was 2000000)",
    );
    expect(Object.keys(FLAG_OF).length).toBe(21);
    expect(() => resolveConfig("label", { dataset: "mnist", shadowOriginals: 0 })).toThrow(
      "--shadow-originals must be",
    );
    // Each shadow original needs a block of at least one shard: 300 smoke models in shards of 50.
    expect(() => resolveConfig("label", { dataset: "mnist", smoke: true, shadowOriginals: 7 })).toThrow(
      "--shadow-originals 7 is more than the 6 shadow shards",
    );
  });

  test("--defence is kept in its canonical form and printed with the threat model", () => {
    const c = resolveConfig("label", {
      dataset: "mnist",
      defence: " noise:.010+topk:3",
      threat: "non-adaptive",
    });
    expect([c.defence, c.threat]).toEqual(["noise:0.01+topk:3", "non-adaptive"]);
    expect(formatConfig(c)).toContain(
      "defence        noise:0.01+topk:3 (non-adaptive: the shadow updates are not defended)",
    );
    expect(() => resolveConfig("label", { dataset: "mnist", defence: "topk" })).toThrow(
      /^--defence: defence step "topk": topk needs an argument/,
    );
    expect(formatConfig(resolveConfig("label", { dataset: "mnist" }))).not.toContain("defence");
  });

  test("the printed config shows every field", () => {
    const text = formatConfig(resolveConfig("label", { dataset: "mnist" }));
    expect(text).toContain("shadow models  10,000");
    expect(text).toContain("shard size     100 (100 shadow + 10 target shards)");
    expect(text.split("\n").length).toBe(14);
    const k3 = formatConfig(resolveConfig("reconstruct", { dataset: "cifar10", shadowOriginals: 3 }));
    expect(k3).toContain("shadow models  10,000 (updates of 3 shadow originals, one block of shards each)");
  });
});

describe("per-attack flags", () => {
  test("each subcommand's help lists only its attack's flags, with its defaults", async () => {
    const help = async (attack: string) => (await run([attack, "--help"])).out;
    const only = { "--target-set-sizes <list>": ["distribution"], "--inference-samples <n>": ["msr"] };
    for (const attack of ["label", "reconstruct", "distribution", "msr"]) {
      const text = await help(attack);
      for (const [flag, attacks] of Object.entries(only))
        expect(text.includes(flag)).toBe(attacks.includes(attack));
      expect(text).toContain("--shadow-models <n>");
      expect(text).toContain("--no-model-cache");
    }
    expect(await help("label")).toMatch(/--set-size <n> +\|D_update\| \(default 1\)/);
    expect(await help("msr")).toMatch(/--set-size <n> +\|D_update\| \(default 100\)/);
    expect(await help("reconstruct")).toMatch(
      /--attack-epochs <n> +epochs of the attack model \(paper 50, smoke 20\)/,
    );
  });

  test("--target-set-sizes: accepted for distribution, checked again by resolveConfig", () => {
    const d = resolveConfig("distribution", { dataset: "mnist", targetSetSizes: [10, 50] });
    expect([d.setSize, d.targetSetSizes]).toEqual([100, [10, 50]]);
    expect(resolveConfig("distribution", { dataset: "mnist" }).targetSetSizes).toEqual([]);
    expect(resolveConfig("label", { dataset: "mnist" }).targetSetSizes).toEqual([]);
    expect(formatConfig(d)).toContain("test set sizes 10, 50 (extra target sides, attack trained on 100)");
    expect(formatConfig(resolveConfig("distribution", { dataset: "mnist" }))).not.toContain("test set sizes");
    const bad: [Parameters<typeof resolveConfig>, string][] = [
      [
        ["msr", { dataset: "mnist", targetSetSizes: [10] }],
        "--target-set-sizes is only for the distribution",
      ],
      [["distribution", { dataset: "mnist", targetSetSizes: [0] }], "--target-set-sizes"],
      [["distribution", { dataset: "mnist", targetSetSizes: [10, 10] }], "10 is given twice"],
      [["distribution", { dataset: "mnist", targetSetSizes: [100] }], "100 equals --set-size"],
      [
        ["distribution", { dataset: "mnist", targetSetSizes: [24_951] }],
        "larger than the mnist updating pool",
      ],
    ];
    for (const [args, message] of bad) expect(() => resolveConfig(...args)).toThrow(message);
    expect(intListArg(1, 100)(" 10, 50 ")).toEqual([10, 50]);
    for (const v of ["", "10,,50", "1.5", "-3", "101", "10;50"])
      expect(() => intListArg(1, 100)(v)).toThrow("Expected");
  });

  test("--shard K/N parsing", () => {
    expect(parseShardSlice("3/8")).toEqual({ part: 3, of: 8 });
    for (const bad of ["0/8", "9/8", "3", "a/b", "3/0", "-1/2"])
      expect(() => parseShardSlice(bad)).toThrow("K/N");
  });
});

describe("run flags", () => {
  test("--model-cache-dir is listed; --cache-dir, its old name, is accepted but not listed", async () => {
    const help = (await run(["label", "--help"])).out;
    expect(help).toMatch(/--model-cache-dir <dir> +trained original models cache/);
    expect(help).not.toContain("--cache-dir");
    // Both parse: the run then stops at the missing --data-dir, before anything is written.
    for (const flag of ["--model-cache-dir", "--cache-dir"]) {
      const r = await run(A("label", "--dataset", "mnist", flag, tmp, "--data-dir", "/nonexistent/data"));
      expect([r.code, r.err.split("\n")[0]]).toEqual([
        2,
        "error: --data-dir /nonexistent/data: no such folder",
      ]);
    }
  });
});
