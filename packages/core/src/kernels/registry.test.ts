import { describe, expect, test } from "bun:test";
import path from "node:path";
import { tf } from "../tf.ts";
import { type KernelBackend, registeredKernels, registerKernels } from "./registry.ts";
import { CPU_KERNELS, OWN_KERNELS } from "./test-kernel-names.ts";

describe("kernel registry", () => {
  test("importing the whole package registers no kernel of ours; starting a backend does", async () => {
    // A fresh process: this test process may have started backends already.
    const index = path.join(import.meta.dir, "..", "index.ts");
    const code =
      `import { selectBackend, shutdownBackends, tf } from ${JSON.stringify(index)};` +
      `const own = ${JSON.stringify(OWN_KERNELS)};` +
      `const has = (b) => own.filter((k) => tf.getKernel(k, b) !== undefined);` +
      `const before = { wasm: has("wasm"), cpu: has("cpu") };` +
      `const r = await selectBackend({ backend: "wasm", threads: 1, quiet: true });` +
      `const after = { wasm: has("wasm"), cpu: has("cpu"), report: r.kernels.length };` +
      `await shutdownBackends();` +
      `console.log(JSON.stringify({ before, after }));`;
    const child = Bun.spawn([process.execPath, "-e", code], { stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => child.kill(), 60_000);
    const exit = await child.exited;
    clearTimeout(timer);
    const out = await new Response(child.stdout).text();
    expect(exit, await new Response(child.stderr).text()).toBe(0);
    expect(JSON.parse(out)).toEqual({
      before: { wasm: [], cpu: [] },
      // 10 fixes of tfjs-backend-wasm's kernels + our 9.
      after: { wasm: OWN_KERNELS, cpu: CPU_KERNELS, report: 19 },
    });
  });

  test("registers once per backend, replacing a kernel of the same name, and refuses a wrong backend", () => {
    // A backend name of its own, so that no real backend's registration is marked done here.
    const backend = "registry-test" as KernelBackend;
    const name = "RegistryTestKernel";
    const first = () => ({}) as tf.TensorInfo;
    tf.registerKernel({ kernelName: name, backendName: backend, kernelFunc: () => ({}) as tf.TensorInfo });
    const wrong = { kernelName: "X", backendName: "wasm", kernelFunc: first };
    expect(() => registerKernels(backend, () => [wrong])).toThrow(
      "registerKernels: kernel 'X' is for backend 'wasm', not 'registry-test'",
    );
    expect(registeredKernels(backend)).toEqual([]);
    let calls = 0;
    const config = { kernelName: name, backendName: backend, kernelFunc: first };
    const names = registerKernels(backend, () => {
      calls++;
      return [config];
    });
    expect(names).toEqual([name]);
    expect(tf.getKernel(name, backend)?.kernelFunc).toBe(first); // replaced the one registered above
    expect(registerKernels(backend, () => [])).toEqual([name]); // once: the second list is not asked for
    expect(calls).toBe(1);
    expect(registeredKernels(backend)).toEqual([name]);
    tf.unregisterKernel(name, backend);
  });
});
