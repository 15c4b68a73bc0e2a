/**
 * Printable forms of a backend report: one line for logs, and the text of an error.
 */
import type { BackendReport } from "./select.ts";

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
  parts.push(`tfjs=${r.tfjsVersion}`, `reason="${r.reason}"`);
  const tried = r.tried.map((t) => `${t.backend}: ${t.ok ? "yes" : "no"} (${t.why})`).join("; ");
  parts.push(`tried=[${tried}]`);
  return parts.join(" ");
}
