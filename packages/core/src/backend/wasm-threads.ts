/**
 * Makes tfjs-backend-wasm's threaded SIMD build start under Bun, Node and Deno (written for Bun).
 *
 * tfjs turns threads off whenever `process.versions.node` exists (Bun has it), and three more
 * obstacles stand in the way once the flag is forced on:
 *  1. the pthread worker script is handed to `node:worker_threads` as a `blob:` URL, which Bun
 *     refuses. We write the worker source (exported by the package's
 *     `wasm-out/tfjs-backend-wasm-threaded-simd.worker.js`) to a real file, prefixed so that the
 *     worker loads the package's threaded-simd JS by absolute path, and answer
 *     `URL.createObjectURL` for JavaScript blobs with that file's path while the module starts;
 *  2. the C++ side caps the pool at min(8, cpus / 2), with cpus read from `os.cpus()`: while the
 *     module starts, `os.cpus()` reports 2 x the wanted thread count;
 *  3. `WASM_HAS_MULTITHREAD_SUPPORT` and `setThreadsCount` must be set before the backend starts
 *     (done by the caller, wasm.ts).
 * The emscripten glue also replaces `globalThis.Worker` with node's and adds process-wide
 * `uncaughtException` / `unhandledRejection` listeners that rethrow: both are undone here.
 * Finally its pthread workers would keep the process alive after the work is done: `unrefWorkers`.
 *
 * The worker file is the only file this package writes: a content-addressed cache file under the
 * OS temporary folder (written atomically, reused when present).
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";

const require = createRequire(import.meta.url);

/** The most threads the threaded build can run: its pool pre-spawns this many workers. */
export const WASM_MAX_THREADS = 8;

/** Absolute folder of the installed tfjs-backend-wasm package. */
export function wasmPackageDir(): string {
  return path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json"));
}

let workerFile: string | null = null;

/** Writes (once per content) the pthread worker script and returns its absolute path. */
export function threadedWorkerFile(): string {
  if (workerFile !== null) return workerFile;
  const outDir = path.join(wasmPackageDir(), "wasm-out");
  const threadedJs = path.join(outDir, "tfjs-backend-wasm-threaded-simd.js");
  const workerModule = path.join(outDir, "tfjs-backend-wasm-threaded-simd.worker.js");
  const contents = (require(workerModule) as { wasmWorkerContents?: unknown }).wasmWorkerContents;
  if (typeof contents !== "string") {
    throw new Error(`${workerModule}: expected an exported string 'wasmWorkerContents'`);
  }
  if (!fs.existsSync(threadedJs)) throw new Error(`${threadedJs}: threaded SIMD build not found`);
  // The worker receives the main script as a Blob and turns it into an object URL that it then
  // reads from disk: answer with the package's own threaded-simd JS. The exported source is a
  // template literal whose "\n" escapes became real newlines: restore them (tfjs does the same).
  // Deno's worker global has a getter-only `location`, which the glue assigns: shadow it with a
  // plain property first (a no-op under Bun and Node).
  const prelude =
    'try{Object.defineProperty(globalThis,"location",{value:undefined,writable:true,configurable:true})}catch(e){}\n' +
    `URL.createObjectURL=function(){return ${JSON.stringify(threadedJs)}};` +
    "URL.revokeObjectURL=function(){};\n";
  const source = prelude + contents.replace(/\n/g, "\\n");
  const hash = createHash("sha256").update(source).digest("hex").slice(0, 16);
  const dir = path.join(os.tmpdir(), `updates-leak-${os.userInfo().uid}`);
  const file = path.join(dir, `tfjs-wasm-threaded-simd-${hash}.worker.cjs`);
  if (!fs.existsSync(file)) {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, source, { mode: 0o600 });
    fs.renameSync(tmp, file);
  }
  workerFile = file;
  return file;
}

type Listener = (...args: unknown[]) => void;

/**
 * Runs `start` (which starts the threaded wasm module) with the patches above in place, and
 * undoes them afterwards, whether it succeeds or fails.
 */
export async function withThreadedStartPatches<T>(threads: number, start: () => Promise<T>): Promise<T> {
  const file = threadedWorkerFile();
  const osModule = require("node:os") as { cpus: () => os.CpuInfo[] };
  const realCpus = osModule.cpus;
  const realCreate = URL.createObjectURL;
  const realWorker = globalThis.Worker;
  const before = {
    uncaught: process.listeners("uncaughtException") as Listener[],
    rejection: process.listeners("unhandledRejection") as Listener[],
  };
  osModule.cpus = () => {
    const one = realCpus()[0];
    return Array.from({ length: 2 * threads }, () => one as os.CpuInfo);
  };
  URL.createObjectURL = ((obj: Blob) => {
    if (obj instanceof Blob && /javascript/.test(obj.type)) return file;
    return realCreate.call(URL, obj);
  }) as typeof URL.createObjectURL;
  try {
    return await start();
  } finally {
    osModule.cpus = realCpus;
    URL.createObjectURL = realCreate;
    globalThis.Worker = realWorker;
    removeAddedListeners("uncaughtException", before.uncaught);
    removeAddedListeners("unhandledRejection", before.rejection);
  }
}

function removeAddedListeners(event: "uncaughtException" | "unhandledRejection", before: Listener[]): void {
  for (const l of process.listeners(event) as Listener[]) {
    if (!before.includes(l)) process.removeListener(event, l);
  }
}

/** Emscripten's pthread bookkeeping, as far as we touch it. */
interface PThreadLike {
  runningWorkers: { unref?: () => void }[];
  unusedWorkers: { unref?: () => void }[];
}

/**
 * Lets the process exit while the pthread workers idle (emscripten tries this itself, but under
 * Bun the running pool workers stay referenced). Returns how many workers were seen.
 */
export function unrefWorkers(wasmModule: unknown): number {
  const pthread = (wasmModule as { PThread?: PThreadLike } | null)?.PThread;
  if (!pthread) return 0;
  const all = [...pthread.runningWorkers, ...pthread.unusedWorkers];
  for (const w of all) w.unref?.();
  return all.length;
}
