/**
 * Backend selection: `auto | webgpu | wasm | cpu`.
 * PLACEHOLDER (first cut): cpu and wasm (SIMD, single thread) only. The backend work
 * (threads, kernel fixes, WebGPU) replaces the internals; the signature stays.
 */
import path from "node:path";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { tf } from "../tf.ts";

export type BackendName = "auto" | "webgpu" | "wasm" | "cpu";

export interface BackendReport {
  backend: Exclude<BackendName, "auto">;
  reason: string;
  tried: { backend: string; ok: boolean; why: string }[];
  adapter: string | null;
  threads: number;
}

export interface SelectOptions {
  backend?: BackendName;
  threads?: number;
  quiet?: boolean;
}

let current: BackendReport | null = null;

export function currentBackend(): BackendReport | null {
  return current;
}

export async function selectBackend(opts: SelectOptions = {}): Promise<BackendReport> {
  const want = opts.backend ?? "auto";
  const tried: BackendReport["tried"] = [];
  if (want === "wasm" || want === "auto") {
    const dir = `${path.dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json"))}/dist/`;
    setWasmPaths(dir);
    const ok = await tf.setBackend("wasm");
    tried.push({ backend: "wasm", ok, why: ok ? "SIMD build loaded" : "failed to initialise" });
    if (ok) {
      current = { backend: "wasm", reason: "wasm SIMD", tried, adapter: null, threads: 1 };
      return current;
    }
    if (want === "wasm") throw new Error("backend wasm could not start; available: cpu");
  }
  await tf.setBackend("cpu");
  tried.push({ backend: "cpu", ok: true, why: "reference backend" });
  current = { backend: "cpu", reason: "cpu", tried, adapter: null, threads: 1 };
  return current;
}
