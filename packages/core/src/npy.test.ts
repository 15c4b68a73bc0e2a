import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { encodeNpy } from "./npy.ts";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ul-npy-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const numpy = spawnSync("python3", ["-c", "import numpy"]).status === 0;

describe(".npy files", () => {
  test("the header is version 1.0, 64-byte aligned, and names dtype and shape; a wrong shape is an error", () => {
    const b = encodeNpy(new Float32Array(6), [2, 3]);
    expect(Array.from(b.subarray(0, 8))).toEqual([0x93, 78, 85, 77, 80, 89, 1, 0]);
    const len = b[8]! + 256 * b[9]!;
    expect((10 + len) % 64).toBe(0);
    expect(new TextDecoder().decode(b.subarray(10, 10 + len))).toMatch(
      /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(2, 3\), \} *\n$/,
    );
    expect(b.length).toBe(10 + len + 24);
    expect(() => encodeNpy(new Int32Array(5), [2, 3])).toThrow("shape [2, 3] holds 6 values, not 5");
  });

  test.skipIf(!numpy)(
    `numpy loads them with their values (${numpy ? "numpy found" : "skipped: python3 with numpy not found"})`,
    () => {
      const f = Float32Array.from({ length: 24 }, (_, i) => (i - 7) / 3);
      const n = Int32Array.from([-2, 0, 7, 2 ** 31 - 1]);
      fs.writeFileSync(path.join(tmp, "f.npy"), encodeNpy(f, [2, 3, 4]));
      fs.writeFileSync(path.join(tmp, "n.npy"), encodeNpy(n, [4]));
      const script =
        "import numpy as np, sys, json; a = np.load(sys.argv[1]); b = np.load(sys.argv[2]); " +
        "print(json.dumps([str(a.dtype), a.shape, a.ravel().tolist(), str(b.dtype), b.shape, b.tolist()]))";
      const r = spawnSync("python3", ["-c", script, path.join(tmp, "f.npy"), path.join(tmp, "n.npy")], {
        encoding: "utf8",
      });
      expect(r.stderr).toBe("");
      const [fd, fs_, fv, nd, ns, nv] = JSON.parse(r.stdout);
      expect([fd, fs_, nd, ns]).toEqual(["float32", [2, 3, 4], "int32", [4]]);
      expect(fv).toEqual(Array.from(f));
      expect(nv).toEqual(Array.from(n));
    },
  );
});
