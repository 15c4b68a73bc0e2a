import { afterAll, describe, expect, spyOn, test } from "bun:test";
import path from "node:path";
import { CPU_KERNELS, OWN_KERNELS } from "../kernels/test-kernel-names.ts";
import { tf } from "../tf.ts";
import { formatBackendReport } from "./report.ts";
import { runtimeFacts } from "./runtime.ts";
import { availableBackends, currentBackend, selectBackend } from "./select.ts";
import { coreCount } from "./wasm.ts";
import { probeWebGpu } from "./webgpu.ts";

const FIXES = [
  "Conv2DBackpropFilter",
  "MaxPoolGrad",
  "Conv2DBackpropInput",
  "BatchMatMul",
  "Identity",
  "Sum",
  "Transpose",
  "Reverse",
  "Add",
  "Multiply",
];
afterAll(async () => {
  await selectBackend({ backend: "cpu", quiet: true });
});

describe("selectBackend: cpu, wasm and auto", () => {
  test("cpu: report fields", async () => {
    const r = await selectBackend({ backend: "cpu", quiet: true });
    expect(tf.getBackend()).toBe("cpu");
    expect(r).toMatchObject({
      backend: "cpu",
      threads: 1,
      adapter: null,
      wasmBuild: null,
      tfjsVersion: "4.22.0",
    });
    expect(r.tried).toEqual([{ backend: "cpu", ok: true, why: "plain JavaScript reference backend" }]);
    expect(r.kernels).toEqual(CPU_KERNELS);
    for (const k of CPU_KERNELS) expect(tf.getKernel(k, "cpu")).toBeDefined();
    expect(currentBackend()).toBe(r);
  });

  test("wasm: threaded SIMD build with the kernel fixes and our kernels, threads = cores by default", async () => {
    const r = await selectBackend({ backend: "wasm", quiet: true });
    expect(tf.getBackend()).toBe("wasm");
    expect(r.kernels).toEqual([...FIXES, ...OWN_KERNELS]);
    for (const k of OWN_KERNELS) expect(tf.getKernel(k, "wasm")).toBeDefined();
    const expected = Math.min(coreCount(), 8);
    expect(r.threads).toBe(expected);
    expect(r.wasmBuild).toBe(
      expected > 1 ? "tfjs-backend-wasm-threaded-simd.wasm" : "tfjs-backend-wasm-simd.wasm",
    );
    for (const k of FIXES) expect(tf.getKernel(k, "wasm")).toBeDefined();
  });

  test("switching back and forth is cheap and leaves the right backend active", async () => {
    await selectBackend({ backend: "wasm", quiet: true });
    const t0 = performance.now();
    for (let i = 0; i < 10; i++) {
      await selectBackend({ backend: "cpu", quiet: true });
      expect(tf.getBackend()).toBe("cpu");
      await selectBackend({ backend: "wasm", quiet: true });
      expect(tf.getBackend()).toBe("wasm");
    }
    const perCall = (performance.now() - t0) / 20;
    expect(perCall).toBeLessThan(50);
  });

  test("auto prefers a hardware adapter, else wasm; a software adapter never wins", async () => {
    const probe = await probeWebGpu();
    const r = await selectBackend({ backend: "auto", quiet: true });
    if (probe.adapter?.kind === "hardware") {
      expect(r.backend).toBe("webgpu");
      expect(r.softwareAdapter).toBe(false);
    } else {
      expect(r.backend).toBe("wasm");
      expect(r.tried[0]?.backend).toBe("webgpu");
      expect(r.tried[0]?.ok).toBe(false);
      if (probe.adapter?.kind === "software")
        expect(r.tried[0]?.why).toContain("software adapter never wins auto");
      expect(r.tried[1]).toMatchObject({ backend: "wasm", ok: true });
    }
  });
});

describe("selectBackend: webgpu, options and reporting", () => {
  test("explicit webgpu: accepts a software adapter and says so; refuses it on request", async () => {
    const probe = await probeWebGpu();
    if (!probe.adapter || probe.adapter.kind === "null") {
      await expect(selectBackend({ backend: "webgpu", quiet: true })).rejects.toThrow(/Available: wasm, cpu/);
      return;
    }
    const r = await selectBackend({ backend: "webgpu", quiet: true });
    expect(tf.getBackend()).toBe("webgpu");
    expect(r.softwareAdapter).toBe(probe.adapter.kind === "software");
    expect(r.adapter).toBe(probe.why);
    expect(r.kernels).toEqual(["Reverse", "GroupedConv2D"]);
    if (probe.adapter.kind === "software") {
      await selectBackend({ backend: "cpu", quiet: true });
      await expect(selectBackend({ backend: "webgpu", quiet: true, allowSoftware: false })).rejects.toThrow(
        /backend 'webgpu' cannot start: .*software adapter refused.*Available: wasm, cpu/,
      );
      expect(tf.getBackend()).toBe("cpu"); // the failed call left the active backend alone
    }
    await selectBackend({ backend: "cpu", quiet: true });
  });

  test("bad options name the option and what was expected", async () => {
    await expect(selectBackend({ backend: "gpu" as "cpu", quiet: true })).rejects.toThrow(
      "option backend must be one of auto | webgpu | wasm | cpu, got 'gpu'",
    );
    await expect(selectBackend({ backend: "wasm", threads: 0, quiet: true })).rejects.toThrow(
      "option threads must be an integer >= 1, got 0",
    );
  });

  test("another thread count is refused while wasm holds tensors", async () => {
    const r = await selectBackend({ backend: "wasm", quiet: true });
    const other = r.threads === 1 ? 2 : 1;
    const held = tf.zeros([3]);
    await expect(selectBackend({ backend: "wasm", threads: other, quiet: true })).rejects.toThrow(
      /^selectBackend: option threads=\d asked, but the wasm backend runs with \d+ and holds 1 tensor/,
    );
    held.dispose();
  });

  test("prints one report line to stderr unless quiet", async () => {
    const spy = spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      const r = await selectBackend({ backend: "cpu" });
      await selectBackend({ backend: "cpu", quiet: true });
      expect(spy).toHaveBeenCalledTimes(1);
      expect(String(spy.mock.calls[0]?.[0])).toBe(`[updates-leak] ${formatBackendReport(r)}\n`);
      expect(formatBackendReport(r)).not.toContain("\n");
    } finally {
      spy.mockRestore();
    }
  });

  test("availableBackends: cpu last, wasm present, active backend unchanged", async () => {
    await selectBackend({ backend: "cpu", quiet: true });
    const list = await availableBackends();
    expect(list.at(-1)).toBe("cpu");
    expect(list).toContain("wasm");
    expect(tf.getBackend()).toBe("cpu");
    const probe = await probeWebGpu();
    expect(list.includes("webgpu")).toBe(probe.adapter !== null && probe.adapter.kind !== "null");
  });
});

describe("runtimeFacts", () => {
  test("is frozen and records versions, CPU and the current report", async () => {
    const r = await selectBackend({ backend: "cpu", quiet: true });
    const facts = runtimeFacts();
    expect(Object.isFrozen(facts)).toBe(true);
    expect(Object.isFrozen(facts.tfjs)).toBe(true);
    expect(facts.tfjs.core).toBe("4.22.0");
    expect(facts.tfjs.wasm).toBe("4.22.0");
    expect(facts.bun).toBe(Bun.version);
    expect(facts.cores).toBeGreaterThan(0);
    expect(facts.backend).toEqual(r);
    expect(facts.backend).not.toBe(r); // a copy: later selections do not change recorded facts
    expect(() => {
      (facts as { cores: number }).cores = 0;
    }).toThrow();
  });
});

describe("process exit", () => {
  test("a script that ran wasm with threads exits by itself, without loading Dawn", async () => {
    const select = path.join(import.meta.dir, "select.ts");
    const code =
      `import { selectBackend } from ${JSON.stringify(select)};` +
      `import { tf } from ${JSON.stringify(path.join(import.meta.dir, "..", "tf.ts"))};` +
      `const r = await selectBackend({ backend: "wasm", threads: 2, quiet: true });` +
      `const a = tf.ones([64, 64]); const s = tf.sum(tf.matMul(a, a));` +
      `console.log(r.threads, (await s.data())[0], typeof navigator.gpu, tf.findBackendFactory("webgpu"));`;
    const child = Bun.spawn([process.execPath, "-e", code], { stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => child.kill(), 30_000);
    const exit = await child.exited;
    clearTimeout(timer);
    const out = await new Response(child.stdout).text();
    expect(exit).toBe(0);
    // ... and never loaded Dawn (no navigator.gpu, no webgpu backend registered).
    expect(out.trim()).toBe(`2 ${64 * 64 * 64} undefined null`);
  });
});
