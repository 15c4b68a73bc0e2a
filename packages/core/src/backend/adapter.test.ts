import { describe, expect, test } from "bun:test";
import { classifyAdapter, describeAdapter } from "./adapter.ts";

describe("classifyAdapter", () => {
  test("lavapipe (as bun-webgpu reports it) is software", () => {
    const a = classifyAdapter({
      vendor: "mesa",
      architecture: "software",
      device: "llvmpipe-llvm-15-0-6-256-bits",
      description: "llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1",
      backendType: 6,
      adapterType: 3,
      isFallbackAdapter: false,
    });
    expect(a.kind).toBe("software");
    expect(a.api).toBe("vulkan");
    expect(describeAdapter(a)).toBe("mesa llvmpipe-llvm-15-0-6-256-bits (software, vulkan)");
  });

  test("Dawn's Null adapter is null", () => {
    const a = classifyAdapter({ vendor: "", device: "null-backend", backendType: 1, adapterType: 3 });
    expect(a.kind).toBe("null");
  });

  test("a discrete NVIDIA GPU is hardware", () => {
    const a = classifyAdapter({
      vendor: "nvidia",
      architecture: "hopper",
      device: "nvidia-h200",
      backendType: 6,
      adapterType: 1,
    });
    expect(a.kind).toBe("hardware");
    expect(a.type).toBe("discrete-gpu");
  });

  test("a CPU adapter type or fallback flag is software even with an unknown name", () => {
    expect(classifyAdapter({ vendor: "x", device: "y", backendType: 6, adapterType: 3 }).kind).toBe(
      "software",
    );
    expect(
      classifyAdapter({ vendor: "x", device: "y", backendType: 6, adapterType: 1, isFallbackAdapter: true })
        .kind,
    ).toBe("software");
    expect(
      classifyAdapter({ vendor: "google", device: "swiftshader-device", backendType: 6, adapterType: 4 })
        .kind,
    ).toBe("software");
  });
});
