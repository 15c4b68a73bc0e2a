/**
 * Backend conformance: every case of conformance.ts on every available backend (webgpu with any
 * real adapter, lavapipe included; wasm with threads on) against the cpu backend on the same
 * fresh random inputs; the cpu backend itself against the plain-JavaScript float64 references
 * (reference64.ts) where a case has one, and reported as not run (skipped, the reason in the test
 * name) where it has none: cpu compared with cpu would pass whatever cpu computes. Prints which
 * backends it ran on and the largest relative error per backend. Set UPDATES_LEAK_TEST_SEED to
 * replay a run.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Rng } from "../random.ts";
import { tf } from "../tf.ts";
import { computeOn, type HostTensor, relativeError } from "./compare.ts";
import { CONFORMANCE_CASES, CONFORMANCE_TOLERANCE } from "./conformance.ts";
import { formatBackendReport } from "./report.ts";
import { availableBackends, type BackendReport, type ConcreteBackend, selectBackend } from "./select.ts";
import { coreCount } from "./wasm.ts";

const SEED = Number(process.env.UPDATES_LEAK_TEST_SEED ?? Math.floor(Math.random() * 2 ** 31));
const backends = await availableBackends();
/** wasm with threads on, even on a one-core machine. */
const WASM_THREADS = Math.max(2, coreCount());

const inputs = new Map<string, Record<string, HostTensor>>();
const references = new Map<string, HostTensor[]>();
const summary = new Map<
  ConcreteBackend,
  { label: string; cases: number; notRun: number; worst: number; worstCase: string }
>();
const CPU_NOT_RUN = "not run on cpu: cpu is the other backends' reference and this case has no float64 one";

function inputsFor(name: string): Record<string, HostTensor> {
  let x = inputs.get(name);
  if (!x) {
    const c = CONFORMANCE_CASES.find((k) => k.name === name)!;
    x = c.inputs(new Rng(`conformance:${name}:${SEED}`));
    inputs.set(name, x);
  }
  return x;
}

async function referenceFor(name: string): Promise<HostTensor[]> {
  let r = references.get(name);
  if (!r) {
    const c = CONFORMANCE_CASES.find((k) => k.name === name)!;
    r = await computeOn("cpu", inputsFor(name), c.run);
    references.set(name, r);
  }
  return r;
}

function label(r: BackendReport): string {
  if (r.backend === "wasm") return `wasm (${r.wasmBuild}, ${r.threads} threads)`;
  if (r.backend === "webgpu") return `webgpu (${r.adapter})`;
  return "cpu";
}

afterAll(() => {
  const lines = [...summary.entries()].map(
    ([backend, s]) =>
      `  ${s.label}${backend === "cpu" ? " vs float64 references" : " vs cpu"}: ${s.cases}/` +
      `${CONFORMANCE_CASES.length} cases passed${s.notRun ? `, ${s.notRun} not run (${CPU_NOT_RUN})` : ""}, ` +
      `max relative error ${s.worst.toExponential(2)} (${s.worstCase})`,
  );
  console.log(
    `backend conformance (tolerance ${CONFORMANCE_TOLERANCE}, seed ${SEED}), ran on: ` +
      `${[...summary.keys()].join(", ")}\n${lines.join("\n")}`,
  );
});

test("availableBackends lists cpu last and wasm here", () => {
  expect(backends.at(-1)).toBe("cpu");
  expect(backends).toContain("wasm");
});

for (const backend of backends) {
  describe(`conformance on ${backend}`, () => {
    beforeAll(async () => {
      const report = await selectBackend({
        backend,
        quiet: true,
        ...(backend === "wasm" ? { threads: WASM_THREADS } : {}),
      });
      console.log(`conformance: ${formatBackendReport(report)}`);
      const notRun = backend === "cpu" ? CONFORMANCE_CASES.filter((c) => !c.reference).length : 0;
      summary.set(backend, { label: label(report), cases: 0, notRun, worst: 0, worstCase: "-" });
      if (backend === "wasm") expect(report.threads).toBeGreaterThan(1);
    });

    for (const c of CONFORMANCE_CASES) {
      if (backend === "cpu" && !c.reference) {
        test.skip(`${c.name} (${CPU_NOT_RUN})`, () => {});
        continue;
      }
      const against = backend === "cpu" ? "float64 reference" : "cpu";
      test(`${c.name} (vs ${against})`, async () => {
        const reference =
          backend === "cpu"
            ? c.reference!(inputsFor(c.name)).map((r) => ({ shape: r.shape, data: r.data }))
            : await referenceFor(c.name);
        const before = tf.memory().numTensors;
        const got = await computeOn(backend, inputsFor(c.name), c.run);
        expect(tf.memory().numTensors).toBe(before);
        expect(got.length).toBe(reference.length);
        let worst = 0;
        for (const [i, ref] of reference.entries()) {
          expect(got[i]!.shape).toEqual(ref.shape);
          worst = Math.max(worst, relativeError(got[i]!.data, ref.data));
        }
        const s = summary.get(backend)!;
        if (worst > s.worst) Object.assign(s, { worst, worstCase: c.name });
        expect(worst).toBeLessThanOrEqual(CONFORMANCE_TOLERANCE);
        s.cases++;
      });
    }
  });
}
