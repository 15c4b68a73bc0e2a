/**
 * The packages as npm would publish them. `npm pack` on each of the five, the tarballs installed
 * into a temporary project outside this checkout, then, from those tarballs only:
 * - example (a) (examples/label-attack.ts with its types stripped) under Node and under Deno, which
 *   must print the accuracy that Bun prints running the TypeScript sources in this checkout;
 * - the `leak` command of the tools tarball under Node: the smoke A_LI beats Random.
 * And for every manifest: not private, a license, a repository, no "*" version range, every export
 * with a `bun` condition (the sources) whose other targets the tarball holds, no test file packed.
 *
 * Skipped, with the reason in the test names, when npm cannot fetch the tarballs' dependencies
 * (no network and no npm cache) or MNIST is not found. Any other install failure fails.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { locateDataset } from "@updates-leak/datasets";
import { commandVersion, DENO, ensureBuilt, ROOT } from "./run-support.ts";

const PACKAGES = ["packages/core", "packages/datasets", "packages/attacks", "tools", "packages/bench"];
const NETWORK = /\b(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|ENOTCACHED)\b/;

interface Manifest {
  name: string;
  private?: boolean;
  license?: string;
  repository?: { url?: string };
  exports: Record<string, Record<string, string>>;
  imports?: Record<string, Record<string, string>>;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

interface Packed {
  dir: string;
  manifest: Manifest;
  tarball: string;
  files: string[];
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ul-packages-"));
const project = path.join(tmp, "project");
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function sh(cmd: string, args: string[], cwd: string, timeout = 300_000) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout, env: { ...process.env, NO_COLOR: "1" } });
  return { ok: r.status === 0, out: `${r.stdout ?? ""}${r.stderr ?? ""}`, stdout: r.stdout ?? "" };
}

/** Builds dist/ (npm run build), packs every package, installs the tarballs into `project`. */
function packAndInstall(): { packed: Packed[]; skip: string } {
  ensureBuilt();
  const packed: Packed[] = [];
  for (const dir of PACKAGES) {
    const r = sh("npm", ["pack", "--json", "--pack-destination", tmp], path.join(ROOT, dir));
    if (!r.ok) throw new Error(`npm pack in ${dir} failed:\n${r.out}`);
    const [info] = JSON.parse(r.stdout) as { filename: string; files: { path: string }[] }[];
    const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, dir, "package.json"), "utf8")) as Manifest;
    packed.push({
      dir,
      manifest,
      tarball: path.join(tmp, info!.filename),
      files: info!.files.map((f) => f.path),
    });
  }
  const layers = JSON.parse(
    fs.readFileSync(path.join(ROOT, "node_modules/@tensorflow/tfjs-layers/package.json"), "utf8"),
  ) as { version: string };
  fs.mkdirSync(project);
  const dependencies: Record<string, string> = { "@tensorflow/tfjs-layers": layers.version };
  for (const p of packed) dependencies[p.manifest.name] = `file:${p.tarball}`;
  fs.writeFileSync(
    path.join(project, "package.json"),
    JSON.stringify({ name: "uses-updates-leak", private: true, type: "module", dependencies }, null, 2),
  );
  const install = sh("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund"], project);
  if (!install.ok) {
    const code = NETWORK.exec(install.out)?.[1];
    if (code) return { packed, skip: ` (skipped: npm could not fetch the dependencies, ${code})` };
    throw new Error(`npm install of the tarballs failed:\n${install.out}`);
  }
  // Example (a) as a user would copy it into their project: the same code, types stripped.
  const source = fs.readFileSync(path.join(ROOT, "examples", "label-attack.ts"), "utf8");
  const js = new Bun.Transpiler({ loader: "ts" }).transformSync(source);
  fs.writeFileSync(path.join(project, "label-attack.mjs"), js);
  return { packed, skip: "" };
}

const { packed, skip } = packAndInstall();
const noData =
  locateDataset("mnist").chosen === undefined
    ? " (skipped: no MNIST files found; set UPDATES_LEAK_DATA)"
    : "";
const noDeno = commandVersion(DENO) === null ? " (skipped: deno not found)" : "";

describe.each(PACKAGES)("%s as packed", (dir) => {
  const p = () => packed.find((q) => q.dir === dir)!;

  test("manifest: public, licensed, a repository, real version ranges", () => {
    const m = p().manifest;
    expect(m.private).toBeUndefined();
    expect(m.license).toBe("MIT");
    expect(m.repository?.url).toMatch(/^git\+https:\/\/.+\.git$/);
    const ranges = { ...m.dependencies, ...m.peerDependencies };
    for (const [name, range] of Object.entries(ranges)) {
      expect(`${name}@${range}`).toMatch(/@[\^~]?\d+\.\d+\.\d+$/);
    }
  });

  test("every export: the sources for Bun, and the tarball holds each other target", () => {
    const { manifest, files } = p();
    const targets = [...Object.values(manifest.exports), ...Object.values(manifest.imports ?? {})];
    expect(targets.length).toBeGreaterThan(0);
    for (const t of targets) {
      expect(t.bun).toMatch(/^\.\/src\/.+\.ts$/);
      for (const file of Object.values(t)) expect(files).toContain(file.slice(2));
    }
    for (const bin of Object.values(manifest.bin ?? {})) expect(files).toContain(bin.slice(2));
    expect(files.filter((f) => /\.test\.|test-support|testData|\/test-/.test(f))).toEqual([]);
  });
});

describe("the tarballs in a fresh project", () => {
  let bunAccuracy = Number.NaN;
  beforeAll(() => {
    if (skip || noData) return;
    const r = sh(process.execPath, [path.join(ROOT, "examples", "label-attack.ts")], tmp);
    if (!r.ok) throw new Error(`bun examples/label-attack.ts failed:\n${r.out}`);
    bunAccuracy = lastJson(r.stdout).accuracy as number;
  });

  const run = (argv: string[]) => {
    const r = sh(argv[0]!, argv.slice(1), project);
    if (!r.ok) throw new Error(`${argv.join(" ")} failed in the fresh project:\n${r.out}`);
    return lastJson(r.stdout);
  };

  test.skipIf(Boolean(skip || noData))(`example (a) under Node prints Bun's accuracy${skip}${noData}`, () => {
    const out = run(["node", "label-attack.mjs"]);
    expect(out.accuracy as number).toBeGreaterThan(0.5);
    expect(out.accuracy).toBe(bunAccuracy);
  });

  test.skipIf(Boolean(skip || noData || noDeno))(
    `example (a) under Deno prints Bun's accuracy${skip}${noData}${noDeno}`,
    () => {
      const out = run([DENO, "run", "--allow-all", "label-attack.mjs"]);
      expect(out.accuracy).toBe(bunAccuracy);
    },
  );

  test.skipIf(Boolean(skip || noData))(`leak's smoke A_LI under Node beats Random${skip}${noData}`, () => {
    const runDir = path.join(tmp, "smoke-run");
    const out = run([
      "node",
      "node_modules/.bin/leak",
      "label",
      "--dataset",
      "mnist",
      "--smoke",
      "--json",
      "--run-dir",
      runDir,
    ]);
    expect(out.attack).toBe("label");
    expect(out.value as number).toBeGreaterThan(3 * (out.baselines as { random: number }).random);
  });
});

function lastJson(stdout: string): Record<string, unknown> {
  const line = stdout
    .trim()
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .at(-1);
  if (line === undefined) throw new Error(`no JSON line in:\n${stdout}`);
  return JSON.parse(line) as Record<string, unknown>;
}
