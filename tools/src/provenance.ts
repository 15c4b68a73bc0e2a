/**
 * Where a run's numbers came from: versions of Bun, TensorFlow.js and our packages, the git commit
 * (with a dirty flag) and facts about the host. Recorded in each run folder's config.json.
 * Nothing here throws: a fact that cannot be read is recorded as null with the reason.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { bun, moduleDir, runtimeVersion } from "@updates-leak/core/platform";

const require = createRequire(import.meta.url);

/**
 * Resolvers for package.json files: from tools, then from core (under a strict linker, such as
 * Bun's isolated one, TensorFlow.js and bun-webgpu are visible from core only, which declares them).
 */
function resolvers(): NodeRequire[] {
  const out = [require];
  try {
    out.push(createRequire(fileURLToPath(import.meta.resolve("@updates-leak/core"))));
  } catch {
    // core not resolvable: tools' own resolver only
  }
  return out;
}

/** The repository root (tools/src/ -> ../..). */
export const REPO_ROOT = path.resolve(moduleDir(import.meta.url), "..", "..");

export interface GitFacts {
  commit: string | null;
  dirty: boolean | null;
  /** Changed or untracked paths when dirty (at most 50). */
  changes?: string[];
  error?: string;
}

export interface HostFacts {
  hostname: string;
  platform: string;
  arch: string;
  release: string;
  cpus: number;
  cpuModel: string;
  memoryBytes: number;
  freeMemoryBytes: number;
}

export interface Provenance {
  versions: Record<string, string | null>;
  git: GitFacts;
  host: HostFacts;
}

function packageVersion(name: string, from: NodeRequire[]): string | null {
  for (const req of from) {
    try {
      const file = req.resolve(`${name}/package.json`);
      return (JSON.parse(fs.readFileSync(file, "utf8")) as { version?: string }).version ?? null;
    } catch {
      // not visible from here, or its exports map hides package.json: try the next
    }
  }
  // Packages whose exports map hides package.json: look in node_modules directly.
  try {
    const file = path.join(REPO_ROOT, "node_modules", name, "package.json");
    return (JSON.parse(fs.readFileSync(file, "utf8")) as { version?: string }).version ?? null;
  } catch {
    return null;
  }
}

export function versions(): Record<string, string | null> {
  const out: Record<string, string | null> = {
    runtime: `${runtimeVersion().name} ${runtimeVersion().version}`,
    bun: bun?.version ?? null,
    bunRevision: bun?.revision ?? null,
    nodeCompat: process.versions.node ?? null,
  };
  const from = resolvers();
  for (const name of [
    "@tensorflow/tfjs-core",
    "@tensorflow/tfjs-backend-cpu",
    "@tensorflow/tfjs-backend-wasm",
    "@tensorflow/tfjs-backend-webgpu",
    "bun-webgpu",
    "arktype",
    "commander",
    "@updates-leak/core",
    "@updates-leak/datasets",
    "@updates-leak/attacks",
    "@updates-leak/tools",
  ]) {
    out[name] = packageVersion(name, from);
  }
  return out;
}

export function gitFacts(cwd: string = REPO_ROOT): GitFacts {
  const run = (args: string[]) => spawnSync("git", args, { cwd, encoding: "utf8", timeout: 10_000 });
  const head = run(["rev-parse", "HEAD"]);
  if (head.error || head.status !== 0) {
    return {
      commit: null,
      dirty: null,
      error: (head.error?.message ?? head.stderr ?? "").trim() || "git failed",
    };
  }
  const status = run(["status", "--porcelain"]);
  if (status.status !== 0) {
    return { commit: head.stdout.trim(), dirty: null, error: (status.stderr ?? "").trim() };
  }
  const changes = status.stdout.split("\n").filter((l) => l.trim() !== "");
  return {
    commit: head.stdout.trim(),
    dirty: changes.length > 0,
    ...(changes.length > 0 ? { changes: changes.slice(0, 50).map((l) => l.slice(3)) } : {}),
  };
}

export function hostFacts(): HostFacts {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    platform: process.platform,
    arch: process.arch,
    release: os.release(),
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? "unknown",
    memoryBytes: os.totalmem(),
    freeMemoryBytes: os.freemem(),
  };
}

export function collectProvenance(): Provenance {
  return { versions: versions(), git: gitFacts(), host: hostFacts() };
}
