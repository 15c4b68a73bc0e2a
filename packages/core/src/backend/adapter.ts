/**
 * Classifies a WebGPU adapter from its info: hardware, software (a CPU rasteriser such as Mesa's
 * lavapipe/llvmpipe or SwiftShader) or Dawn's Null adapter (returned when no usable driver
 * exists; it computes nothing). Pure: no Dawn needed.
 */

/** The fields of a GPUAdapterInfo (plus Dawn's numeric backendType/adapterType) we look at. */
export interface RawAdapterInfo {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
  /** Dawn's WGPUBackendType: 1 Null, 2 WebGPU, 3 D3D11, 4 D3D12, 5 Metal, 6 Vulkan, 7 OpenGL, 8 OpenGLES. */
  backendType?: number;
  /** Dawn's WGPUAdapterType: 1 discrete GPU, 2 integrated GPU, 3 CPU, 4 unknown. */
  adapterType?: number;
}

/**
 * What drives a WebGPU adapter: a GPU ("hardware"), a CPU rasteriser such as lavapipe ("software"), or Dawn's Null adapter, which computes nothing ("null").
 */
export type AdapterKind = "hardware" | "software" | "null";

/**
 * A WebGPU adapter as the backend report shows it: its kind and what the adapter says about itself.
 */
export interface AdapterFacts {
  kind: AdapterKind;
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** Graphics API behind the adapter, e.g. "vulkan" ("unknown" if not reported). */
  api: string;
  /** "discrete-gpu", "integrated-gpu", "cpu" or "unknown". */
  type: string;
}

const BACKEND_TYPES: Record<number, string> = {
  1: "null",
  2: "webgpu",
  3: "d3d11",
  4: "d3d12",
  5: "metal",
  6: "vulkan",
  7: "opengl",
  8: "opengles",
};
const ADAPTER_TYPES: Record<number, string> = {
  1: "discrete-gpu",
  2: "integrated-gpu",
  3: "cpu",
  4: "unknown",
};
const SOFTWARE_NAMES = /llvmpipe|lavapipe|softpipe|swiftshader|software|warp|basic render/i;

/** Classifies an adapter from its info. */
export function classifyAdapter(info: RawAdapterInfo): AdapterFacts {
  const api = BACKEND_TYPES[info.backendType ?? -1] ?? "unknown";
  const type = ADAPTER_TYPES[info.adapterType ?? -1] ?? "unknown";
  const text = [info.vendor, info.architecture, info.device, info.description].join(" ");
  let kind: AdapterKind = "hardware";
  if (api === "null" || /null-backend/i.test(text)) kind = "null";
  else if (type === "cpu" || info.isFallbackAdapter === true || SOFTWARE_NAMES.test(text)) kind = "software";
  return {
    kind,
    vendor: info.vendor ?? "",
    architecture: info.architecture ?? "",
    device: info.device ?? "",
    description: info.description ?? "",
    api,
    type,
  };
}

/** One-line description, e.g. "mesa llvmpipe-llvm-15-0-6-256-bits (software, vulkan)". */
export function describeAdapter(a: AdapterFacts): string {
  const name = [a.vendor, a.device || a.description || a.architecture].filter((s) => s !== "").join(" ");
  return `${name || "unnamed adapter"} (${a.kind}, ${a.api})`;
}
