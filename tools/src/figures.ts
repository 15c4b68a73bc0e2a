/**
 * PNG figures for a run: image grids (originals / reconstructions / AE rows) and bar charts
 * (attack vs baselines, as in the paper's Figures 2 and 4).
 *
 * Pixels are composed here (nearest-neighbour upscaling, so 28x28 becomes 56x56 with no blur) and
 * encoded with pngjs; text (titles, labels, values) comes from an SVG rendered by @resvg/resvg-js
 * with the DejaVu Sans font shipped by the `dejavu-fonts-ttf` package (system fonts as a fallback),
 * so the figures look the same on every machine.
 */
import { createRequire } from "node:module";
import { Resvg } from "@resvg/resvg-js";
import type { BarChart, ImageGrid } from "@updates-leak/attacks/context";
import { PNG } from "pngjs";

const require = createRequire(import.meta.url);
const FONT_FAMILY = "DejaVu Sans";

function fontFiles(): string[] {
  try {
    return [
      require.resolve("dejavu-fonts-ttf/ttf/DejaVuSans.ttf"),
      require.resolve("dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf"),
    ];
  } catch {
    return [];
  }
}

/** Render an SVG document to PNG bytes. */
export function svgToPng(svg: string): Uint8Array {
  const files = fontFiles();
  const r = new Resvg(svg, {
    font: { loadSystemFonts: files.length === 0, fontFiles: files, defaultFontFamily: FONT_FAMILY },
    background: "white",
  });
  return r.render().asPng();
}

export function encodePng(width: number, height: number, rgba: Uint8Array): Uint8Array {
  if (rgba.length !== width * height * 4) {
    throw new Error(
      `encodePng: ${rgba.length} bytes for ${width}x${height} RGBA (want ${width * height * 4})`,
    );
  }
  const png = new PNG({ width, height });
  png.data = Buffer.from(rgba.buffer, rgba.byteOffset, rgba.length);
  return PNG.sync.write(png);
}

export function decodePng(bytes: Uint8Array): { width: number; height: number; rgba: Uint8Array } {
  const p = PNG.sync.read(Buffer.from(bytes));
  return { width: p.width, height: p.height, rgba: new Uint8Array(p.data) };
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A conservative estimate of DejaVu Sans width (capitals run to about 0.7 em). */
function textWidth(s: string, size: number): number {
  return s.length * size * 0.7;
}

export interface GridLayout {
  scale: number;
  /** Image cell size after upscaling. */
  cellW: number;
  cellH: number;
  gap: number;
  rowGap: number;
  /** Top-left of the image area inside the figure. */
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface GridOptions {
  /** Integer upscaling; default: the smallest that makes the longer side at least `minSide`. */
  scale?: number;
  minSide?: number;
}

function gridLayout(grid: ImageGrid, opts: GridOptions): GridLayout {
  const [h, w] = grid.shape;
  const scale = opts.scale ?? Math.max(1, Math.ceil((opts.minSide ?? 56) / Math.max(h, w)));
  const cellW = w * scale;
  const cellH = h * scale;
  const gap = 4;
  const rowGap = 12;
  const labelW = Math.ceil(Math.max(0, ...grid.rowLabels.map((l) => textWidth(l, 13)))) + 16;
  const titleH = grid.title ? 32 : 8;
  const cols = Math.max(1, ...grid.rows.map((r) => r.length));
  const areaW = cols * cellW + (cols - 1) * gap;
  const areaH = grid.rows.length * cellH + Math.max(0, grid.rows.length - 1) * rowGap;
  const width = Math.max(labelW + areaW + 8, Math.ceil(textWidth(grid.title, 15)) + 16);
  return { scale, cellW, cellH, gap, rowGap, left: labelW, top: titleH, width, height: titleH + areaH + 8 };
}

function checkGrid(grid: ImageGrid): void {
  const [h, w, c] = grid.shape;
  if (![h, w].every((v) => Number.isInteger(v) && v > 0) || (c !== 1 && c !== 3)) {
    throw new Error(`image grid "${grid.title}": shape [${grid.shape.join(", ")}] must be [h, w, 1 or 3]`);
  }
  if (grid.rowLabels.length !== grid.rows.length) {
    throw new Error(
      `image grid "${grid.title}": ${grid.rowLabels.length} row labels for ${grid.rows.length} rows`,
    );
  }
  grid.rows.forEach((row, r) => {
    row.forEach((img, i) => {
      if (img.length !== h * w * c) {
        throw new Error(
          `image grid "${grid.title}": row ${r} image ${i} has ${img.length} values, expected ${h * w * c}`,
        );
      }
    });
  });
}

/** [0,1] -> 0..255, clamped; NaN becomes 0. */
function toByte(v: number): number {
  if (!(v > 0)) return 0;
  if (v >= 1) return 255;
  return Math.round(v * 255);
}

/**
 * The image area of a grid as RGBA on white: row r, image i at
 * (i * (cellW + gap), r * (cellH + rowGap)), each source pixel a scale x scale block.
 */
export function composeGrid(
  grid: ImageGrid,
  opts: GridOptions = {},
): { width: number; height: number; rgba: Uint8Array; layout: GridLayout } {
  checkGrid(grid);
  const layout = gridLayout(grid, opts);
  const [, w, c] = grid.shape;
  const { scale, cellW, cellH, gap, rowGap } = layout;
  const cols = Math.max(1, ...grid.rows.map((r) => r.length));
  const width = cols * cellW + (cols - 1) * gap;
  const height = Math.max(1, grid.rows.length * cellH + Math.max(0, grid.rows.length - 1) * rowGap);
  const rgba = new Uint8Array(width * height * 4).fill(255);
  grid.rows.forEach((row, r) => {
    row.forEach((img, i) => {
      const x0 = i * (cellW + gap);
      const y0 = r * (cellH + rowGap);
      for (let y = 0; y < cellH; y++) {
        const sy = Math.floor(y / scale);
        for (let x = 0; x < cellW; x++) {
          const src = (sy * w + Math.floor(x / scale)) * c;
          const dst = ((y0 + y) * width + x0 + x) * 4;
          const r8 = toByte(img[src]!);
          rgba[dst] = r8;
          rgba[dst + 1] = c === 3 ? toByte(img[src + 1]!) : r8;
          rgba[dst + 2] = c === 3 ? toByte(img[src + 2]!) : r8;
          rgba[dst + 3] = 255;
        }
      }
    });
  });
  return { width, height, rgba, layout };
}

/** A grid figure: title on top, row labels on the left, upscaled images. */
export function renderImageGrid(grid: ImageGrid, opts: GridOptions = {}): Uint8Array {
  const area = composeGrid(grid, opts);
  const L = area.layout;
  const b64 = Buffer.from(encodePng(area.width, area.height, area.rgba)).toString("base64");
  const labels = grid.rowLabels
    .map((label, r) => {
      const y = L.top + r * (L.cellH + L.rowGap) + L.cellH / 2 + 5;
      return `<text x="${L.left - 10}" y="${y}" font-size="13" text-anchor="end">${escapeXml(label)}</text>`;
    })
    .join("");
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${L.width}" height="${L.height}" font-family="${FONT_FAMILY}">` +
    `<rect width="100%" height="100%" fill="white"/>` +
    (grid.title
      ? `<text x="8" y="21" font-size="15" font-weight="bold">${escapeXml(grid.title)}</text>`
      : "") +
    labels +
    `<image x="${L.left}" y="${L.top}" width="${area.width}" height="${area.height}" image-rendering="optimizeSpeed" href="data:image/png;base64,${b64}"/>` +
    `</svg>`;
  return svgToPng(svg);
}

/** Axis maximum and tick step: 1, 2 or 5 times a power of ten, 4 to 8 ticks. */
export function niceScale(max: number): { top: number; step: number } {
  if (!(max > 0) || !Number.isFinite(max)) return { top: 1, step: 0.2 };
  const raw = max / 5;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => s >= raw) ?? 10 * pow;
  return { top: Math.ceil(max / step - 1e-9) * step, step };
}

/** Value label: 3 significant digits, no exponent for ordinary sizes. */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-4) return v.toExponential(2);
  return String(Number(v.toPrecision(3)));
}

export const BAR_COLORS = { attack: "#1f5fa8", baseline: "#9a9a9a" } as const;

export interface BarChartLayout {
  width: number;
  height: number;
  plotLeft: number;
  plotTop: number;
  plotW: number;
  plotH: number;
  top: number;
  /** Centre x of each bar and its width. */
  barX: number[];
  barW: number;
}

export function barChartLayout(chart: BarChart): BarChartLayout {
  const n = Math.max(1, chart.bars.length);
  const slot = Math.max(90, Math.ceil(Math.max(0, ...chart.bars.map((b) => textWidth(b.label, 12))) + 16));
  const plotLeft = 72;
  const plotTop = 64;
  const plotW = n * slot;
  const plotH = 260;
  const width = Math.max(plotLeft + plotW + 24, Math.ceil(textWidth(chart.title, 16)) + 32);
  const height = plotTop + plotH + 56;
  const barW = Math.round(slot * 0.6);
  const barX = chart.bars.map((_, i) => plotLeft + slot * i + slot / 2);
  const max = Math.max(0, ...chart.bars.map((b) => (Number.isFinite(b.value) ? b.value : 0)));
  // Accuracy-like charts (higher is better, all values in [0,1]) use the full 0..1 axis.
  const top = chart.better === "higher" && max <= 1 ? 1 : niceScale(max).top;
  return { width, height, plotLeft, plotTop, plotW, plotH, top, barX, barW };
}

/**
 * A bar chart: the first bar is the attack (blue), the others baselines (grey); each bar has its
 * value on top and its label below; the subtitle says which way is better.
 */
export function barChartSvg(chart: BarChart): string {
  if (chart.bars.length === 0) throw new Error(`bar chart "${chart.title}" has no bars`);
  for (const b of chart.bars) {
    if (b.value < 0) throw new Error(`bar chart "${chart.title}": bar "${b.label}" is negative (${b.value})`);
  }
  const L = barChartLayout(chart);
  const { step } = niceScale(L.top);
  const y = (v: number) => L.plotTop + L.plotH - (L.plotH * v) / L.top;
  const parts: string[] = [];
  parts.push(`<rect width="100%" height="100%" fill="white"/>`);
  parts.push(`<text x="16" y="26" font-size="16" font-weight="bold">${escapeXml(chart.title)}</text>`);
  parts.push(
    `<text x="16" y="46" font-size="12" fill="#555">${escapeXml(chart.metric)} (${chart.better} is better)</text>`,
  );
  for (let t = 0; t <= L.top + 1e-9; t += step) {
    const ty = y(t).toFixed(1);
    parts.push(
      `<line x1="${L.plotLeft}" x2="${L.plotLeft + L.plotW}" y1="${ty}" y2="${ty}" stroke="#e3e3e3" stroke-width="1"/>`,
    );
    parts.push(
      `<text x="${L.plotLeft - 8}" y="${(y(t) + 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#333">${formatValue(t)}</text>`,
    );
  }
  chart.bars.forEach((b, i) => {
    const v = Number.isFinite(b.value) ? b.value : 0;
    const x = L.barX[i]! - L.barW / 2;
    const top = y(v);
    const fill = i === 0 ? BAR_COLORS.attack : BAR_COLORS.baseline;
    parts.push(
      `<rect x="${x.toFixed(1)}" y="${top.toFixed(2)}" width="${L.barW}" height="${(L.plotTop + L.plotH - top).toFixed(2)}" fill="${fill}"/>`,
    );
    parts.push(
      `<text x="${L.barX[i]}" y="${(top - 6).toFixed(1)}" font-size="12" text-anchor="middle" font-weight="bold">${formatValue(b.value)}</text>`,
    );
    parts.push(
      `<text x="${L.barX[i]}" y="${L.plotTop + L.plotH + 20}" font-size="12" text-anchor="middle">${escapeXml(b.label)}</text>`,
    );
  });
  const axisY = L.plotTop + L.plotH;
  parts.push(
    `<line x1="${L.plotLeft}" x2="${L.plotLeft + L.plotW}" y1="${axisY}" y2="${axisY}" stroke="#333" stroke-width="1"/>`,
  );
  parts.push(
    `<line x1="${L.plotLeft}" x2="${L.plotLeft}" y1="${L.plotTop}" y2="${axisY}" stroke="#333" stroke-width="1"/>`,
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${L.width}" height="${L.height}" font-family="${FONT_FAMILY}">${parts.join("")}</svg>`;
}

export function renderBarChart(chart: BarChart): Uint8Array {
  return svgToPng(barChartSvg(chart));
}

/** A file-name-safe slug: `Label inference (MNIST)` -> `label-inference-mnist`. */
export function slug(s: string): string {
  return (
    s
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 60) || "figure"
  );
}
