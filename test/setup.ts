/**
 * Preloaded before every test file (bunfig.toml): Bun 1.4 ignores `[test] timeout` in bunfig, and
 * training tests on a loaded 2-core machine can pass 5 s, so the default per-test limit is set here.
 */
import { setDefaultTimeout } from "bun:test";

setDefaultTimeout(120_000);
