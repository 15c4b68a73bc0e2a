import { afterAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { cacheDir } from "@updates-leak/datasets";
import { nodeFileOps } from "./atomic.ts";
import {
  cacheFileName,
  decodeParams,
  defaultModelCacheDir,
  encodeParams,
  FileModelCache,
} from "./model-cache.ts";

const root = fs.mkdtempSync(path.join(os.tmpdir(), "ul-models-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function params(): Float32Array[] {
  const a = new Float32Array([1.5, -2.25, 3e-8, 3.4028234663852886e38]);
  const b = new Float32Array(0);
  const c = Float32Array.from({ length: 1001 }, (_, i) => Math.cos(i));
  return [a, b, c];
}

describe("FileModelCache", () => {
  test("put then get returns the same arrays bit for bit; missing keys are null", async () => {
    const cache = new FileModelCache({ dir: path.join(root, "a") });
    expect(await cache.get("mnist-shadow-seed1")).toBeNull();
    await cache.put("mnist-shadow-seed1", params());
    const got = await cache.get("mnist-shadow-seed1");
    expect(got?.map((p) => Array.from(p))).toEqual(params().map((p) => Array.from(p)));
    expect(fs.readdirSync(cache.dir)).toEqual(["mnist-shadow-seed1.bin"]);
  });

  test("keys with other characters are hashed; the stored key is checked", async () => {
    expect(cacheFileName("ok.key_1-2")).toBe("ok.key_1-2.bin");
    expect(cacheFileName("a/b c")).toMatch(/^[0-9a-f]{64}\.bin$/);
    expect(cacheFileName("../x")).toMatch(/^[0-9a-f]{64}\.bin$/);
    const bytes = encodeParams("k1", params());
    expect(() => decodeParams(bytes, "k2")).toThrow('file holds key "k1", not "k2"');
  });

  test("a corrupt or truncated file is a miss with a warning, never wrong numbers", async () => {
    const warnings: string[] = [];
    const cache = new FileModelCache({ dir: path.join(root, "b"), onWarn: (m) => warnings.push(m) });
    await cache.put("k", params());
    const file = cache.fileFor("k");
    const bytes = fs.readFileSync(file);
    bytes[60]! ^= 0x10;
    fs.writeFileSync(file, bytes);
    expect(await cache.get("k")).toBeNull();
    expect(warnings[0]).toContain("checksum mismatch");
    fs.writeFileSync(file, bytes.subarray(0, 20));
    expect(await cache.get("k")).toBeNull();
    expect(warnings[1]).toContain("file too short");
    await cache.put("k", params());
    expect((await cache.get("k"))?.length).toBe(3);
  });

  test("a failed put leaves the previous entry intact", async () => {
    const dir = path.join(root, "c");
    await new FileModelCache({ dir }).put("k", params());
    const failing = new FileModelCache({
      dir,
      ops: {
        ...nodeFileOps,
        writeSync: () => {
          throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
        },
      },
    });
    await expect(failing.put("k", [new Float32Array([9])])).rejects.toThrow("disk full (ENOSPC)");
    const got = await new FileModelCache({ dir }).get("k");
    expect(got?.[2]?.length).toBe(1001);
    expect(fs.readdirSync(dir)).toEqual(["k.bin"]);
  });
});

describe("defaultModelCacheDir", () => {
  test("<cache root>/models, the root shared with the data cache; UPDATES_LEAK_CACHE moves both", () => {
    const envs = [
      { HOME: "/h" },
      { HOME: "/h", XDG_CACHE_HOME: "/x" },
      { HOME: "/h", XDG_CACHE_HOME: "/x", UPDATES_LEAK_CACHE: "/c/ul" },
    ];
    expect(envs.map((env) => defaultModelCacheDir(env))).toEqual([
      "/h/.cache/updates-leak/models",
      "/x/updates-leak/models",
      "/c/ul/models",
    ]);
    for (const env of envs) expect(path.dirname(defaultModelCacheDir(env))).toBe(cacheDir({ env }));
  });
});
