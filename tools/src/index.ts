/**
 * @updates-leak/tools: the CLI (cli.ts, run as `npm run leak`) and the file I/O it is made of,
 * exported for the benchmarks and for scripts.
 */
export { AtomicWriteError, type FileOps, nodeFileOps, writeFileAtomic, writeJsonAtomic } from "./atomic.ts";
export { canonicalJson, configHash, dataFields, NON_DATA_FIELDS, nonDataFields } from "./config-hash.ts";
export { UsageError } from "./errors.ts";
export {
  barChartSvg,
  composeGrid,
  decodePng,
  encodePng,
  renderBarChart,
  renderImageGrid,
} from "./figures.ts";
export { formatMergeReport, type MergeReport, mergeRun } from "./merge.ts";
export { defaultModelCacheDir, FileModelCache } from "./model-cache.ts";
export { Progress, type ProgressOptions } from "./progress.ts";
export { collectProvenance, type Provenance } from "./provenance.ts";
export { defaultsFor, formatConfig, LIMITS, MAX_SET_SIZE, resolveConfig } from "./resolve-config.ts";
export { type AttackRunOptions, type CliRunContext, type ExperimentFn, runAttack } from "./run-attack.ts";
export { RunFolder, readMetrics, runFolderName } from "./run-folder.ts";
export {
  ConfigMismatchError,
  decodeShard,
  encodeShard,
  FileShardStore,
  type FileShardStoreOptions,
  type ShardSlice,
  ShardWriteError,
} from "./shard-store.ts";
