/**
 * Regenerates packages/core/src/kernels/wasm/simd/kernels.wasm.ts from kernels.wat (both memory
 * variants, base64). Run after editing the .wat: `npm run gen:simd`. kernels.test.ts checks that
 * the committed file matches the source.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { moduleDir } from "@updates-leak/core/platform";
import { assembleSimdKernels } from "@updates-leak/core/simd-assemble";
import { writeFileAtomic } from "./atomic.ts";

const dir = resolve(moduleDir(import.meta.url), "../../packages/core/src/kernels/wasm/simd");
const wat = readFileSync(`${dir}/kernels.wat`, "utf8");
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
const shared = await assembleSimdKernels(wat, "shared");
const unshared = await assembleSimdKernels(wat, "unshared");
const text = `// Generated from kernels.wat by \`npm run gen:simd\` (tools/src/gen-simd.ts). Do not edit.
export const SHARED_WASM_BASE64 =
  "${b64(shared)}";
export const UNSHARED_WASM_BASE64 =
  "${b64(unshared)}";
`;
writeFileAtomic(`${dir}/kernels.wasm.ts`, text);
console.log(`kernels.wasm.ts: ${shared.length} + ${unshared.length} bytes`);
