/**
 * The bench CLI (`npm run bench -- ...`, see README.md and args.ts): runs the suites in order
 * (kernels, engine, train, data, pipeline), prints a table per suite (or JSON lines with --json),
 * appends every record to the results file after each suite, and compares results files or
 * backends. Logs go to stderr; with --json stdout holds only records. Exit status: 0, 1 on an
 * error, 2 on a usage error.
 */
import fs from "node:fs";
import path from "node:path";
import { shutdownBackends, tf } from "@updates-leak/core";
import { type CompareCommand, parseArgs, type RunCommand, UsageError } from "./args.ts";
import { type CompareRow, compareBackends, compareFiles, compareTable } from "./compare.ts";
import { recordsTable } from "./format.ts";
import { FULL_REPEATS, type RepeatPolicy, SMOKE_REPEATS } from "./measure.ts";
import { type BenchRecord, machineFacts, makeRecord, newRunId, type SuiteName } from "./record.ts";
import { appendRecords, defaultResultsPath, readRecords } from "./results.ts";
import type { Suite, SuiteContext } from "./suites/context.ts";
import { dataSuite } from "./suites/data.ts";
import { engineSuite } from "./suites/engine.ts";
import { kernelsSuite } from "./suites/kernels.ts";
import { pipelineSuite } from "./suites/pipeline.ts";
import { trainSuite } from "./suites/train.ts";

const SUITE_FNS: Record<SuiteName, Suite> = {
  kernels: kernelsSuite,
  engine: engineSuite,
  train: trainSuite,
  data: dataSuite,
  pipeline: pipelineSuite,
};

function policyFor(cmd: RunCommand): RepeatPolicy {
  const base = cmd.smoke ? SMOKE_REPEATS : FULL_REPEATS;
  if (cmd.repeats === null) return base;
  return { ...base, maxRuns: cmd.repeats, minRuns: Math.min(base.minRuns, cmd.repeats) };
}

const err = (m: string) => process.stderr.write(`${m}\n`);

async function run(cmd: RunCommand): Promise<void> {
  const t0 = performance.now();
  const runId = newRunId();
  const machine = await machineFacts();
  const out = cmd.out === "default" ? defaultResultsPath(machine.host) : cmd.out;
  err(
    `[bench] run ${runId}: ${cmd.suites.join(", ")}${cmd.smoke ? " (smoke)" : ""} on ${machine.host}: ` +
      `${machine.cpuModel}, ${machine.cores} cores, GPU adapter: ${machine.gpuAdapter ?? "none"}; ` +
      `results -> ${out ?? "not saved"}`,
  );
  const policy = policyFor(cmd);
  let suite: SuiteName = cmd.suites[0]!;
  const ctx: SuiteContext = {
    opts: cmd,
    policy,
    machine,
    log: (m) => err(`[bench] ${m}`),
    warn: (m) => err(`[bench] warning: ${m}`),
    record: (r, backend) =>
      makeRecord(
        { runId, smoke: cmd.smoke, suite, machine, ...(backend === undefined ? {} : { backend }) },
        r,
      ),
  };
  for (const s of cmd.suites) {
    suite = s;
    const ts = performance.now();
    const records: BenchRecord[] = await SUITE_FNS[s](ctx);
    if (cmd.json) for (const r of records) process.stdout.write(`${JSON.stringify(r)}\n`);
    else
      process.stdout.write(
        `\n== ${s} (${((performance.now() - ts) / 1000).toFixed(1)} s) ==\n${recordsTable(records)}\n`,
      );
    if (out !== null) appendRecords(out, records);
  }
  err(
    `[bench] done in ${((performance.now() - t0) / 1000).toFixed(1)} s; tensors left: ${tf.memory().numTensors}` +
      (out !== null ? `; appended to ${path.relative(process.cwd(), out) || out}` : ""),
  );
}

async function compare(cmd: CompareCommand): Promise<void> {
  const rows = compareRows(cmd);
  if (cmd.json) for (const r of rows) process.stdout.write(`${JSON.stringify(r)}\n`);
  else process.stdout.write(`${compareTable(rows)}\n`);
}

function compareRows(cmd: CompareCommand): CompareRow[] {
  const filter = (rs: BenchRecord[]) => (cmd.suite ? rs.filter((r) => r.suite === cmd.suite) : rs);
  if (fs.existsSync(cmd.a) && fs.existsSync(cmd.b)) {
    const a = readRecords(cmd.a);
    const b = readRecords(cmd.b);
    err(`[bench] comparing ${cmd.a} (A, ${a.records.length} records) with ${cmd.b} (B, ${b.records.length})`);
    const [la, lb] =
      path.basename(cmd.a) === path.basename(cmd.b)
        ? ["A", "B"]
        : [cmd.a, cmd.b].map((f) => path.basename(f));
    return compareFiles(filter(a.records), filter(b.records), la!, lb!);
  }
  for (const f of [cmd.a, cmd.b]) {
    if (f.endsWith(".jsonl") && !fs.existsSync(f))
      throw new UsageError(`compare: results file ${f} does not exist`);
  }
  const file = cmd.file ?? defaultResultsPath();
  const { records } = readRecords(file);
  const { runId, rows } = compareBackends(filter(records), cmd.a, cmd.b, cmd.run ?? undefined);
  err(`[bench] comparing backends ${cmd.a} (A) and ${cmd.b} (B) in run ${runId} of ${file}`);
  return rows;
}

async function main(): Promise<number> {
  let cmd: ReturnType<typeof parseArgs>;
  try {
    cmd = parseArgs(process.argv.slice(2));
  } catch (e) {
    err(`bench: ${(e as Error).message}\n(add --help for usage)`);
    return 2;
  }
  try {
    if (cmd.command === "help") return 0; // commander printed it
    if (cmd.command === "compare") await compare(cmd);
    else await run(cmd);
    return 0;
  } catch (e) {
    // Usage errors say all there is to say; anything else gets its stack.
    if (e instanceof UsageError) err(`bench: ${e.message}`);
    else err(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return e instanceof UsageError ? 2 : 1;
  } finally {
    await shutdownBackends().catch(() => undefined);
  }
}

process.exit(await main());
