/**
 * Starting a backend variant inside a suite: a backend that cannot start (no adapter, a wasm
 * build missing) gives one skipped record naming why, and the suite goes on with the next one.
 */
import type { BackendReport } from "@updates-leak/core";
import type { BenchRecord } from "../record.ts";
import { useVariant, type Variant } from "../variants.ts";
import type { SuiteContext } from "./context.ts";

export async function startVariant(
  ctx: SuiteContext,
  v: Variant,
  records: BenchRecord[],
): Promise<BackendReport | null> {
  try {
    return await useVariant(v, ctx.warn);
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
