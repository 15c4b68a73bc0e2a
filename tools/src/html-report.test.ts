/**
 * The HTML report over run folders made here (three seeds of one setting, two defended settings,
 * loss curves in metrics.jsonl, an image grid): its table gives the mean ± sd computed in the test,
 * it is one file with no scripts or outside references, and Debian's chromium (driven by
 * playwright-core, no browser download) opens it and draws every figure: each SVG has a size on
 * the page and coloured pixels in the screenshot, and the grid image decodes. The screenshot is
 * kept in .tmp/artifacts/ for CI.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PNG } from "pngjs";
import { renderImageGrid } from "./figures.ts";
import { defenceCurveSvg, reportHtml } from "./html-report.ts";
import { type ReportRow, readSample } from "./report.ts";
import { writeRunFolder } from "./test-runs.ts";

const ROOT = path.resolve(import.meta.dir, "../..");
const ARTIFACTS = path.join(ROOT, ".tmp", "artifacts");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "ul-html-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Debian's chromium, or $CHROMIUM; null when neither is there. */
function chromiumPath(): string | null {
  for (const p of [process.env.CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    if (p && fs.existsSync(p)) return p;
  }
  return null;
}
const CHROMIUM = chromiumPath();

const VALUES = [0.871, 0.881, 0.879];

/** A finished run folder with a loss curve and, for the first, an image grid. */
function run(name: string, seed: number, value: number, defence: string, cost?: number): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(path.join(dir, "figures"), { recursive: true });
  const config = { attack: "label", dataset: "mnist", seed, attackEpochs: 20, defence, threat: "adaptive" };
  const grid = renderImageGrid({
    title: "originals",
    rowLabels: ["real"],
    shape: [4, 4, 1],
    rows: [[Float32Array.from({ length: 16 }, (_, i) => i / 15)]],
  });
  fs.writeFileSync(path.join(dir, "figures", "grid-1.png"), grid);
  const extra =
    cost === undefined
      ? {}
      : { defence: { ownerCost: { accuracy: 0.96, accuracyUndefended: 0.963, distortionL1: cost } } };
  writeRunFolder(dir, config, {
    value,
    extra,
    figures: { grids: [{ title: "originals", file: "figures/grid-1.png" }] },
  });
  const losses = Array.from({ length: 5 }, (_, e) =>
    JSON.stringify({ stage: "attack-label", epoch: e + 1, loss: 2 / (e + 1) }),
  );
  fs.writeFileSync(path.join(dir, "metrics.jsonl"), `${losses.join("\n")}\n`);
  return dir;
}

let html = "";
beforeAll(() => {
  const dirs = [
    ...VALUES.map((v, s) => run(`none-s${s}`, s, v, "none")),
    run("topk-s0", 0, 0.75, "topk:1", 0.049),
    run("label-s0", 0, 0.13, "label", 0.098),
  ];
  html = reportHtml(dirs.map(readSample), new Date(Date.UTC(2026, 11, 6)));
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  fs.writeFileSync(path.join(ARTIFACTS, "report.html"), html);
});

describe("the HTML report", () => {
  test("the table gives each setting's mean ± sd, computed here the long way", () => {
    const mean = VALUES.reduce((a, v) => a + v, 0) / 3;
    const sd = Math.sqrt(VALUES.reduce((a, v) => a + (v - mean) ** 2, 0) / 2);
    expect([mean.toFixed(3), sd.toFixed(3)]).toEqual(["0.877", "0.005"]);
    expect(html).toContain("<td>0.877 ± 0.005</td><td>3</td><td>0, 1, 2</td>");
    expect(html).toContain("<td>0.960 (0.963), 0.049</td>");
  });

  test("one file: no scripts, nothing fetched from elsewhere; bars, defence curve, loss curves, grids", () => {
    expect(html).not.toMatch(/<script|<link|src="(?!data:)|href=/);
    expect(html.match(/<svg /g)!.length).toBe(3);
    expect(html).toContain("accuracy against the owner's cost");
    expect(html).toContain("attack training loss");
    expect(html.match(/<img alt="originals" src="data:image\/png;base64,/g)!.length).toBe(3);
  });

  test.skipIf(!CHROMIUM)(
    `headless chromium draws every figure (${CHROMIUM ?? "skipped: no chromium; apt install chromium, or set CHROMIUM"})`,
    async () => {
      const { chromium } = await import("playwright-core");
      const browser = await chromium.launch({ executablePath: CHROMIUM!, args: ["--no-sandbox"] });
      try {
        const page = await browser.newPage({ viewport: { width: 1000, height: 800 } });
        await page.goto(`file://${path.join(ARTIFACTS, "report.html")}`);
        const boxes = await page.$$eval("svg", (els) =>
          els.map((e) => {
            const r = e.getBoundingClientRect();
            return { x: r.x, y: r.y, w: r.width, h: r.height }; // the page is not scrolled
          }),
        );
        const images = await page.$$eval("img", (els) =>
          els.map((e) => (e as unknown as { naturalWidth: number }).naturalWidth),
        );
        const shot = await page.screenshot({ fullPage: true, path: path.join(ARTIFACTS, "report.png") });
        expect(boxes.length).toBe(3);
        expect(images.length).toBe(3);
        for (const w of images) expect(w).toBeGreaterThan(0);
        const png = PNG.sync.read(Buffer.from(shot));
        for (const b of boxes) {
          expect(b.w).toBeGreaterThan(200);
          expect(b.h).toBeGreaterThan(200);
          // Inside the figure: coloured (not grey, not white) pixels from the bars, points or lines.
          let coloured = 0;
          for (let y = Math.floor(b.y); y < Math.min(png.height, b.y + b.h); y += 2) {
            for (let x = Math.floor(b.x); x < Math.min(png.width, b.x + b.w); x += 2) {
              const i = 4 * (y * png.width + x);
              const [r, g, bl] = [png.data[i]!, png.data[i + 1]!, png.data[i + 2]!];
              if (Math.max(r, g, bl) - Math.min(r, g, bl) > 60) coloured++;
            }
          }
          expect(coloured).toBeGreaterThan(30);
        }
      } finally {
        await browser.close();
      }
    },
  );
});

describe("the defence curve's baseline line", () => {
  const row = (defence: string, mean: number, cost?: number): ReportRow => ({
    attack: "distribution",
    dataset: "mnist",
    metric: "kl",
    differs: [`defence=${defence}`],
    setting: { defence, threat: "adaptive" },
    n: 1,
    seeds: [0],
    values: [mean],
    mean,
    sd: Number.NaN,
    baselines: { random_histogram: 0.578, prior: 0.0472 },
    ...(cost === undefined
      ? {}
      : { ownerCost: { accuracy: 0.96, accuracyUndefended: 0.96, distortionL1: cost } }),
    runs: [],
  });
  const rows = [row("none", 0.045), row("label", 0.06, 0.098)];
  /** The y pixel of the dashed line and of each data point (left of the plot's right edge, where the legend is). */
  const geometry = (svg: string) => {
    const m = /<line [^>]*y1="([\d.]+)" x2="([\d.]+)"[^>]*stroke-dasharray/.exec(svg)!;
    const points = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)]
      .filter((c) => Number(c[1]) < Number(m[2]))
      .map((c) => Number(c[2]));
    return { line: Number(m[1]), points };
  };

  test("the first baseline by default: random 0.578 lies above both points", () => {
    const svg = defenceCurveSvg("A_LDE, MNIST", rows)!;
    expect(svg).toContain("random_histogram baseline");
    const g = geometry(svg);
    expect(g.points.length).toBe(2);
    for (const y of g.points) expect(g.line).toBeLessThan(y);
  });

  test("a named baseline: the prior 0.0472 lies between 0.045 and 0.06", () => {
    const svg = defenceCurveSvg("A_LDE, MNIST", rows, "prior")!;
    expect(svg).toContain("prior baseline");
    expect(svg).not.toContain("random_histogram");
    const { line, points } = geometry(svg);
    const [none, label] = points;
    expect(points.length).toBe(2);
    expect(line).toBeLessThan(none!);
    expect(line).toBeGreaterThan(label!);
  });

  test("an unknown baseline throws and lists the ones there are", () => {
    expect(() => defenceCurveSvg("A_LDE, MNIST", rows, "median")).toThrow(
      /no baseline "median"; the runs have: random_histogram, prior/,
    );
  });
});
