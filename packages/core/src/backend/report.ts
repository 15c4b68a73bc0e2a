/**
 * The backend report (what selectBackend chose, why, and which kernels of ours it registered) and
 * its printable forms: one line for logs, and the text of an error.
 */

/**
 * A backend to ask `selectBackend` for; `auto` takes the first that starts of webgpu (hardware), wasm, cpu.
 */
export type BackendName = "auto" | "webgpu" | "wasm" | "cpu";
/** A backend that actually runs (what `auto` resolves to). */
export type ConcreteBackend = Exclude<BackendName, "auto">;

/** Every `BackendName`. */
export const BACKEND_NAMES: readonly BackendName[] = ["auto", "webgpu", "wasm", "cpu"];

/** One attempt made while selecting. */
export interface TriedBackend {
  backend: ConcreteBackend;
  ok: boolean;
  why: string;
}

/** What `selectBackend` chose and why, as recorded in every run's config.json. */
export interface BackendReport {
  backend: ConcreteBackend;
  /** Why this backend runs. */
  reason: string;
  /** Every backend tried, in order, with the outcome. */
  tried: TriedBackend[];
  /** The WebGPU adapter in use (description), or null off webgpu. */
  adapter: string | null;
  /** Whether the WebGPU adapter in use is software (lavapipe/llvmpipe); false off webgpu. */
  softwareAdapter: boolean;
  /** Compute threads: wasm's XNNPACK thread count; 1 for cpu and webgpu. */
  threads: number;
  /** The wasm binary running (on wasm), else null. */
  wasmBuild: string | null;
  /**
   * The kernels of ours registered for this backend (kernels/<backend>/register_all_kernels.ts),
   * in registration order: on wasm its fixes of tfjs-backend-wasm, then the kernels of our ops.
   */
  kernels: string[];
  /** tfjs-core version. */
  tfjsVersion: string;
  /** The runtime and its version, e.g. "deno 2.9.6" (a web page reports "browser"). */
  runtime: string;
  /**
   * Whether tensors can be read synchronously (`dataSync`) on this backend. Only webgpu started with
   * `syncReads: false` where the runtime has no synchronous GPU read (Deno) says false: there only
   * asynchronous reads (`data()`, the engine's `deltas`) work.
   */
  syncReads: boolean;
}

/** The message of anything thrown (tfjs rejects with plain objects too). */
export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (err && typeof err === "object" && "message" in err)
    return String((err as { message: unknown }).message);
  return String(err);
}

/**
 * One line, e.g.
 * `backend=wasm threads=2 build=tfjs-backend-wasm-threaded-simd.wasm tfjs=4.22.0 reason="..."
 *  tried=[webgpu: no (...); wasm: yes (...)]`
 */
export function formatBackendReport(r: BackendReport): string {
  const parts = [`backend=${r.backend}`];
  if (r.backend === "wasm") parts.push(`threads=${r.threads}`, `build=${r.wasmBuild ?? "?"}`);
  if (r.adapter !== null) parts.push(`adapter="${r.adapter}"`);
  if (!r.syncReads) parts.push("reads=async-only");
  parts.push(`runtime="${r.runtime}"`, `tfjs=${r.tfjsVersion}`, `reason="${r.reason}"`);
  const tried = r.tried.map((t) => `${t.backend}: ${t.ok ? "yes" : "no"} (${t.why})`).join("; ");
  parts.push(`tried=[${tried}]`);
  return parts.join(" ");
}
