/**
 * RunFolder.check on a --run-dir that exists but has no config.json yet: the parts of a job array
 * start together, so one may look while another is writing config.json (a temporary file of
 * ours, not a stranger's file); a folder with anything else in it is still refused, unchanged.
 */
import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { tempNameFor } from "./atomic.ts";
import { UsageError } from "./errors.ts";
import { resolveConfig } from "./resolve-config.ts";
import { RunFolder, runFolderName } from "./run-folder.ts";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ul-run-folder-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const config = resolveConfig("label", { dataset: "mnist", smoke: true });

function folderWith(name: string, files: string[]): string {
  const dir = path.join(root, name);
  fs.mkdirSync(path.join(dir, "shards", "shadow"), { recursive: true });
  for (const f of files) fs.writeFileSync(path.join(dir, f), "{");
  return dir;
}

describe("RunFolder.check on a folder without config.json", () => {
  test("another part's config.json being written (its temporary file) is not a stranger", () => {
    const dir = folderWith("starting", [path.basename(tempNameFor("config.json")), "metrics.jsonl"]);
    expect(RunFolder.check(config, { runsDir: root, runDir: dir })).toEqual({ dir, exists: true });
    expect(RunFolder.prepare(config, { runsDir: root, runDir: dir }).resumed).toBe(false);
  });

  test("other files, or temporary files of other names, are refused and left alone", () => {
    for (const f of ["notes.txt", path.basename(tempNameFor("notes.txt"))]) {
      const dir = folderWith(`foreign-${f}`, [f]);
      const check = () => RunFolder.check(config, { runsDir: root, runDir: dir });
      expect(check).toThrow(UsageError);
      expect(check).toThrow(`is not empty and has no config.json (found ${f}); pick an empty or new folder`);
      expect(fs.readdirSync(dir).sort()).toEqual([f, "shards"]);
    }
  });
});

describe("a new run folder's name", () => {
  test("says the attack, data set, seed, smoke size, defence and update rule", () => {
    const now = new Date(Date.UTC(2026, 11, 6, 4, 5, 6));
    expect(runFolderName(now, config)).toBe("20261206T040506Z-label-mnist-s0-smoke");
    const defended = resolveConfig("reconstruct", {
      dataset: "cifar10",
      seed: 2,
      defence: "round:2+topk:3",
      threat: "non-adaptive",
    });
    expect(runFolderName(now, defended)).toBe(
      "20261206T040506Z-reconstruct-cifar10-s2-round_2+topk_3-nonadaptive",
    );
    expect(runFolderName(now, { ...defended, defence: "noise:0.01", threat: "adaptive" })).toBe(
      "20261206T040506Z-reconstruct-cifar10-s2-noise_0.01",
    );
    const adam = resolveConfig("label", { dataset: "mnist", update: "adam:0.01" });
    expect(runFolderName(now, adam)).toBe("20261206T040506Z-label-mnist-s0-adam_0.01_64_1");
  });
});
