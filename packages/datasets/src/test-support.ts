/**
 * Helpers for this package's tests: where the repository and the shared real data are (found relative
 * to the repository root, never by absolute path), and throw-away temporary folders.
 */

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dir, "../../..");
export const SHARED_DATA = resolve(REPO_ROOT, "../shared/data");

/** A fresh temporary folder; call the returned cleanup when done. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `updates-leak-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Captures the error a promise or function rejects with (fails the test when there is none). */
export async function errorOf(f: () => unknown): Promise<Error> {
  try {
    await f();
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected an error, none was thrown");
}
