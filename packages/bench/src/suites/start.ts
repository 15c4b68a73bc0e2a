/**
 * Starting a backend variant inside a suite: a backend that cannot start (no adapter, a wasm
 * build missing) gives one skipped record naming why, and the suite goes on with the next one.
 * A suite that reads tensors only asynchronously passes `syncReads: false` (see useVariant).
 * Running one case: a case that fails gives one skipped record naming why, and tensors a case
 * leaves behind are noted on its last record.
 */
import { type BackendReport, tf } from "@updates-leak/core";
import type { BenchRecord, CaseResult } from "../record.ts";
import { useVariant, type Variant } from "../variants.ts";
import type { SuiteContext } from "./context.ts";

export async function startVariant(
  ctx: SuiteContext,
  v: Variant,
  records: BenchRecord[],
  syncReads = true,
): Promise<BackendReport | null> {
  try {
    return await useVariant(v, ctx.warn, syncReads);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    ctx.warn(`${v.label} cannot start: ${why}`);
    records.push(
      ctx.record(
        {
          case: "backend start",
          params: { backend: v.label },
          timing: null,
          notes: [`cannot start: ${why}`],
        },
        v.label,
      ),
    );
    return null;
  }
}

/**
 * Runs one case's `body`, which pushes its records onto `records`. If it throws, `what` failed is
 * warned and the skipped record `skipped()` (its case and params) is pushed with the reason; if
 * the case leaves tensors behind, that is warned and noted on the last record.
 */
export async function runCase(
  ctx: SuiteContext,
  records: BenchRecord[],
  what: string,
  skipped: () => Omit<CaseResult, "timing" | "status" | "notes">,
  body: () => Promise<void>,
): Promise<void> {
  const before = tf.memory().numTensors;
  try {
    await body();
  } catch (err) {
    ctx.warn(`${what} failed: ${(err as Error).message}`);
    records.push(
      ctx.record({
        ...skipped(),
        timing: null,
        status: "skipped",
        notes: [`failed: ${(err as Error).message}`],
      }),
    );
  }
  const leaked = tf.memory().numTensors - before;
  if (leaked !== 0) {
    const note = `${leaked} tensor(s) leaked`;
    ctx.warn(`${what}: ${note}`);
    records[records.length - 1]!.notes.push(note);
  }
}
