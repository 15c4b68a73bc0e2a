/**
 * @updates-leak/bench: the benchmark suites behind `npm run bench` (see README.md), usable from
 * code too: run a suite with a `SuiteContext`, read and compare results files.
 */
export { buildProgram, parseArgs, UsageError } from "./args.ts";
export { type CompareRow, compareBackends, compareFiles, compareTable } from "./compare.ts";
export { type DecodeFigure, type DecodeResult, datasetsDecode } from "./datasets.bench.ts";
export * from "./flops.ts";
export { recordsTable } from "./format.ts";
export { FULL_REPEATS, measure, type RepeatPolicy, SMOKE_REPEATS } from "./measure.ts";
export * from "./record.ts";
export { appendRecords, defaultResultsPath, readRecords, repoRoot } from "./results.ts";
export * from "./stats.ts";
export type { BenchOptions, Suite, SuiteContext } from "./suites/context.ts";
export { dataSuite } from "./suites/data.ts";
export { engineSuite } from "./suites/engine.ts";
export { kernelCases, kernelsSuite } from "./suites/kernels.ts";
export { pipelineSuite } from "./suites/pipeline.ts";
export { trainSuite } from "./suites/train.ts";
export * from "./variants.ts";
