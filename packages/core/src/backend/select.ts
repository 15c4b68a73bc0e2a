/**
 * Backend selection: `auto | webgpu | wasm | cpu`, the one place that decides where tensors run.
 *
 * `auto` tries a hardware WebGPU adapter, then WASM (SIMD, threads), then cpu; a software adapter
 * (lavapipe/llvmpipe) or Dawn's Null adapter never wins `auto`. An explicit backend that cannot
 * start throws, saying why and which backends are available; explicit `webgpu` accepts a software
 * adapter (the report says so) unless `allowSoftware: false`.
 *
 * Each backend starts once per process (wasm: once per thread count); later calls only switch
 * with `tf.setBackend`, so tests may switch back and forth cheaply. Each backend registers the
 * kernels of ours when it starts (kernels/<backend>/register_all_kernels.ts: wasm in wasm.ts,
 * webgpu in webgpu.ts, cpu here, since every selection may fall back to it); nothing registers
 * kernels on import, so what runs does not depend on what was imported. The report lists them.
 * `shutdownBackends()` disposes the wasm and webgpu backends (their tensors, worker threads and
 * GPU device).
 */
import { version_wasm } from "@tensorflow/tfjs-backend-wasm";
import { registerCpuKernels } from "../kernels/cpu/register_all_kernels.ts";
import { registeredKernels } from "../kernels/registry.ts";
import { inBrowser, runtimeVersion } from "../platform.ts";
import { tf } from "../tf.ts";
import {
  BACKEND_NAMES,
  type BackendName,
  type BackendReport,
  type ConcreteBackend,
  errorText,
  formatBackendReport,
  type TriedBackend,
} from "./report.ts";
import { stopWasm, useWasm, WasmThreadsInUseError, wasmStatus } from "./wasm.ts";
import { probeWebGpu, stopWebGpu, useWebGpu } from "./webgpu.ts";

export type { BackendName, BackendReport, ConcreteBackend, TriedBackend } from "./report.ts";
export { BACKEND_NAMES } from "./report.ts";

/** User settings for `selectBackend` (runtime facts live apart, in runtime.ts). */
export interface SelectOptions {
  /** Default "auto". */
  backend?: BackendName;
  /**
   * wasm threads (at most 8 run). Default: the count wasm already runs with, else the number of
   * logical cores. Another count than the running one restarts wasm (refused while it holds tensors).
   */
  threads?: number;
  /** Do not print the report line. */
  quiet?: boolean;
  /** Explicit `webgpu` only: accept a software adapter (default true). `auto` never does. */
  allowSoftware?: boolean;
  /**
   * Whether the caller reads tensors synchronously (`dataSync`), as the attacks, the trainers and the
   * CLI do (default true). With false, webgpu also starts where the runtime has only asynchronous
   * GPU reads (Deno's own `navigator.gpu`): enough for `UpdateEngine.deltas` and `posteriors`, which
   * read asynchronously. The report's `syncReads` says which one runs.
   */
  syncReads?: boolean;
}

let current: BackendReport | null = null;

/** The report of the last successful `selectBackend`, or null. */
export function currentBackend(): BackendReport | null {
  return current;
}

function silenceCpuGreeting(): void {
  // The cpu backend prints an advert for tfjs-node on its first use under Node/Bun.
  const cpu = tf.findBackend("cpu") as { firstUse?: boolean } | null;
  if (cpu && "firstUse" in cpu) cpu.firstUse = false;
}

function checkOptions(opts: SelectOptions): { want: BackendName; threads: number | undefined } {
  const want = opts.backend ?? "auto";
  if (!BACKEND_NAMES.includes(want)) {
    throw new Error(
      `selectBackend: option backend must be one of ${BACKEND_NAMES.join(" | ")}, got '${want}'`,
    );
  }
  const threads = opts.threads;
  if (threads !== undefined && (!Number.isInteger(threads) || threads < 1)) {
    throw new Error(`selectBackend: option threads must be an integer >= 1, got ${threads}`);
  }
  return { want, threads };
}

function baseReport(backend: ConcreteBackend, reason: string, tried: TriedBackend[]): BackendReport {
  return {
    backend,
    reason,
    tried,
    adapter: null,
    softwareAdapter: false,
    threads: 1,
    wasmBuild: null,
    kernels: [],
    tfjsVersion: tf.version_core,
    runtime: inBrowser() ? "browser" : `${runtimeVersion().name} ${runtimeVersion().version}`,
    syncReads: true,
  };
}

async function explicitFailure(want: ConcreteBackend, why: string, prior: string | null): Promise<Error> {
  const available = (await availableBackends().catch(() => ["cpu" as ConcreteBackend])).filter(
    (b) => b !== want,
  );
  if (prior) await tf.setBackend(prior).catch(() => false);
  return new Error(
    `selectBackend: backend '${want}' cannot start: ${why}. Available: ${available.join(", ")}`,
  );
}

/**
 * Selects and starts a backend and makes it tfjs's active one. Returns (and, unless quiet,
 * prints to stderr) the report.
 */
export async function selectBackend(opts: SelectOptions = {}): Promise<BackendReport> {
  const { want, threads } = checkOptions(opts);
  silenceCpuGreeting();
  registerCpuKernels();
  const prior = tf.getBackend() ?? null;
  const tried: TriedBackend[] = [];
  let report: BackendReport | null = null;

  if (want === "webgpu" || want === "auto") {
    const allowSoftware = want === "webgpu" && opts.allowSoftware !== false;
    try {
      const refusal =
        want === "auto"
          ? "a software adapter never wins auto"
          : "software adapter refused (allowSoftware: false)";
      const { facts, syncReads } = await useWebGpu(allowSoftware, refusal, opts.syncReads !== false);
      const software = facts.kind === "software";
      const why = software ? "software adapter, accepted because asked for explicitly" : "hardware adapter";
      tried.push({ backend: "webgpu", ok: true, why });
      report = baseReport(
        "webgpu",
        want === "auto" ? "first choice: a hardware WebGPU adapter" : "asked for",
        tried,
      );
      report.adapter = (await probeWebGpu()).why;
      report.softwareAdapter = software;
      report.syncReads = syncReads;
    } catch (err) {
      tried.push({ backend: "webgpu", ok: false, why: errorText(err) });
      if (want === "webgpu") throw await explicitFailure("webgpu", errorText(err), prior);
    }
  }

  if (!report && (want === "wasm" || want === "auto")) {
    try {
      const s = await useWasm(threads);
      const why =
        `${s.build}, ${s.threads} thread(s)` +
        (s.threads !== s.requestedThreads ? ` (asked ${s.requestedThreads}, at most 8 run)` : "") +
        (s.threadFallback ? `; ${s.threadFallback}` : "");
      tried.push({ backend: "wasm", ok: true, why });
      report = baseReport(
        "wasm",
        want === "auto" ? "no hardware WebGPU adapter; WASM runs" : "asked for",
        tried,
      );
      report.threads = s.threads;
      report.wasmBuild = s.build;
    } catch (err) {
      if (err instanceof WasmThreadsInUseError) throw err; // a usage error, not an unavailable backend
      tried.push({ backend: "wasm", ok: false, why: errorText(err) });
      if (want === "wasm") throw await explicitFailure("wasm", errorText(err), prior);
    }
  }

  if (!report) {
    const ok = await tf.setBackend("cpu");
    if (!ok) throw new Error("selectBackend: the cpu backend failed to start");
    tried.push({ backend: "cpu", ok: true, why: "plain JavaScript reference backend" });
    report = baseReport("cpu", want === "auto" ? "neither WebGPU nor WASM could start" : "asked for", tried);
  }
  report.kernels = registeredKernels(report.backend);

  current = report;
  if (!opts.quiet) process.stderr.write(`[updates-leak] ${formatBackendReport(report)}\n`);
  return report;
}

/** Options of `availableBackends`. */
export interface AvailableOptions {
  /** Count a software WebGPU adapter (lavapipe) as available (default true). */
  software?: boolean;
}

/**
 * Backends that can start in this process, in `auto`'s order of preference: "webgpu" (any real
 * adapter, software included unless `software: false`), "wasm", "cpu". Starts wasm (default
 * threads) if needed to find out; leaves the active backend as it was. For tests that loop over
 * every backend.
 */
export async function availableBackends(opts: AvailableOptions = {}): Promise<ConcreteBackend[]> {
  const out: ConcreteBackend[] = [];
  const probe = await probeWebGpu();
  if (
    probe.adapter &&
    probe.adapter.kind !== "null" &&
    probe.refusal === null &&
    (opts.software !== false || probe.adapter.kind === "hardware")
  ) {
    out.push("webgpu");
  }
  if (wasmStatus()) {
    out.push("wasm");
  } else {
    const prior = tf.getBackend() ?? null;
    try {
      await useWasm(undefined);
      out.push("wasm");
    } catch {
      // wasm unavailable: left out.
    }
    if (prior) await tf.setBackend(prior);
  }
  out.push("cpu");
  return out;
}

/**
 * Disposes the wasm and webgpu backends (tensors on them, wasm worker threads, the GPU device),
 * e.g. at the end of a script, and makes cpu active. A later `selectBackend` starts them again.
 */
export async function shutdownBackends(): Promise<void> {
  stopWasm();
  stopWebGpu();
  registerCpuKernels();
  await tf.setBackend("cpu");
  if (current && current.backend !== "cpu") current = null;
}

/** tfjs package versions in use (wasm is always loaded; webgpu only once started). */
export function tfjsVersions(): { core: string; wasm: string } {
  return { core: tf.version_core, wasm: version_wasm };
}
