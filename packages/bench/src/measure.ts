/**
 * The timing loop: one first run timed apart (compilation, kernel set-up), then timed runs until
 * `maxRuns`, or until `minRuns` are done and `budgetMs` of timed runs have passed. Each run's
 * work must include reading its results back (`await t.data()`), so GPU work is counted.
 */
import { type Spread, spreadOf } from "./stats.ts";

export interface RepeatPolicy {
  minRuns: number;
  maxRuns: number;
  /** Stop after this much timed wall clock once `minRuns` are done. */
  budgetMs: number;
}

/** Defaults: a full run and `--smoke`. */
export const FULL_REPEATS: RepeatPolicy = { minRuns: 3, maxRuns: 10, budgetMs: 1500 };
export const SMOKE_REPEATS: RepeatPolicy = { minRuns: 2, maxRuns: 2, budgetMs: 0 };

/**
 * Times `run`. When `run` resolves to a number, that number is the run's time in ms (an inner
 * span that leaves set-up out); otherwise the wall clock of the whole call counts.
 */
export async function measure(run: () => Promise<unknown> | unknown, policy: RepeatPolicy): Promise<Spread> {
  const once = async (): Promise<[number, number]> => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const inner = await run();
    const wall = performance.now() - t0;
    const c = process.cpuUsage(c0);
    return [typeof inner === "number" ? inner : wall, (c.user + c.system) / 1000];
  };
  const [firstMs] = await once();
  const ms: number[] = [];
  const cpu: number[] = [];
  let spent = 0;
  while (ms.length < policy.maxRuns && (ms.length < policy.minRuns || spent < policy.budgetMs)) {
    const [t, c] = await once();
    ms.push(t);
    cpu.push(c);
    spent += t;
  }
  return spreadOf(firstMs, ms, cpu);
}
