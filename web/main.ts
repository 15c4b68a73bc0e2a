/**
 * The page's script (web/index.html; bundled by tools/build-web.ts into web/dist/main.js): gets
 * MNIST's four files (picked with the file input, or fetched from ./data/mnist/ by the button or
 * at once with `?auto=1`), starts a backend with the packages' own `selectBackend` (`?backend=`,
 * default auto; wasm threads from `?threads=`, default the cores, at most 8, when the page is
 * cross-origin isolated, else 1 with the reason shown), runs the smoke A_LI (experiment.ts) with
 * a progress bar, then shows the accuracy against the random baseline as a bar chart and the
 * result as JSON, and offers result.json and config.json as downloads. Sizes and seed are
 * SMOKE_DEFAULTS unless the URL gives them (`?trainEpochs=10`, `?seed=s2`, `?dropout=0`, ...).
 * `body[data-state]` is
 * idle, running, done or error (the browser test waits on it).
 */
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import {
  BACKEND_NAMES,
  type BackendName,
  type BackendReport,
  errorText,
  selectBackend,
  tfjsVersions,
} from "@updates-leak/core";
import { type PageElement, page } from "./dom.ts";
import {
  type Progress,
  runLabelSmoke,
  SMOKE_DEFAULTS,
  type SmokeConfig,
  type SmokeResult,
} from "./experiment.ts";
import { decodeMnist, gzName, MNIST_ROLES, type MnistRole, type NamedBytes } from "./mnist.ts";

const { document, location, navigator } = page();

const $ = (id: string): PageElement => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html has no element #${id}`);
  return el;
};

const params = new URLSearchParams(location.search);
let running = false;

function setState(state: "idle" | "running" | "done" | "error"): void {
  document.body.dataset.state = state;
}

function showProgress(stage: string, detail: string, fraction: number): void {
  $("stage").textContent = stage;
  $("detail").textContent = detail;
  $("bar").value = fraction;
}

function showError(err: unknown): void {
  const box = $("error");
  box.textContent = `Error: ${errorText(err)}`;
  box.hidden = false;
  $("stage").textContent = "Stopped.";
  setState("error");
  console.error(err);
}

/** The four files from ./data/mnist/, next to the page; a missing one is named with its URL and the HTTP status. */
async function fetchFiles(): Promise<Record<MnistRole, NamedBytes>> {
  const out = {} as Record<MnistRole, NamedBytes>;
  for (const [i, role] of MNIST_ROLES.entries()) {
    const url = new URL(`./data/mnist/${gzName(role)}`, location.href);
    showProgress("Loading MNIST", `fetching ${url.pathname}`, (0.05 * i) / MNIST_ROLES.length);
    let res: Response;
    try {
      res = await fetch(url);
    } catch (err) {
      throw new Error(`could not fetch ${url.href}: ${errorText(err)}`);
    }
    if (!res.ok) {
      throw new Error(
        `${url.href}: HTTP ${res.status} ${res.statusText}; put MNIST's four gzipped IDX files in the ` +
          "page's folder under data/mnist/ (npm run build:web -- --mnist), or pick them with the file input",
      );
    }
    out[role] = { name: url.pathname, bytes: new Uint8Array(await res.arrayBuffer()) };
  }
  return out;
}

/** The four files among the picked ones, by name (with or without .gz); names the missing ones. */
async function pickedFiles(list: ArrayLike<File>): Promise<Record<MnistRole, NamedBytes>> {
  const byName = new Map(Array.from(list, (f) => f).map((f) => [f.name.replace(/\.gz$/, ""), f]));
  const missing = MNIST_ROLES.filter((r) => !byName.has(gzName(r).replace(/\.gz$/, "")));
  if (missing.length > 0) {
    const picked = Array.from(list, (f) => f.name).join(", ") || "none";
    throw new Error(
      `missing MNIST file(s): ${missing.map(gzName).join(", ")} (picked: ${picked}); pick all four IDX files, gzipped or raw`,
    );
  }
  const out = {} as Record<MnistRole, NamedBytes>;
  for (const role of MNIST_ROLES) {
    const file = byName.get(gzName(role).replace(/\.gz$/, ""))!;
    out[role] = { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
  }
  return out;
}

/** The backend and wasm thread count asked for in the URL, and why threads are off if they are. */
function wanted(): { backend: BackendName; threads: number; threadNote: string } {
  const backend = (params.get("backend") ?? "auto") as BackendName;
  if (!BACKEND_NAMES.includes(backend)) {
    throw new Error(`?backend=${backend}: expected one of ${BACKEND_NAMES.join(", ")}`);
  }
  const cores = Math.min(navigator.hardwareConcurrency || 1, 8);
  const asked = params.has("threads") ? Number(params.get("threads")) : cores;
  if (!Number.isInteger(asked) || asked < 1)
    throw new Error(`?threads=${params.get("threads")}: expected an integer >= 1`);
  if (asked > 1 && !page().crossOriginIsolated) {
    const threadNote =
      `threads off: the page is not cross-origin isolated (no SharedArrayBuffer), so wasm runs 1 thread instead of ${asked}; ` +
      "serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp";
    return { backend, threads: 1, threadNote };
  }
  return {
    backend,
    threads: asked,
    threadNote: `${asked} wasm thread(s) asked (${navigator.hardwareConcurrency} cores)`,
  };
}

/** SMOKE_DEFAULTS, with any field given in the URL (e.g. `?trainEpochs=10&dropout=0`); a bad value is named. */
function smokeConfig(): SmokeConfig {
  const cfg: SmokeConfig = { ...SMOKE_DEFAULTS };
  for (const key of Object.keys(SMOKE_DEFAULTS) as (keyof SmokeConfig)[]) {
    const text = params.get(key);
    if (text === null) continue;
    if (key === "seed") cfg.seed = text;
    else if (key === "dropout") {
      if (text !== "0" && text !== "1") throw new Error(`?dropout=${text}: expected 0 or 1`);
      cfg.dropout = text === "1";
    } else {
      const n = Number(text);
      if (!Number.isInteger(n) || n < 1) throw new Error(`?${key}=${text}: expected an integer >= 1`);
      cfg[key] = n;
    }
  }
  return cfg;
}

function describeBackend(report: BackendReport, threadNote: string): string {
  const tried = report.tried.map((t) => `  ${t.backend}: ${t.ok ? "ok" : "failed"}, ${t.why}`).join("\n");
  const build = report.wasmBuild ? `, ${report.wasmBuild}` : "";
  return (
    `backend: ${report.backend} (${report.reason})${build}, ${report.threads} thread(s); ${threadNote}\n` +
    `cross-origin isolated: ${page().crossOriginIsolated}; tfjs ${report.tfjsVersion}\ntried:\n${tried}`
  );
}

/** An SVG bar chart: the attack's accuracy against the random baseline, on [0, 1]. */
function barChart(value: number, random: number): string {
  const [w, h, left, top, plotH, barW] = [420, 260, 50, 20, 200, 110];
  const y = (v: number) => top + plotH * (1 - v);
  const bars = [
    { label: "A_LI attack", v: value, colour: "#2b6cb0", x: left + 50 },
    { label: "random guess", v: random, colour: "#a0a0a0", x: left + 220 },
  ];
  const ticks = [0, 0.25, 0.5, 0.75, 1].map(
    (t) =>
      `<line x1="${left}" x2="${w - 10}" y1="${y(t)}" y2="${y(t)}" stroke="#ddd"/>` +
      `<text x="${left - 6}" y="${y(t) + 4}" text-anchor="end" font-size="11">${t}</text>`,
  );
  const rects = bars.map(
    (b) =>
      `<rect x="${b.x}" y="${y(b.v)}" width="${barW}" height="${plotH * b.v}" fill="${b.colour}"/>` +
      `<text x="${b.x + barW / 2}" y="${y(b.v) - 5}" text-anchor="middle" font-size="13">${b.v.toFixed(2)}</text>` +
      `<text x="${b.x + barW / 2}" y="${top + plotH + 18}" text-anchor="middle" font-size="12">${b.label}</text>`,
  );
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" ` +
    `aria-label="label-inference accuracy ${value.toFixed(2)} against the random baseline ${random}">` +
    `${ticks.join("")}${rects.join("")}<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" stroke="#444"/>` +
    `<text x="14" y="${top + plotH / 2}" transform="rotate(-90 14 ${top + plotH / 2})" text-anchor="middle" font-size="12">accuracy</text></svg>`
  );
}

function offerDownload(id: string, value: unknown): void {
  const blob = new Blob([`${JSON.stringify(value, null, 2)}\n`], { type: "application/json" });
  const link = $(id);
  if (link.href.startsWith("blob:")) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(blob);
}

function showResult(result: SmokeResult, config: unknown): void {
  $("figure").innerHTML = barChart(result.value, result.baselines.random);
  $("result").textContent = JSON.stringify(result, null, 2);
  offerDownload("dl-result", result);
  offerDownload("dl-config", config);
  $("outcome").hidden = false;
  showProgress(
    "Done.",
    `A_LI accuracy ${result.value.toFixed(2)} (random baseline ${result.baselines.random}) on ${result.counts.targetUpdates} target updates, ` +
      `${result.seconds.total!.toFixed(1)} s on ${result.backend} with ${result.threads} thread(s)`,
    1,
  );
}

/** The whole run: data, backend, experiment, display. */
async function run(
  source: "fetch" | "picked",
  getFiles: () => Promise<Record<MnistRole, NamedBytes>>,
): Promise<void> {
  if (running) return;
  running = true;
  setState("running");
  $("error").hidden = true;
  $("outcome").hidden = true;
  try {
    const want = wanted();
    const cfg = smokeConfig();
    const t0 = performance.now();
    const files = await getFiles();
    showProgress("Decoding MNIST", "gunzip and IDX parsing", 0.05);
    const data = await decodeMnist(files);
    const loadSeconds = (performance.now() - t0) / 1000;
    showProgress("Starting the backend", `${want.backend}, ${want.threads} wasm thread(s)`, 0.06);
    const t1 = performance.now();
    const report = await selectBackend({ backend: want.backend, threads: want.threads, quiet: true });
    const backendSeconds = (performance.now() - t1) / 1000;
    $("env").textContent = describeBackend(report, want.threadNote);
    const trainCount = data.count - 10_000;
    const result = await runLabelSmoke(data, trainCount, cfg, report, (p: Progress) =>
      showProgress(`Stage: ${p.stage}`, p.detail, 0.07 + 0.93 * p.fraction),
    );
    result.seconds = { loadData: loadSeconds, startBackend: backendSeconds, ...result.seconds };
    const config = {
      ...cfg,
      data: source === "fetch" ? "fetched from ./data/mnist/" : "picked with the file input",
      rows: result.rows,
      backend: { asked: want.backend, used: report.backend, reason: report.reason, tried: report.tried },
      threads: {
        asked: want.threads,
        used: report.threads,
        note: want.threadNote,
        wasmBuild: report.wasmBuild,
      },
      crossOriginIsolated: page().crossOriginIsolated,
      tfjs: tfjsVersions(),
      userAgent: navigator.userAgent,
    };
    showResult(result, config);
    setState("done");
  } catch (err) {
    showError(err);
  } finally {
    running = false;
  }
}

function main(): void {
  // tfjs-backend-wasm fetches its binaries from this folder (tools/build-web.ts copies them here).
  setWasmPaths(new URL("./", location.href).href);
  page().addEventListener("unhandledrejection", (e) => showError(e.reason));
  page().addEventListener("error", (e) => showError(e.error ?? e.message));
  $("fetch").addEventListener("click", () => void run("fetch", fetchFiles));
  const input = $("files");
  input.addEventListener("change", () => {
    if (input.files && input.files.length > 0) void run("picked", () => pickedFiles(input.files!));
  });
  if (params.get("auto") === "1") void run("fetch", fetchFiles);
}

main();
