/**
 * What every suite gets from the CLI: the options, the repeat policy, the machine facts, logging
 * (stderr only: stdout carries the results), and `record`, which turns a case result into a
 * `BenchRecord` stamped with the backend running at that moment.
 */
import type { RepeatPolicy } from "../measure.ts";
import type { BenchRecord, CaseResult, MachineFacts } from "../record.ts";
import type { Variant } from "../variants.ts";

export interface BenchOptions {
  smoke: boolean;
  /** --backends: overrides each suite's default variants. */
  backends: Variant[] | null;
  /** --repeats: timed runs per case at most (and at least, when smaller than the default minimum). */
  repeats: number | null;
  /** --data-dir for the data and pipeline suites. */
  dataDir: string | null;
  /** --full: train for the paper's epochs instead of extrapolating from one. */
  full: boolean;
  /** --paper: the pipeline suite runs A_LI at paper scale. */
  paper: boolean;
}

export interface SuiteContext {
  opts: BenchOptions;
  policy: RepeatPolicy;
  machine: MachineFacts;
  log(message: string): void;
  warn(message: string): void;
  /** A record of `r` with the current backend (or `backend`, e.g. "none"). */
  record(r: CaseResult, backend?: string): BenchRecord;
}

export type Suite = (ctx: SuiteContext) => Promise<BenchRecord[]>;
