/**
 * Errors the CLI maps to exit statuses: `UsageError` (bad flags or values, a run folder that does
 * not match) exits 2 before anything is written; any other error exits 1.
 */

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
/** Merge found shards missing. */
export const EXIT_INCOMPLETE = 3;
/**
 * What a shell or job runner reports when a run is stopped by SIGINT (Ctrl-C, 128 + 2) or SIGTERM
 * (a cancel, time limit or eviction, 128 + 15): the default signal action ends the process at
 * once; finished shards are kept and a rerun with --run-dir resumes.
 */
export const EXIT_INTERRUPTED = 130;
export const EXIT_TERMINATED = 143;
