/**
 * The wasm backend: tfjs-backend-wasm's SIMD build, multi-threaded when more than one thread is
 * asked for (see wasm-threads.ts), with this project's kernels (kernels/wasm/register_all_kernels.ts),
 * registered here before the backend first starts.
 *
 * The package registers a 'wasm' backend factory when imported; we replace it with one that sets
 * the binaries' folder (absolute path of the installed package's dist/), the thread count and the
 * start-up patches, and records why a start failed. The backend starts once per thread count:
 * asking for another count restarts it, which is refused while it holds tensors.
 *
 * In a web page (web/, bundled by tools/build-web.ts) the page sets the binaries' folder itself
 * (tfjs's `setWasmPaths`) and tfjs's threaded build runs as it is (it needs a cross-origin
 * isolated page); the only start-up patch there is the thread cap (see `withBrowserThreads`).
 */
import os from "node:os";
import path from "node:path";
import type { BackendWasm } from "@tensorflow/tfjs-backend-wasm";
import * as wasmPackage from "@tensorflow/tfjs-backend-wasm";
import { registerWasmKernels } from "../kernels/wasm/register_all_kernels.ts";
import { inBrowser } from "../platform.ts";
import { tf } from "../tf.ts";
import { errorText } from "./report.ts";
import { unrefWorkers, WASM_MAX_THREADS, wasmPackageDir, withThreadedStartPatches } from "./wasm-threads.ts";

/** What the running wasm backend is. */
export interface WasmStatus {
  /** Threads XNNPACK runs with (as reported by the module). */
  threads: number;
  /** Threads asked for, before clamping to [1, WASM_MAX_THREADS]. */
  requestedThreads: number;
  /** Which binary runs. */
  build: "tfjs-backend-wasm-threaded-simd.wasm" | "tfjs-backend-wasm-simd.wasm" | "tfjs-backend-wasm.wasm";
  /** Kernels of ours registered for wasm (kernels/wasm/register_all_kernels.ts). */
  kernels: string[];
  /** Why a threaded start was given up, if it was. */
  threadFallback: string | null;
}

/**
 * Below cpu's 1: tfjs starts the highest-priority backend when a tensor is made before any
 * `setBackend`; let that be the synchronous cpu backend rather than fail with "not yet
 * initialized". selectBackend decides which backend really runs.
 */
const WASM_PRIORITY = 0;
const packageFactory = tf.findBackendFactory("wasm");

let wanted = 1;
let status: WasmStatus | null = null;
let lastError: unknown = null;

/** Number of logical cores (the default thread count). */
export function coreCount(): number {
  return typeof os.availableParallelism === "function" ? os.availableParallelism() : os.cpus().length;
}

function distDir(): string {
  return `${path.join(wasmPackageDir(), "dist")}/`;
}

/**
 * Runs `start` in a web page with `navigator.hardwareConcurrency` reading 2 x `threads`: the C++
 * side caps XNNPACK's pool at half of it (as it does with `os.cpus()` outside browsers).
 */
async function withBrowserThreads<T>(threads: number, start: () => Promise<T>): Promise<T> {
  const nav = globalThis.navigator;
  const own = Object.getOwnPropertyDescriptor(nav, "hardwareConcurrency");
  Object.defineProperty(nav, "hardwareConcurrency", { value: 2 * threads, configurable: true });
  try {
    return await start();
  } finally {
    if (own) Object.defineProperty(nav, "hardwareConcurrency", own);
    else delete (nav as { hardwareConcurrency?: number }).hardwareConcurrency;
  }
}

async function startModule(threads: number): Promise<BackendWasm> {
  if (!packageFactory) throw new Error("@tensorflow/tfjs-backend-wasm registered no 'wasm' backend factory");
  const browser = inBrowser();
  try {
    if (!browser) wasmPackage.setWasmPaths(distDir());
  } catch {
    // Set already by an earlier start (tfjs refuses a second call after a failed start).
  }
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", threads > 1);
  wasmPackage.setThreadsCount(threads);
  const start = async () => (await packageFactory()) as BackendWasm;
  const backend =
    threads === 1
      ? await start()
      : browser
        ? await withBrowserThreads(threads, start)
        : await withThreadedStartPatches(threads, start);
  unrefWorkers(backend.wasm);
  return backend;
}

async function factory(): Promise<BackendWasm> {
  // Before tfjs sets the backend up: it runs the registered kernels' setup functions then.
  const kernels = registerWasmKernels();
  const requested = wanted;
  const threads = Math.min(Math.max(1, Math.floor(requested)), WASM_MAX_THREADS);
  let threadFallback: string | null = null;
  let backend: BackendWasm;
  try {
    backend = await startModule(threads);
  } catch (err) {
    if (threads === 1) {
      lastError = err;
      throw err;
    }
    threadFallback = `threaded SIMD build failed (${errorText(err)}); running single-threaded`;
    try {
      backend = await startModule(1);
    } catch (err2) {
      lastError = err2;
      throw err2;
    }
  }
  const simd = (await tf.env().getAsync("WASM_HAS_SIMD_SUPPORT")) === true;
  const threaded = threads > 1 && threadFallback === null;
  status = {
    threads: wasmPackage.getThreadsCount(),
    requestedThreads: requested,
    build: !simd
      ? "tfjs-backend-wasm.wasm"
      : threaded
        ? "tfjs-backend-wasm-threaded-simd.wasm"
        : "tfjs-backend-wasm-simd.wasm",
    kernels,
    threadFallback,
  };
  return backend;
}

function installFactory(): void {
  if (tf.findBackendFactory("wasm")) tf.removeBackend("wasm");
  tf.registerBackend("wasm", factory, WASM_PRIORITY);
}
installFactory();

function startedBackend(): BackendWasm | null {
  const registry = (tf.engine() as unknown as { registry: Record<string, tf.KernelBackend | undefined> })
    .registry;
  return (registry.wasm as BackendWasm | undefined) ?? null;
}

/** A different thread count was asked while the running wasm backend holds tensors. */
export class WasmThreadsInUseError extends Error {
  override name = "WasmThreadsInUseError";
}

/**
 * Makes wasm the active backend with `threads` threads (started once per thread count; when
 * undefined: the running count, or the number of cores at first start). Throws, with the reason,
 * if it cannot start, or if another thread count is running and holds tensors.
 */
export async function useWasm(threadsOption: number | undefined): Promise<WasmStatus> {
  const running = startedBackend();
  const threads = threadsOption ?? (running && status ? status.requestedThreads : coreCount());
  if (running && status && status.requestedThreads !== threads) {
    const held = running.numDataIds();
    if (held > 0) {
      throw new WasmThreadsInUseError(
        `selectBackend: option threads=${threads} asked, but the wasm backend runs with ` +
          `${status.requestedThreads} and holds ${held} tensor(s); dispose them (or call shutdownBackends()) ` +
          "before changing threads",
      );
    }
    stopWasm();
  }
  wanted = threads;
  lastError = null;
  const ok = await tf.setBackend("wasm");
  if (!ok || !status) {
    throw new Error(`wasm backend failed to start: ${lastError ? errorText(lastError) : "unknown reason"}`);
  }
  return status;
}

/** Disposes the wasm backend (its tensors and worker threads); a later useWasm starts it again. */
export function stopWasm(): void {
  if (startedBackend()) {
    tf.removeBackend("wasm");
    installFactory();
  }
  status = null;
}

/** Status of the started wasm backend, or null. */
export function wasmStatus(): WasmStatus | null {
  return startedBackend() ? status : null;
}
