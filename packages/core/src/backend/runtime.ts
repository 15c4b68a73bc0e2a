/**
 * Frozen facts about the runtime an experiment ran on (versions, CPU, the backend report), kept
 * apart from user settings so that results can record where they came from.
 */
import { createRequire } from "node:module";
import os from "node:os";
import { bun, type RuntimeName, runtimeVersion } from "../platform.ts";
import { tf } from "../tf.ts";
import { type BackendReport, currentBackend, tfjsVersions } from "./select.ts";

/** The frozen facts of this process that a run records: runtime, platform, CPU, memory, tfjs versions. */
export interface RuntimeFacts {
  /** The runtime running the code (bun, deno or node) and its version. */
  runtime: { name: RuntimeName; version: string };
  bun: string | null;
  node: string;
  platform: string;
  arch: string;
  cpuModel: string;
  cores: number;
  totalMemoryBytes: number;
  tfjs: { core: string; wasm: string; webgpu: string | null };
  /** The backend report of the last `selectBackend`, or null before one. */
  backend: Readonly<BackendReport> | null;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}

function webgpuVersion(): string | null {
  // Only known once the webgpu backend has been started (it is loaded lazily).
  if (!(tf.engine() as unknown as { registry: Record<string, unknown> }).registry.webgpu) return null;
  try {
    return (
      createRequire(import.meta.url)("@tensorflow/tfjs-backend-webgpu/package.json") as { version: string }
    ).version;
  } catch {
    return null;
  }
}

/** A frozen snapshot of the runtime, with a copy of the current backend report. */
export function runtimeFacts(): Readonly<RuntimeFacts> {
  const cpus = os.cpus();
  const report = currentBackend();
  const facts: RuntimeFacts = {
    runtime: runtimeVersion(),
    bun: bun?.version ?? null,
    node: process.versions.node ?? "",
    platform: process.platform,
    arch: process.arch,
    cpuModel: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    totalMemoryBytes: os.totalmem(),
    tfjs: { ...tfjsVersions(), webgpu: webgpuVersion() },
    backend: report ? structuredClone(report) : null,
  };
  return deepFreeze(facts);
}
