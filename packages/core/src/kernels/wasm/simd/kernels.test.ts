import { describe, expect, test } from "bun:test";
import { assembleSimdKernels } from "./assemble.ts";
import { SHARED_WASM_BASE64, UNSHARED_WASM_BASE64 } from "./kernels.wasm.ts";

describe("hand-written SIMD kernels (kernels.wat)", () => {
  test("kernels.wasm.ts is kernels.wat assembled (else run `npm run gen:simd`)", async () => {
    const wat = await Bun.file(new URL("./kernels.wat", import.meta.url)).text();
    const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
    expect(b64(await assembleSimdKernels(wat, "shared"))).toBe(SHARED_WASM_BASE64);
    expect(b64(await assembleSimdKernels(wat, "unshared"))).toBe(UNSHARED_WASM_BASE64);
  });

  test("both binaries are valid WebAssembly and import one memory of their kind", () => {
    for (const [b64, shared] of [
      [SHARED_WASM_BASE64, true],
      [UNSHARED_WASM_BASE64, false],
    ] as const) {
      const bytes = Buffer.from(b64, "base64");
      expect(WebAssembly.validate(bytes)).toBe(true);
      const mod = new WebAssembly.Module(bytes);
      expect(WebAssembly.Module.imports(mod)).toEqual([{ module: "env", name: "memory", kind: "memory" }]);
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 16, shared });
      expect(() => new WebAssembly.Instance(mod, { env: { memory } })).not.toThrow();
    }
  });

  test("a .wat without the memory placeholder is refused with the line to write", async () => {
    await expect(assembleSimdKernels("(module)", "shared")).rejects.toThrow("(memory MEMORY_TYPE)");
  });
});

describe("the SIMD kernels on the single-threaded wasm build (its own, unshared memory)", () => {
  test("Transpose, Reverse, Add, Multiply, MaxPoolGrad and Sum give cpu's bits, the conv block JavaScript's, under --threads 1", async () => {
    // A fresh process: the wasm build is fixed once the backend has started.
    const script = `
      import { selectBackend, tf } from "@updates-leak/core";
      import { sameBits } from "${new URL("../../../backend/compare.ts", import.meta.url).pathname}";
      import { sumMiddle } from "${new URL("../Sum.ts", import.meta.url).pathname}";
      import * as cp from "${new URL("../conv-pool.ts", import.meta.url).pathname}";
      import { simdKernels } from "${new URL("./instance.ts", import.meta.url).pathname}";
      const r = await selectBackend({ backend: "wasm", threads: 1, quiet: true });
      const w = tf.backend().wasm;
      const run = () => {
        const x = tf.tensor(Float32Array.from({ length: 2 * 6 * 8 * 10 }, (_, i) => Math.sin(i * 1.7) * 3), [2, 6, 8, 10]);
        const dy = tf.tensor(Float32Array.from({ length: 2 * 3 * 4 * 10 }, (_, i) => Math.cos(i)), [2, 3, 4, 10]);
        const attrs = { filterSize: [2, 2], strides: [2, 2], pad: "valid" };
        return [
          tf.transpose(x, [0, 2, 1, 3]),
          tf.reverse(x, 1),
          tf.add(x, tf.ones([2, 1, 1, 10])),
          tf.mul(x, tf.fill([2, 1, 1, 10], 0.5)),
          tf.engine().runKernel("MaxPoolGrad", { dy, input: x, output: dy }, attrs),
        ].map((t) => t.dataSync().slice());
      };
      // Sum over a middle axis against float32 additions in order (cpu adds in float64).
      const xs = tf.tensor(Float32Array.from({ length: 2 * 48 * 10 }, (_, i) => Math.sin(i * 0.3) * 7), [2, 48, 10]);
      const sumWant = new Float32Array(20);
      sumMiddle(xs.dataSync(), 2, 48, 10, sumWant);
      const sumSame = sameBits(tf.sum(xs, 1).dataSync(), sumWant);
      // The conv block: the pool, and the gradient's register and general paths, against JavaScript.
      const wave = (n, f) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * f) * 2);
      const z = tf.tensor(wave(2 * 8 * 8 * 6, 0.9), [2, 8, 8, 6]);
      const y = tf.zeros([2, 4, 4, 6]), idx = tf.zeros([2, 4, 4, 6], "int32");
      const at = (t) => tf.backend().getMemoryOffset(t.dataId);
      simdKernels(tf.backend()).poolReluMask2x2(at(z), 0, at(y), at(idx), 2, 4, 4, 6);
      const yWant = new Float32Array(y.size), idxWant = new Int32Array(y.size);
      cp.poolReluMaskJs(z.dataSync(), null, yWant, idxWant, 2, 4, 4, 6);
      const blockSame = [sameBits(y.dataSync(), yWant) && idx.dataSync().every((v, i) => v === idxWant[i])];
      // The probes' pool, three models regrouped.
      const zr = tf.tensor(wave(2 * 8 * 8 * 18, 0.9), [2, 8, 8, 18]);
      const yr = tf.zeros([6, 4, 4, 6]), tr = tf.zeros([18]);
      simdKernels(tf.backend()).poolReluRegroup2x2(at(zr), at(yr), at(tr), 2, 4, 4, 3, 6, 4 * 192);
      const yrWant = new Float32Array(yr.size);
      cp.poolReluRegroupJs(zr.dataSync(), yrWant, 2, 4, 4, 3, 6, 192);
      blockSame.push(sameBits(yr.dataSync(), yrWant));
      for (const [C, inputGrad] of [[1, false], [3, true]]) {
        const d = { G: 2, B: 1, H: 12, W: 12, C, k: 5, O: 6 };
        const x = wave(2 * 12 * 12 * C, 0.37), w = wave(2 * 25 * C * 6, 0.21);
        const inputs = { dy: tf.tensor(wave(192, 1.3), [2, 4, 4, 6]), y: tf.tensor(wave(192, 0.7), [2, 4, 4, 6]), idx: tf.tensor(Int32Array.from({ length: 192 }, (_, i) => (i * 7) % 4), [2, 4, 4, 6], "int32"), x: tf.tensor(x, [2, 12, 12, C]), w: tf.tensor(w, [2, 5, 5, C, 6]) };
        const got = tf.engine().runKernel("GroupedConvPoolGrad", inputs, { inputGrad });
        const wT = new Float32Array(w.length), dwT = new Float32Array(w.length), db = new Float32Array(12), dx = inputGrad ? new Float32Array(x.length) : null;
        cp.transposeFilters(w, d, wT);
        cp.convPoolGradJs(d, inputs.dy.dataSync(), inputs.y.dataSync(), inputs.idx.dataSync(), x, null, wT, dwT, db, dx);
        const dw = new Float32Array(w.length);
        cp.untransposeFilters(dwT, d, dw);
        blockSame.push([dw, db, ...(dx ? [dx] : [])].every((want, i) => sameBits(got[i].dataSync(), want)));
      }
      const got = run();
      await selectBackend({ backend: "cpu", quiet: true });
      const want = run();
      console.log(JSON.stringify({ build: r.wasmBuild, shared: w.wasmMemory !== undefined, same: [...got.map((g, i) => sameBits(g, want[i])), sumSame, ...blockSame] }));
    `;
    const proc = Bun.spawnSync(["bun", "-e", script], { cwd: import.meta.dir, stderr: "pipe" });
    const out = proc.stdout.toString().trim();
    expect(proc.stderr.toString()).not.toContain("error");
    expect(JSON.parse(out.split("\n").pop()!)).toEqual({
      build: "tfjs-backend-wasm-simd.wasm",
      shared: false,
      same: [true, true, true, true, true, true, true, true, true, true],
    });
  });
});
