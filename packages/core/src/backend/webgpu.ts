/**
 * The webgpu backend under Bun: `bun-webgpu` (Dawn) provides `navigator.gpu`, and we register
 * tfjs-backend-webgpu's WebGPUBackend with our own factory, because tfjs's own registers only if
 * `navigator.gpu` exists when it is imported and fails under bun-webgpu (it asks for features as a
 * nested array, and bun-webgpu validates every limit against the adapter). Ours requests the
 * device with the adapter's own limits and no optional features. tfjs also tests
 * `instanceof GPUBuffer / GPUTexture`, globals bun-webgpu lacks: we take them from a created
 * buffer's and texture's constructors. Synchronous reads go through webgpu-read-sync.ts (tfjs's
 * own needs OffscreenCanvas).
 *
 * Both packages are imported lazily (dynamic import) so that wasm/cpu users never load Dawn. The
 * adapter is probed once per process and the device made once.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { registerWebGpuKernels } from "../kernels/webgpu/register_all_kernels.ts";
import { inBrowser, runtimeName } from "../platform.ts";
import { tf } from "../tf.ts";
import { type AdapterFacts, classifyAdapter, describeAdapter, type RawAdapterInfo } from "./adapter.ts";
import { errorText } from "./report.ts";
import { installSyncRead } from "./webgpu-read-sync.ts";

/** The few WebGPU shapes we touch (kept local: bun-webgpu's typings rewrite global types). */
interface Gpu {
  requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapter | null>;
  /** bun-webgpu internals: runs Dawn's pending callbacks (wgpuInstanceProcessEvents). */
  _ticker?: { processEvents(): void };
}
interface GpuAdapter {
  info: RawAdapterInfo;
  limits: Record<string, unknown>;
  requestDevice(descriptor: {
    requiredLimits: Record<string, number>;
    requiredFeatures: string[];
  }): Promise<GpuDevice>;
}
interface GpuDevice {
  createBuffer(d: { size: number; usage: number }): { constructor: unknown; destroy(): void };
  createTexture(d: { size: number[]; format: string; usage: number }): {
    constructor: unknown;
    destroy(): void;
  };
  destroy?: () => void;
}
interface BunWebGpu {
  createGPUInstance(libPath?: string): Gpu;
  globals(): void;
}
interface TfjsWebGpu {
  WebGPUBackend: new (device: GpuDevice, adapterInfo?: unknown) => tf.KernelBackend;
}

/** Result of looking for an adapter. */
export interface WebGpuProbe {
  adapter: AdapterFacts | null;
  /** Why there is no usable adapter, or a description of it. */
  why: string;
  /**
   * Why the backend cannot start on this adapter in this runtime (no synchronous read), or null
   * when it can.
   */
  refusal: string | null;
}

const WEBGPU_PRIORITY = 0; // below cpu's 1, as for wasm (see wasm.ts)
// Held in a variable: resolved at run time, not by the type checker or a bundler (it is Bun-only).
const BUN_WEBGPU = "bun-webgpu";

interface ProbeResult {
  gpu: Gpu | null;
  adapter: GpuAdapter | null;
  facts: AdapterFacts | null;
  why: string;
}

let probe: Promise<ProbeResult> | null = null;
let device: GpuDevice | null = null;
let registered = false;

/** Points XDG_RUNTIME_DIR at a private folder if unset (the Vulkan stack warns otherwise). */
function ensureRuntimeDir(): void {
  if (inBrowser() || process.env.XDG_RUNTIME_DIR) return;
  const dir = path.join(os.tmpdir(), `updates-leak-${os.userInfo().uid}`, "xdg-runtime");
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dir, 0o700);
  process.env.XDG_RUNTIME_DIR = dir;
}

function installNavigatorGpu(gpu: Gpu): void {
  const g = globalThis as { navigator?: object };
  if (!g.navigator) g.navigator = {};
  if (!(g.navigator as { gpu?: unknown }).gpu) {
    Object.defineProperty(g.navigator, "gpu", { value: gpu, configurable: true, enumerable: true });
  }
}

function noGpu(why: string): ProbeResult {
  return { gpu: null, adapter: null, facts: null, why: `WebGPU unavailable: ${why}` };
}

async function probeOnce(): Promise<ProbeResult> {
  try {
    ensureRuntimeDir();
    // Deno and browsers have their own navigator.gpu; Bun gets one from bun-webgpu (Dawn).
    let gpu = (globalThis as { navigator?: { gpu?: Gpu } }).navigator?.gpu;
    if (gpu === undefined) {
      if (runtimeName() !== "bun")
        return noGpu(`${inBrowser() ? "this browser" : runtimeName()} has no navigator.gpu`);
      let bunWebGpu: BunWebGpu;
      try {
        bunWebGpu = (await import(BUN_WEBGPU)) as BunWebGpu;
      } catch (err) {
        return noGpu(
          `${errorText(err)} (under Bun, WebGPU comes from the optional package bun-webgpu: npm i bun-webgpu)`,
        );
      }
      gpu = bunWebGpu.createGPUInstance();
      installNavigatorGpu(gpu);
      bunWebGpu.globals();
    }
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    if (!adapter) return { gpu, adapter: null, facts: null, why: "no WebGPU adapter found" };
    const facts = classifyAdapter(adapter.info);
    return { gpu, adapter, facts, why: describeAdapter(facts) };
  } catch (err) {
    return noGpu(errorText(err));
  }
}

/** Whether an OffscreenCanvas with a 2d context exists (tfjs's synchronous WebGPU read needs one). */
function canvas2dAvailable(): boolean {
  const C = (
    globalThis as { OffscreenCanvas?: new (w: number, h: number) => { getContext(k: string): unknown } }
  ).OffscreenCanvas;
  try {
    return C !== undefined && new C(1, 1).getContext("2d") != null;
  } catch {
    return false;
  }
}

/** Finds the WebGPU adapter (once per process; loads Dawn on first call). */
export async function probeWebGpu(): Promise<WebGpuProbe> {
  probe ??= probeOnce();
  const p = await probe;
  return { adapter: p.facts, why: p.why, refusal: p.adapter ? syncReadRefusal(p) : null };
}

/** Why tfjs could not read WebGPU tensors synchronously here, or null when it can. */
function syncReadRefusal(p: ProbeResult): string | null {
  // tfjs reads synchronously (dataSync) through an OffscreenCanvas 2d context; bun-webgpu's event
  // pump stands in for it under Bun. Deno has neither, and the engine reads synchronously.
  if (p.gpu!._ticker !== undefined || canvas2dAvailable()) return null;
  return `${p.why}: found, but ${runtimeName()} has no synchronous WebGPU read (no OffscreenCanvas 2d context), which this caller needs; use wasm (the engine alone runs here with selectBackend({ syncReads: false }))`;
}

function adapterLimits(adapter: GpuAdapter): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const key in adapter.limits) {
    const v = adapter.limits[key];
    if (typeof v === "number" && (key.startsWith("max") || key.startsWith("min"))) limits[key] = v;
  }
  return limits;
}

/** A readSync for runtimes with no synchronous GPU read: says what to do instead of tfjs's error. */
function refuseSyncRead(backend: tf.KernelBackend): void {
  const b = backend as unknown as {
    readSync(dataId: object): unknown;
    tensorMap: { get(id: object): { values: unknown } };
  };
  const original = b.readSync.bind(b);
  b.readSync = (dataId: object) => {
    if (b.tensorMap.get(dataId)?.values != null) return original(dataId); // already on the host
    throw new Error(
      `webgpu under ${runtimeName()}: no synchronous read (dataSync, arraySync) here; read with data() or array(), or select wasm (selectBackend({ syncReads: true }) refuses webgpu here)`,
    );
  };
}

async function registerOnce(gpu: Gpu, adapter: GpuAdapter): Promise<void> {
  if (registered) return;
  const requestedDevice = await adapter.requestDevice({
    requiredLimits: adapterLimits(adapter),
    requiredFeatures: [],
  });
  const buffer = requestedDevice.createBuffer({ size: 16, usage: 0x0008 | 0x0080 }); // COPY_DST | STORAGE
  const texture = requestedDevice.createTexture({ size: [1, 1], format: "rgba8unorm", usage: 0x04 }); // TEXTURE_BINDING
  const g = globalThis as Record<string, unknown>;
  g.GPUBuffer ??= buffer.constructor;
  g.GPUTexture ??= texture.constructor;
  buffer.destroy();
  texture.destroy();
  const tfjsWebGpu = (await import("@tensorflow/tfjs-backend-webgpu")) as unknown as TfjsWebGpu;
  registerWebGpuKernels();
  device = requestedDevice;
  if (tf.findBackendFactory("webgpu")) tf.removeBackend("webgpu");
  const ticker = gpu._ticker;
  const factory = () => {
    const backend = new tfjsWebGpu.WebGPUBackend(requestedDevice, adapter.info);
    if (ticker) installSyncRead(backend, () => ticker.processEvents());
    else if (!canvas2dAvailable()) refuseSyncRead(backend);
    return backend;
  };
  tf.registerBackend("webgpu", factory, WEBGPU_PRIORITY);
  registered = true;
}

/**
 * Makes webgpu the active backend. Refuses Dawn's Null adapter always, a software adapter unless
 * `allowSoftware` (else throws `softwareRefusal`), and a runtime without synchronous reads when
 * `needSyncReads`. Throws with the reason; returns the adapter and whether reads can be synchronous.
 */
export async function useWebGpu(
  allowSoftware: boolean,
  softwareRefusal: string,
  needSyncReads = true,
): Promise<{ facts: AdapterFacts; syncReads: boolean }> {
  probe ??= probeOnce();
  const p = await probe;
  if (!p.adapter || !p.facts) throw new Error(p.why);
  if (p.facts.kind === "null")
    throw new Error(`only Dawn's Null adapter found (no usable GPU driver): ${p.why}`);
  if (p.facts.kind === "software" && !allowSoftware) {
    throw new Error(`${p.why}: ${softwareRefusal}`);
  }
  const refusal = syncReadRefusal(p);
  if (refusal !== null && needSyncReads) throw new Error(refusal);
  await registerOnce(p.gpu!, p.adapter);
  const ok = await tf.setBackend("webgpu");
  if (!ok) throw new Error(`tfjs webgpu backend failed to start on ${p.why}`);
  return { facts: p.facts, syncReads: refusal === null };
}

/** Whether the webgpu backend has been started in this process. */
export function webGpuStarted(): boolean {
  const registry = (tf.engine() as unknown as { registry: Record<string, unknown> }).registry;
  return registry.webgpu != null;
}

/** Disposes the webgpu backend and its device; a later useWebGpu makes a new device. */
export function stopWebGpu(): void {
  if (registered && tf.findBackendFactory("webgpu")) tf.removeBackend("webgpu");
  registered = false;
  device?.destroy?.();
  device = null;
  probe = null; // an adapter gives one device: the next start asks for a new adapter
}
