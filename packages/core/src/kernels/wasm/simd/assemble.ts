/**
 * Assembles kernels.wat into the two binaries kernels.wasm.ts holds: one importing a shared
 * memory (the backend's threaded build) and one importing a plain memory. Used by the generator
 * (`npm run gen:simd`, tools/src/gen-simd.ts) and by kernels.test.ts; never at run time (wabt is
 * a development dependency).
 */
import wabtInit from "wabt";

/** The memory type written in place of `MEMORY_TYPE` in the .wat, per variant. */
export const MEMORY_TYPES = { shared: "1 65536 shared", unshared: "1" } as const;
export type MemoryKind = keyof typeof MEMORY_TYPES;

const FEATURES = { simd: true, threads: true };

/** The binary of `wat` for a memory of `kind`; throws wabt's message (file:line:col) if invalid. */
export async function assembleSimdKernels(wat: string, kind: MemoryKind): Promise<Uint8Array> {
  if (!wat.includes("(memory MEMORY_TYPE)")) {
    throw new Error("kernels.wat: expected the memory import to read `(memory MEMORY_TYPE)`");
  }
  const wabt = await wabtInit();
  const mod = wabt.parseWat(
    "kernels.wat",
    wat.replace("(memory MEMORY_TYPE)", `(memory ${MEMORY_TYPES[kind]})`),
    FEATURES,
  );
  try {
    // wabt's typings omit validate's features argument; without it shared memories are refused.
    (mod as unknown as { validate(features: typeof FEATURES): void }).validate(FEATURES);
    return Uint8Array.from(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}
