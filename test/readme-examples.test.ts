/**
 * The runnable examples of the package READMEs (packages/core, packages/attacks, tools): each ```ts block
 * is written to a git-ignored file inside the repository (so `@updates-leak/*` resolve as in a checkout)
 * and run with Bun in a child process, as a reader runs it with `npx bun example.ts`. Each example's
 * output is then checked against what its README says it shows; the checks compare the numbers an
 * example computes with an independent reference it also computes (the engine against the
 * one-model-at-a-time path; the attack against its baseline), never a number with itself.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dir, "..");
const WORK = path.join(ROOT, ".tmp", `readme-examples-${process.pid}`);

/** The ```ts blocks of a markdown file, in order. */
export function tsBlocks(markdown: string): string[] {
  const out: string[] = [];
  const re = /^```ts\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(markdown); m; m = re.exec(markdown)) out.push(m[1] as string);
  return out;
}

function runExample(readme: string): { code: number | null; stdout: string; stderr: string } {
  const blocks = tsBlocks(fs.readFileSync(path.join(ROOT, readme), "utf8"));
  if (blocks.length !== 1)
    throw new Error(`${readme}: expected one \`\`\`ts example, found ${blocks.length}`);
  fs.mkdirSync(WORK, { recursive: true });
  const file = path.join(WORK, `${readme.replace(/[/.]/g, "-")}.ts`);
  fs.writeFileSync(file, blocks[0] as string);
  const r = spawnSync(process.execPath, [file], {
    cwd: ROOT,
    encoding: "utf8",
    timeout: 110_000,
    env: { ...process.env, NO_COLOR: "1" },
  });
  if (r.status !== 0) throw new Error(`${readme} example exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function number(text: string, re: RegExp): number {
  const m = re.exec(text);
  if (!m) throw new Error(`no match for ${re} in:\n${text}`);
  return Number(m[1]);
}

afterAll(() => fs.rmSync(WORK, { recursive: true, force: true }));

describe("README examples run as written", () => {
  test("tsBlocks finds fenced ts blocks only", () => {
    expect(tsBlocks("a\n```ts\nx()\n```\n```sh\ny\n```\n```ts\nz()\n```\n")).toEqual(["x()\n", "z()\n"]);
  });

  test("packages/core: the engine's deltas equal the reference path's", () => {
    const { stdout } = runExample("packages/core/README.md");
    expect(number(stdout, /delta size (\d+)/)).toBe(100);
    const largest = number(stdout, /largest \|delta\| ([\d.e+-]+)/);
    const diff = number(stdout, /engine vs reference ([\d.e+-]+)/);
    expect(largest).toBeGreaterThan(1e-5); // the update moved the posteriors
    expect(diff).toBeLessThan(largest * 1e-3); // engine.test.ts: within 1e-4 relative
  }, 600_000);

  test("packages/attacks: a tiny A_LI experiment beats its Random baseline", () => {
    const { stdout } = runExample("packages/attacks/README.md");
    expect(stdout).toContain("shadow: 200 updated models (2 shards generated, 0 resumed)");
    const acc = number(stdout, /A_LI accuracy ([\d.]+), Random/);
    const random = number(stdout, /Random baseline ([\d.]+)\n/);
    expect(random).toBeGreaterThan(0.1);
    expect(acc).toBeGreaterThan(random + 0.3);
  }, 600_000);

  test("tools: a cut-short shard is not complete after reopening; the others read back", () => {
    const { stdout } = runExample("tools/README.md");
    expect(stdout).toMatch(
      /warning: shadow shard 1: .* has 40 bytes, manifest says 64; it will be regenerated/,
    );
    expect(stdout).toContain("complete shards: 0, 2\n");
    expect(stdout).toContain("shard 2 deltas: 2 2 2 2 2 2\n");
  }, 600_000);
});
