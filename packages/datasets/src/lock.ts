/**
 * A lock file, so that the jobs of one `--shard` array started together download a data set once:
 * the first creates `<dir>/.<name>.lock` with O_EXCL (holding its pid, host and start time) and
 * touches it every few seconds while it works; the others wait, then find the files there. A lock is
 * stale, and is taken over, when its process is gone (same host) or it has not been touched for
 * `staleMs` (a process on another host sharing the folder died).
 */

import {
  closeSync,
  linkSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

export interface LockOptions {
  /** A lock untouched for this long is stale (default 60 s). */
  readonly staleMs?: number;
  /** How often the holder touches its lock (default 2 s). */
  readonly heartbeatMs?: number;
  /** How often a waiter looks again (default 250 ms). */
  readonly pollMs?: number;
  /** Told once when waiting for another process. */
  readonly log?: (message: string) => void;
}

interface LockInfo {
  pid: number;
  host: string;
  started: string;
}

function readLock(file: string): { info: LockInfo | null; raw: string; mtimeMs: number } | null {
  try {
    const mtimeMs = statSync(file).mtimeMs;
    const raw = readFileSync(file, "utf8");
    let info: LockInfo | null = null;
    try {
      info = JSON.parse(raw) as LockInfo;
    } catch {}
    return { info, raw, mtimeMs };
  } catch {
    return null; // gone meanwhile
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
}

/** Why the lock at `file` is stale, or null when it is live. */
function staleness(lock: NonNullable<ReturnType<typeof readLock>>, staleMs: number): string | null {
  const age = Date.now() - lock.mtimeMs;
  if (lock.info !== null && lock.info.host === hostname() && !alive(lock.info.pid)) {
    return `its process ${lock.info.pid} is gone`;
  }
  // A lock just created may not hold its JSON yet: only its age makes it stale.
  if (age > staleMs) return `untouched for ${Math.round(age / 1000)} s`;
  return null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs `fn` holding the lock `<dir>/.<name>.lock`; waits while another live process holds it. */
export async function withLock<T>(
  dir: string,
  name: string,
  fn: () => Promise<T>,
  opts: LockOptions = {},
): Promise<T> {
  const file = join(dir, `.${name}.lock`);
  const staleMs = opts.staleMs ?? 60_000;
  const pollMs = opts.pollMs ?? 250;
  let told = false;
  let polled = false;
  for (;;) {
    let fd: number;
    try {
      fd = openSync(file, "wx");
    } catch (e) {
      if ((e as { code?: string }).code !== "EEXIST") throw e;
      const lock = readLock(file);
      if (lock === null) continue;
      const why = staleness(lock, staleMs);
      if (why !== null) {
        // Move the stale lock aside, then make sure what moved is the lock judged stale (another
        // waiter may have replaced it by a fresh one meanwhile): if not, put it back.
        const aside = `${file}.stale-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
        try {
          renameSync(file, aside);
        } catch {
          continue;
        }
        const moved = readLock(aside);
        if (moved !== null && moved.raw !== lock.raw) {
          try {
            linkSync(aside, file);
          } catch {}
        } else opts.log?.(`taking over the stale lock ${file} (${why})`);
        rmSync(aside, { force: true });
        continue;
      }
      // A lock just made may not hold its owner yet: name the owner once it can be read (or after
      // one poll, as "another process").
      if (!told && (lock.info !== null || polled)) {
        told = true;
        const who = lock.info ? `process ${lock.info.pid} on ${lock.info.host}` : "another process";
        opts.log?.(`waiting for ${who}, which is downloading ${name} (lock file ${file})`);
      }
      await sleep(pollMs);
      polled = true;
      continue;
    }
    const info: LockInfo = { pid: process.pid, host: hostname(), started: new Date().toISOString() };
    try {
      writeSync(fd, JSON.stringify(info));
    } finally {
      closeSync(fd);
    }
    const beat = setInterval(() => {
      try {
        const now = new Date();
        utimesSync(file, now, now);
      } catch {}
    }, opts.heartbeatMs ?? 2_000);
    try {
      return await fn();
    } finally {
      clearInterval(beat);
      rmSync(file, { force: true });
    }
  }
}
