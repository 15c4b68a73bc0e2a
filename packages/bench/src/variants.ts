/**
 * Backend variants the suites run on: "cpu", "webgpu", "wasm" (default threads) or "wasm:N".
 * wasm changes its thread count only when it holds no tensors (core restarts it then); every
 * suite disposes what it made before the next variant, and a leak is reported, then cleared by
 * restarting the backends so the next variant can still start.
 */
import {
  type BackendReport,
  type ConcreteBackend,
  selectBackend,
  shutdownBackends,
  tf,
} from "@updates-leak/core";
import { gpuFacts } from "./record.ts";

export interface Variant {
  backend: ConcreteBackend;
  /** wasm only; undefined: core's default (cores, at most 8). */
  threads?: number;
  /** As written by the user, e.g. "wasm:2". */
  label: string;
}

/** Parses "wasm:2,cpu,webgpu"; errors name the flag. */
export function parseVariants(text: string, flag = "--backends"): Variant[] {
  const out: Variant[] = [];
  for (const raw of text.split(",")) {
    const label = raw.trim();
    if (label === "") continue;
    const m = /^(cpu|webgpu|wasm)(?::(\d+))?$/.exec(label);
    if (!m || (m[2] !== undefined && m[1] !== "wasm")) {
      throw new Error(
        `${flag}: '${label}' is not a backend; expected cpu, webgpu, wasm or wasm:N (e.g. wasm:2)`,
      );
    }
    const threads = m[2] === undefined ? undefined : Number(m[2]);
    if (threads !== undefined && (threads < 1 || threads > 64)) {
      throw new Error(`${flag}: '${label}': the wasm thread count must be between 1 and 64`);
    }
    out.push({ backend: m[1] as ConcreteBackend, ...(threads === undefined ? {} : { threads }), label });
  }
  if (out.length === 0) throw new Error(`${flag}: no backend given`);
  return out;
}

/** wasm's thread count at its best here: the cores, at most 8 (what core's wasm runs at most). */
export function maxWasmThreads(cores: number): number {
  return Math.max(1, Math.min(8, cores));
}

export async function hasHardwareGpu(): Promise<boolean> {
  return (await gpuFacts()).kind === "hardware";
}

/** Kernels: wasm with 1 and 2 threads (and all cores when more), cpu, webgpu on a hardware adapter. */
export async function kernelVariants(cores: number): Promise<Variant[]> {
  const w = maxWasmThreads(cores);
  const out = parseVariants(["wasm:1", "wasm:2", ...(w > 2 ? [`wasm:${w}`] : []), "cpu"].join(","));
  if (await hasHardwareGpu()) out.push({ backend: "webgpu", label: "webgpu" });
  return out;
}

/**
 * Engine and training: the backends worth running them on (webgpu on hardware, wasm at full
 * threads). Smoke runs use wasm:1 only: they check code paths, and threaded wasm stalls on every
 * op when the cores are busy.
 */
export async function primaryVariants(cores: number, smoke = false): Promise<Variant[]> {
  if (smoke) return parseVariants("wasm:1");
  const out: Variant[] = [];
  if (await hasHardwareGpu()) out.push({ backend: "webgpu", label: "webgpu" });
  out.push({ backend: "wasm", threads: maxWasmThreads(cores), label: `wasm:${maxWasmThreads(cores)}` });
  return out;
}

/**
 * Makes `v` the active backend; a held-tensor refusal is reported and cleared by a restart.
 * `syncReads: false` for suites that read tensors only asynchronously (the engine's): webgpu then
 * also starts under Deno, which has no synchronous GPU read.
 */
export async function useVariant(
  v: Variant,
  warn: (msg: string) => void,
  syncReads = true,
): Promise<BackendReport> {
  const opts = {
    backend: v.backend,
    quiet: true,
    allowSoftware: true,
    syncReads,
    ...(v.threads === undefined ? {} : { threads: v.threads }),
  };
  try {
    return await selectBackend(opts);
  } catch (err) {
    if (!(err instanceof Error) || err.name !== "WasmThreadsInUseError") throw err;
    warn(`${err.message}; restarting the backends (${tf.memory().numTensors} tensors lost)`);
    await shutdownBackends();
    return await selectBackend(opts);
  }
}
