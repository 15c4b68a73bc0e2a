/**
 * The table of experiment fields (@updates-leak/attacks' fields.ts) and what is derived from it.
 *
 * 1. Existing settings keep their resolved config, config.json record and config hash, so every
 *    existing run folder still resumes. The expected objects (in their key order) and hashes below
 *    were computed by the code BEFORE the table existed (resolveConfig / configHash at main 7590a80,
 *    where the fields were written out by hand in seven places); they are literals, not recomputed.
 * 2. A field added to a copy of the table shows up everywhere: the arktype type, the subcommands'
 *    flags (only on its attacks) and their help, the resolved config, formatConfig, config.json.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Command } from "@commander-js/extra-typings";
import {
  ATTACKS,
  type AttackName,
  configSchema,
  EXPERIMENT_FIELDS,
  type ExperimentConfig,
  type ExperimentField,
} from "@updates-leak/attacks/config";
import { type } from "arktype";
import { canonicalJson, configHash, dataFields, NON_DATA_FIELDS, nonDataFields } from "./config-hash.ts";
import { experimentFlags, experimentOptions } from "./options.ts";
import { type ConfigFlags, formatConfig, resolveConfig } from "./resolve-config.ts";
import { runRecord } from "./run-attack.ts";
import { RunFolder } from "./run-folder.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ul-fields-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const SOME = {
  seed: 7,
  shadowModels: 500,
  targetModels: 60,
  shardSize: 50,
  shadowOriginals: 2,
  backend: "wasm",
  threads: 2,
  chunkSize: 8,
  trainEpochs: 3,
  attackEpochs: 4,
  probeCount: 50,
} as const;

/** [attack, flags, the resolved config and its hash as the pre-table code gave them]. */
const BEFORE: [AttackName, ConfigFlags, Record<string, unknown>, string][] = [
  [
    "label",
    { dataset: "mnist", smoke: true },
    {
      attack: "label",
      dataset: "mnist",
      seed: 0,
      shadowModels: 300,
      targetModels: 100,
      shadowOriginals: 1,
      setSize: 1,
      targetSetSizes: [],
      probeCount: 100,
      shardSize: 50,
      chunkSize: 0,
      trainEpochs: 2,
      attackEpochs: 20,
      inferenceSamples: 2000,
      evalTargets: 10,
      backend: "auto",
      threads: 0,
      smoke: true,
    },
    "3e247d6b87875b44cd5df7f005a112b4ac12eace5d8370ee58ab833aade507f9",
  ],
  [
    "reconstruct",
    { dataset: "cifar10" },
    {
      attack: "reconstruct",
      dataset: "cifar10",
      seed: 0,
      shadowModels: 10000,
      targetModels: 1000,
      shadowOriginals: 1,
      setSize: 1,
      targetSetSizes: [],
      probeCount: 100,
      shardSize: 100,
      chunkSize: 0,
      trainEpochs: 0,
      attackEpochs: 50,
      inferenceSamples: 20000,
      evalTargets: 0,
      backend: "auto",
      threads: 0,
      smoke: false,
    },
    "d36309fe88cabe1f90fee29ac1dff63c0ddb1e68a06c27fe2f6333dad20182ee",
  ],
  [
    "distribution",
    { dataset: "mnist", smoke: true },
    {
      attack: "distribution",
      dataset: "mnist",
      seed: 0,
      shadowModels: 300,
      targetModels: 100,
      shadowOriginals: 1,
      setSize: 100,
      targetSetSizes: [],
      probeCount: 100,
      shardSize: 50,
      chunkSize: 0,
      trainEpochs: 2,
      attackEpochs: 20,
      inferenceSamples: 2000,
      evalTargets: 10,
      backend: "auto",
      threads: 0,
      smoke: true,
    },
    "8b798a28ae83e805ffdcad3775f33f69beec7656a8d97f0e8a07506a057f92af",
  ],
  [
    "msr",
    { dataset: "mnist" },
    {
      attack: "msr",
      dataset: "mnist",
      seed: 0,
      shadowModels: 10000,
      targetModels: 1000,
      shadowOriginals: 1,
      setSize: 100,
      targetSetSizes: [],
      probeCount: 100,
      shardSize: 100,
      chunkSize: 0,
      trainEpochs: 0,
      attackEpochs: 10,
      inferenceSamples: 20000,
      evalTargets: 0,
      backend: "auto",
      threads: 0,
      smoke: false,
    },
    "7fae0dc9e67588cacb3c3e931f0c152bf90205c3357f7718a08f6c6b5a76c45a",
  ],
  [
    "label",
    { dataset: "insta-ny", ...SOME },
    {
      attack: "label",
      dataset: "insta-ny",
      seed: 7,
      shadowModels: 500,
      targetModels: 60,
      shadowOriginals: 2,
      setSize: 1,
      targetSetSizes: [],
      probeCount: 50,
      shardSize: 50,
      chunkSize: 8,
      trainEpochs: 3,
      attackEpochs: 4,
      inferenceSamples: 20000,
      evalTargets: 0,
      backend: "wasm",
      threads: 2,
      smoke: false,
    },
    "3e7cfba956de9954af27c29dfa102e005e2f315572e728fb517ae9d6379f02c0",
  ],
  [
    "reconstruct",
    { dataset: "mnist", smoke: true, ...SOME, setSize: 3 },
    {
      attack: "reconstruct",
      dataset: "mnist",
      seed: 7,
      shadowModels: 500,
      targetModels: 60,
      shadowOriginals: 2,
      setSize: 3,
      targetSetSizes: [],
      probeCount: 50,
      shardSize: 50,
      chunkSize: 8,
      trainEpochs: 3,
      attackEpochs: 4,
      inferenceSamples: 2000,
      evalTargets: 10,
      backend: "wasm",
      threads: 2,
      smoke: true,
    },
    "c09aecfc74e039fa485aaff68972cfc6cee5907f3cb53e942b04b9655fd48446",
  ],
  [
    "distribution",
    { dataset: "cifar10", ...SOME, targetSetSizes: [10, 50], setSize: 20 },
    {
      attack: "distribution",
      dataset: "cifar10",
      seed: 7,
      shadowModels: 500,
      targetModels: 60,
      shadowOriginals: 2,
      setSize: 20,
      targetSetSizes: [10, 50],
      probeCount: 50,
      shardSize: 50,
      chunkSize: 8,
      trainEpochs: 3,
      attackEpochs: 4,
      inferenceSamples: 20000,
      evalTargets: 0,
      backend: "wasm",
      threads: 2,
      smoke: false,
    },
    "574beb150e0b3d82f2a8a417543835efe6642fd8ba9038484194de1107adc381",
  ],
  [
    "msr",
    { dataset: "insta-ny", smoke: true, ...SOME, inferenceSamples: 100, evalTargets: 5 },
    {
      attack: "msr",
      dataset: "insta-ny",
      seed: 7,
      shadowModels: 500,
      targetModels: 60,
      shadowOriginals: 2,
      setSize: 100,
      targetSetSizes: [],
      probeCount: 50,
      shardSize: 50,
      chunkSize: 8,
      trainEpochs: 3,
      attackEpochs: 4,
      inferenceSamples: 100,
      evalTargets: 5,
      backend: "wasm",
      threads: 2,
      smoke: true,
    },
    "580a57606a9317e178997a0925b7122dab596168b2f95f413ab5c729b624e243",
  ],
];

/**
 * A record of before the output defences, as it is written now: `defence`, `update` and `threat`
 * follow `trainEpochs`, at the values that leave them out of the hash.
 */
function withDefenceFields(before: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(before).flatMap(([k, v]) =>
      k === "trainEpochs"
        ? [
            [k, v],
            ["defence", "none"],
            ["update", "sgd:0.001:0.9:64:1"],
            ["threat", "adaptive"],
          ]
        : [[k, v]],
    ),
  );
}

describe("existing settings: the same config, config.json record and hash as before the table", () => {
  for (const [attack, flags, before, hash] of BEFORE) {
    test(`${attack} ${JSON.stringify(flags)}`, () => {
      const expected = withDefenceFields(before);
      const config = resolveConfig(attack, flags);
      // Key order too: config.json is written with JSON.stringify.
      expect(JSON.stringify(config)).toBe(JSON.stringify(expected));
      expect(configHash(config)).toBe(hash);
      // The hash is sha256 of a tag and the canonical JSON of the data fields, recomputed here.
      const data = Object.fromEntries(
        Object.entries(expected).filter(
          ([k, v]) =>
            !NON_DATA_FIELDS.includes(k) &&
            !(k === "shadowOriginals" && v === 1) &&
            !(k === "defence" && v === "none") &&
            !(k === "update" && v === "sgd:0.001:0.9:64:1") &&
            !(k === "threat" && v === "adaptive"),
        ),
      );
      const sha = createHash("sha256").update(`updates-leak/config-hash/v1\n${canonicalJson(data)}`);
      expect(sha.digest("hex")).toBe(hash);
    });
  }

  test("config.json lists the data and non-data fields as before", () => {
    const config = resolveConfig("distribution", {
      dataset: "cifar10",
      ...SOME,
      setSize: 20,
      targetSetSizes: [10, 50],
    });
    const record = runRecord(config, { backend: "wasm", reason: "test", threads: 2 }, {}, {});
    expect(Object.keys(record)).toEqual([
      "attack",
      "dataset",
      "config",
      "configHash",
      "dataFields",
      "nonDataFields",
      "seeds",
      "backend",
      "invocation",
    ]);
    expect(record.configHash).toBe("574beb150e0b3d82f2a8a417543835efe6642fd8ba9038484194de1107adc381");
    expect(record.dataFields).toEqual([
      "attack",
      "dataset",
      "seed",
      "shadowModels",
      "targetModels",
      "shadowOriginals",
      "setSize",
      "probeCount",
      "shardSize",
      "trainEpochs",
      "smoke",
    ]);
    expect(record.nonDataFields).toEqual([
      "backend",
      "threads",
      "chunkSize",
      "attackEpochs",
      "inferenceSamples",
      "evalTargets",
      "targetSetSizes",
    ]);
    expect(canonicalJson(dataFields(resolveConfig("label", { dataset: "mnist", smoke: true })))).toBe(
      '{"attack":"label","dataset":"mnist","probeCount":100,"seed":0,"setSize":1,"shadowModels":300,"shardSize":50,"smoke":true,"targetModels":100,"trainEpochs":2}',
    );
  });

  test("a stored config without the later fields reads as their `absent` values", () => {
    const { shadowOriginals: _s, targetSetSizes: _t, ...old } = BEFORE[0]![2];
    const parsed = configSchema(EXPERIMENT_FIELDS)(old) as Record<string, unknown>;
    expect([parsed.shadowOriginals, parsed.targetSetSizes]).toEqual([1, []]);
    expect(configHash(parsed)).toBe(BEFORE[0]![3]);
  });
});

/** A field a later change might add: a data field, on two attacks, per-attack paper defaults. */
const WARMUP: ExperimentField = {
  name: "warmupSteps",
  kind: "int",
  min: 0,
  max: 1_000,
  paper: { label: 0, reconstruct: 0, distribution: 5, msr: 8 },
  smoke: { label: 0, reconstruct: 0, distribution: 2, msr: 2 },
  attacks: ["distribution", "msr"],
  data: true,
  absent: 0,
  help: "learning-rate warm-up steps of the attack model",
  label: "warmup steps",
};
/** And a non-data one, on every attack. */
const LOG_EVERY: ExperimentField = {
  name: "logEvery",
  kind: "int",
  min: 1,
  max: 1_000,
  paper: 10,
  data: false,
  help: "log the attack's loss every n epochs",
  label: "log every",
};
const at = EXPERIMENT_FIELDS.findIndex((f) => f.name === "trainEpochs") + 1;
const TABLE: readonly ExperimentField[] = [
  ...EXPERIMENT_FIELDS.slice(0, at),
  WARMUP,
  ...EXPERIMENT_FIELDS.slice(at),
  LOG_EVERY,
];
const ON = ["distribution", "msr"];

/** Parse `args` with the options a subcommand of `attack` gets from TABLE. */
function parse(attack: AttackName, args: string[]): Record<string, unknown> {
  const cmd = new Command(attack).exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  for (const o of experimentOptions(attack, TABLE as never)) cmd.addOption(o);
  cmd.parse(args, { from: "user" });
  return cmd.opts();
}

function helpOf(attack: AttackName): string {
  const cmd = new Command(attack);
  for (const o of experimentOptions(attack, TABLE as never)) cmd.addOption(o);
  return cmd.helpInformation();
}

describe("a field added to a copy of the table: type and flags", () => {
  test("the arktype type accepts it, rejects a bad value, reads a missing one as `absent`", () => {
    const schema = configSchema(TABLE);
    const base = { ...BEFORE[0]![2], warmupSteps: 3, logEvery: 10 };
    expect((schema(base) as Record<string, unknown>).warmupSteps).toBe(3);
    const negative = schema({ ...base, warmupSteps: -1 });
    expect(negative instanceof type.errors && negative.summary).toBe(
      "warmupSteps must be non-negative (was -1)",
    );
    const fraction = schema({ ...base, warmupSteps: 1.5 });
    expect(fraction instanceof type.errors && fraction.summary).toBe(
      "warmupSteps must be an integer (was 1.5)",
    );
    const { warmupSteps: _w, ...old } = base;
    expect((schema(old) as Record<string, unknown>).warmupSteps).toBe(0);
  });

  test("its flag is on the subcommands of its attacks only, with the defaults in the help", () => {
    for (const attack of ATTACKS) {
      const option = experimentOptions(attack, TABLE as never).find((o) => o.long === "--warmup-steps");
      expect(option?.hidden).toBe(!ON.includes(attack));
      const help = helpOf(attack);
      expect(help.includes("--warmup-steps <n>")).toBe(ON.includes(attack));
      expect(help).toContain("--log-every <n>");
      expect(help).toContain("log the attack's loss every n epochs (default 10)");
    }
    expect(helpOf("distribution")).toContain("(paper 5, smoke 2)");
    expect(helpOf("msr")).toContain("(paper 8, smoke 2)");
  });

  test("the flag is parsed, range-checked, and refused on the other attacks", () => {
    const flags = experimentFlags(parse("msr", ["--dataset", "mnist", "--warmup-steps", "3"]), TABLE);
    expect((resolveConfig("msr", flags, TABLE) as Record<string, unknown>).warmupSteps).toBe(3);
    expect(() => parse("msr", ["--dataset", "mnist", "--warmup-steps", "2000"])).toThrow(
      "'--warmup-steps <n>' argument '2000' is invalid. Expected an integer from 0 to 1000.",
    );
    const onLabel = experimentFlags(parse("label", ["--dataset", "mnist", "--warmup-steps", "3"]), TABLE);
    expect(() => resolveConfig("label", onLabel, TABLE)).toThrow(
      "--warmup-steps is only for the distribution and msr attacks (see leak distribution --help), not label",
    );
    expect(() =>
      resolveConfig("msr", { dataset: "mnist", warmupSteps: 2_000 } as ConfigFlags, TABLE),
    ).toThrow("--warmup-steps must be an integer from 0 to 1000 (was 2000)");
  });
});

describe("a field added to a copy of the table: config, printout, config.json", () => {
  test("the resolved config has its default, in table order", () => {
    const get = (a: AttackName, smoke: boolean) =>
      resolveConfig(a, { dataset: "mnist", smoke }, TABLE) as Record<string, unknown>;
    expect([get("label", false).warmupSteps, get("distribution", false).warmupSteps]).toEqual([0, 5]);
    expect([get("msr", false).warmupSteps, get("msr", true).warmupSteps]).toEqual([8, 2]);
    expect(get("label", false).logEvery).toBe(10);
    const keys = Object.keys(get("msr", false));
    expect(keys.indexOf("warmupSteps")).toBe(keys.indexOf("trainEpochs") + 1);
    expect(keys.at(-1)).toBe("logEvery");
  });

  test("formatConfig prints it for its attacks", () => {
    const msr = formatConfig(resolveConfig("msr", { dataset: "mnist" }, TABLE), TABLE).split("\n");
    const row = msr.findIndex((l) => l.startsWith("  warmup steps"));
    expect(msr[row]).toBe("  warmup steps   8");
    expect(msr[row - 1]).toStartWith("  train epochs");
    expect(msr).toContain("  log every      10");
    const label = formatConfig(resolveConfig("label", { dataset: "mnist" }, TABLE), TABLE);
    expect(label).not.toContain("warmup steps");
    expect(label).toContain("log every");
  });

  test("config.json has it; at its `absent` value the hash of existing settings is unchanged", () => {
    const label = resolveConfig("label", { dataset: "mnist", smoke: true }, TABLE);
    const folder = RunFolder.prepare(label, { runsDir: tmp, runDir: path.join(tmp, "run") });
    folder.writeConfig(runRecord(label, { backend: "cpu", reason: "test", threads: 1 }, {}, {}, TABLE));
    const written = JSON.parse(fs.readFileSync(folder.configFile, "utf8"));
    expect(written.config.warmupSteps).toBe(0);
    expect(written.config.logEvery).toBe(10);
    expect(written.nonDataFields.at(-1)).toBe("logEvery");
    expect(written.dataFields).not.toContain("warmupSteps"); // at its absent value
    expect(written.configHash).toBe(BEFORE[0]![3]); // label/mnist/smoke before the table
    const msr = resolveConfig("msr", { dataset: "mnist" }, TABLE) as ExperimentConfig;
    expect(Object.keys(dataFields(msr, TABLE))).toContain("warmupSteps");
    expect(configHash(msr, TABLE)).not.toBe(BEFORE[3]![3]);
    expect(nonDataFields(TABLE)).toEqual([...NON_DATA_FIELDS, "logEvery"]);
  });
});
