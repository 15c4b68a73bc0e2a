/**
 * The same CLI under Bun, Node and Deno. `npm run build` (tools/build.ts) bundles the CLI into
 * tools/dist/cli.js for Node and Deno; Bun runs the TypeScript. The README's smoke run under each
 * runtime must beat its baseline and write the same shard files, byte for byte, as Bun's, and the
 * run folder must record which runtime ran it. A runtime that is not installed is skipped, with the
 * reason in the test's name. Also: no source file outside the runtime seam names Bun's global.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CLI, commandVersion, DENO, ensureBuilt, expectSameShards, ROOT } from "./run-support.ts";

const BUNDLE = path.join(ROOT, "tools", "dist", "cli.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ul-runtimes-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const runtimes = [
  { name: "node", argv: ["node", BUNDLE], version: commandVersion("node") },
  { name: "deno", argv: [DENO, "run", "--allow-all", BUNDLE], version: commandVersion(DENO) },
];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  dir: string;
}

function smoke(name: string, argv: string[]): Run {
  const dir = path.join(tmp, name);
  const [cmd, ...pre] = argv;
  const r = spawnSync(cmd!, [...pre, "label", "--dataset", "mnist", "--smoke", "--json", "--run-dir", dir], {
    cwd: tmp,
    encoding: "utf8",
    timeout: 300_000,
    env: { ...process.env, NO_COLOR: "1" },
  });
  if (r.status !== 0)
    throw new Error(`${name} exited ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, dir };
}

function result(run: Run): { metric: string; value: number; baselines: Record<string, number> } {
  return JSON.parse(fs.readFileSync(path.join(run.dir, "result.json"), "utf8"));
}

let bunRun: Run;

beforeAll(() => {
  ensureBuilt();
  bunRun = smoke("bun", [process.execPath, CLI]);
});

describe("leak label --dataset mnist --smoke under each runtime", () => {
  for (const rt of runtimes) {
    const why = rt.version === null ? ` (skipped: ${rt.argv[0]} not found)` : ` (${rt.version})`;
    test.skipIf(rt.version === null)(`${rt.name}${why}: beats Random and writes Bun's shards`, () => {
      const run = smoke(rt.name, rt.argv);
      const got = result(run);
      const ref = result(bunRun);
      expect(got.metric).toBe("accuracy");
      expect(got.value).toBeGreaterThan(got.baselines.random!);
      expect([got.value, got.baselines]).toEqual([ref.value, ref.baselines]);
      expectSameShards(run.dir, bunRun.dir);
      const predictions = fs.readdirSync(path.join(bunRun.dir, "predictions"));
      expect(predictions.length).toBeGreaterThan(0);
      for (const f of predictions) {
        const a = fs.readFileSync(path.join(run.dir, "predictions", f));
        expect(Buffer.compare(a, fs.readFileSync(path.join(bunRun.dir, "predictions", f)))).toBe(0);
      }
      const config = JSON.parse(fs.readFileSync(path.join(run.dir, "config.json"), "utf8"));
      expect(config.versions.runtime).toStartWith(`${rt.name} `);
      // --json prints result.json as the last line of stdout, on every runtime.
      const last = run.stdout.trim().split("\n").at(-1)!;
      expect(JSON.parse(last).value).toBe(ref.value);
    });
  }
});

/** Source text with comments and string literals blanked out (enough for this check). */
function codeOnly(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, (m) => m.replace(/[^\n]/g, ""))
    .replace(/\/\/.*$/gm, "")
    .replace(/`(?:\\.|[^`\\])*`|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'/g, '""');
}

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts") && !f.includes("node_modules"))
    .map((f) => path.join(dir, f));
}

describe("the runtime seam", () => {
  test("no source file but packages/core/src/platform.ts names Bun's global or import.meta.dir", () => {
    const dirs = [
      ...fs.readdirSync(path.join(ROOT, "packages")).map((p) => path.join(ROOT, "packages", p, "src")),
      path.join(ROOT, "tools", "src"),
    ];
    const seam = path.join(ROOT, "packages", "core", "src", "platform.ts");
    const offenders: string[] = [];
    for (const file of dirs.flatMap(sourceFiles)) {
      if (file === seam) continue;
      const lines = codeOnly(fs.readFileSync(file, "utf8")).split("\n");
      lines.forEach((line, i) => {
        if (/(^|[^\w.$])Bun\b|import\.meta\.dir\b/.test(line))
          offenders.push(`${path.relative(ROOT, file)}:${i + 1}`);
      });
    }
    expect(offenders).toEqual([]);
  });

  test("the check sees a use of Bun's global when there is one", () => {
    expect(/(^|[^\w.$])Bun\b/.test(codeOnly("const v = Bun.version; // Bun"))).toBe(true);
    expect(/(^|[^\w.$])Bun\b/.test(codeOnly('const s = "Bun.gunzipSync"; /* Bun. */'))).toBe(false);
  });
});
