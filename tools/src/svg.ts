/**
 * Plots as self-contained SVG strings (no scripts, no external fonts or files), for docs and for
 * reports that must open offline: a scatter/line plot of series on linear axes (optionally with
 * horizontal reference lines, such as a baseline) and a bar chart with error bars. Pure string
 * building; no I/O.
 */

export interface PlotPoint {
  x: number;
  y: number;
  /** Written beside the point. */
  label?: string;
}

export interface PlotSeries {
  name: string;
  /** "circle" (filled), "square" (open) or "none" (a line only). */
  marker: "circle" | "square" | "none";
  color: string;
  points: readonly PlotPoint[];
  /** Join the points with a line, in order. */
  line?: boolean;
}

export interface PlotOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly PlotSeries[];
  /** Horizontal lines, e.g. a baseline: y and a name. */
  lines?: readonly { y: number; name: string }[];
  width?: number;
  height?: number;
}

/** Colours for series, in order (cycled). */
export const PALETTE = [
  "#1f77b4",
  "#d62728",
  "#2ca02c",
  "#ff7f0e",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
];

export const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const f1 = (v: number) => v.toFixed(1);

/** About six round tick values covering [lo, hi]. */
export function ticks(lo: number, hi: number): number[] {
  const span = hi - lo || Math.abs(hi) || 1;
  const raw = span / 6;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

/** A data range padded by 5% on each side (a single value gets a unit range). */
function range(values: readonly number[]): [number, number] {
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (hi === lo) {
    lo -= 0.5;
    hi += 0.5;
  }
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

const MARGIN = { left: 64, right: 170, top: 36, bottom: 52 };

/** The frame of a plot: the page mapping of y, the y axis with ticks, the title and axis labels. */
function frame(
  W: number,
  H: number,
  title: string,
  xLabel: string,
  yLabel: string,
  [y0, y1]: [number, number],
  bottom = MARGIN.bottom,
) {
  const m = { ...MARGIN, bottom };
  const py = (y: number) => H - m.bottom - ((y - y0) / (y1 - y0)) * (H - m.top - m.bottom);
  const [bx, by] = [m.left, H - m.bottom];
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<title>${esc(title)}</title>`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`,
    `<line x1="${bx}" y1="${by}" x2="${W - m.right}" y2="${by}" stroke="black"/>`,
    `<line x1="${bx}" y1="${by}" x2="${bx}" y2="${m.top}" stroke="black"/>`,
    `<text x="${(bx + W - m.right) / 2}" y="${H - 12}" text-anchor="middle">${esc(xLabel)}</text>`,
    `<text transform="translate(16 ${(m.top + by) / 2}) rotate(-90)" text-anchor="middle">${esc(yLabel)}</text>`,
  ];
  for (const t of ticks(y0, y1)) {
    parts.push(
      `<line x1="${bx - 4}" y1="${f1(py(t))}" x2="${bx}" y2="${f1(py(t))}" stroke="black"/>`,
      `<text x="${bx - 6}" y="${f1(py(t) + 4)}" text-anchor="end">${t}</text>`,
    );
  }
  // A line's name: right of the plot, or (`inside`, where a legend takes the right margin) above the
  // line's right end.
  const hline = (y: number, name: string, inside = false) => [
    `<line x1="${bx}" y1="${f1(py(y))}" x2="${W - m.right}" y2="${f1(py(y))}" stroke="gray" stroke-dasharray="4 3"/>`,
    inside
      ? `<text x="${W - m.right - 4}" y="${f1(py(y) - 4)}" text-anchor="end" fill="gray">${esc(name)}</text>`
      : `<text x="${W - m.right + 4}" y="${f1(py(y) + 4)}" fill="gray">${esc(name)}</text>`,
  ];
  return { parts, py, bx, by, right: W - m.right, hline };
}

function marker(s: PlotSeries, x: number, y: number): string {
  if (s.marker === "none") return "";
  return s.marker === "circle"
    ? `<circle cx="${f1(x)}" cy="${f1(y)}" r="4" fill="${s.color}"/>`
    : `<rect x="${f1(x - 4)}" y="${f1(y - 4)}" width="8" height="8" fill="none" stroke="${s.color}" stroke-width="1.5"/>`;
}

/**
 * Point labels that keep clear of each other: each goes above right of its point (left of it with
 * `left`, near the legend), or, when that box meets one placed before, the next free place below
 * or above. Boxes are estimated at 6.2 px per character of the 11 px font.
 */
function pointLabels() {
  const boxes: { x0: number; x1: number; y0: number; y1: number }[] = [];
  return (x: number, y: number, text: string, left: boolean): string => {
    const w = 6.2 * text.length;
    const x0 = left ? x - 6 - w : x + 6;
    let base = y - 5;
    for (const dy of [0, 13, -13, 26, -26, 39]) {
      const b = { x0, x1: x0 + w, y0: y - 5 + dy - 10, y1: y - 5 + dy + 2 };
      if (!boxes.some((o) => b.x0 < o.x1 && o.x0 < b.x1 && b.y0 < o.y1 && o.y0 < b.y1)) {
        base = y - 5 + dy;
        boxes.push(b);
        break;
      }
    }
    return left
      ? `<text x="${f1(x - 6)}" y="${f1(base)}" text-anchor="end">${esc(text)}</text>`
      : `<text x="${f1(x + 6)}" y="${f1(base)}">${esc(text)}</text>`;
  };
}

/** Series of points (and lines) on linear axes, a legend on the right. */
export function scatterSvg(o: PlotOptions): string {
  const W = o.width ?? 640;
  const H = o.height ?? 420;
  const all = o.series.flatMap((s) => s.points);
  if (all.length === 0) throw new Error(`scatterSvg "${o.title}": no points`);
  const [x0, x1] = range(all.map((p) => p.x));
  const fr = frame(
    W,
    H,
    o.title,
    o.xLabel,
    o.yLabel,
    range([...all.map((p) => p.y), ...(o.lines ?? []).map((l) => l.y)]),
  );
  const px = (x: number) => fr.bx + ((x - x0) / (x1 - x0)) * (fr.right - fr.bx);
  const parts = fr.parts;
  for (const t of ticks(x0, x1)) {
    parts.push(
      `<line x1="${f1(px(t))}" y1="${fr.by}" x2="${f1(px(t))}" y2="${fr.by + 4}" stroke="black"/>`,
      `<text x="${f1(px(t))}" y="${fr.by + 16}" text-anchor="middle">${t}</text>`,
    );
  }
  for (const l of o.lines ?? []) parts.push(...fr.hline(l.y, l.name, true));
  const label = pointLabels();
  o.series.forEach((s, i) => {
    const ly = MARGIN.top + 14 + i * 16;
    const key =
      s.marker === "none"
        ? `<line x1="${fr.right + 6}" y1="${ly - 4}" x2="${fr.right + 18}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"/>`
        : marker(s, fr.right + 12, ly - 4);
    parts.push(key, `<text x="${fr.right + 22}" y="${ly}">${esc(s.name)}</text>`);
    if (s.line && s.points.length > 1) {
      const d = s.points.map((p, j) => `${j === 0 ? "M" : "L"}${f1(px(p.x))} ${f1(fr.py(p.y))}`).join(" ");
      parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"/>`);
    }
    for (const p of s.points) {
      parts.push(marker(s, px(p.x), fr.py(p.y)));
      if (p.label) parts.push(label(px(p.x), fr.py(p.y), p.label, px(p.x) > fr.right - 60));
    }
  });
  parts.push("</svg>");
  return `${parts.filter((p) => p !== "").join("\n")}\n`;
}

export interface BarOptions {
  title: string;
  yLabel: string;
  /** One bar each: its label under it, its value, and an error bar of ± err where given. */
  bars: readonly { label: string; value: number; err?: number }[];
  lines?: readonly { y: number; name: string }[];
  width?: number;
  height?: number;
}

/** Bars from zero (or from the lowest value when it is negative) with error bars; labels under them. */
export function barSvg(o: BarOptions): string {
  if (o.bars.length === 0) throw new Error(`barSvg "${o.title}": no bars`);
  const W = o.width ?? Math.max(420, 120 + 60 * o.bars.length + MARGIN.right);
  // Labels wider than their slot are turned 35 degrees, with room below for the longest.
  const slotGuess = (W - MARGIN.left - MARGIN.right) / o.bars.length;
  const longest = Math.max(...o.bars.map((b) => b.label.length));
  const turn = longest * 6.5 > slotGuess;
  const bottom = turn ? Math.min(220, 30 + longest * 4) : MARGIN.bottom;
  const H = (o.height ?? 420) + bottom - MARGIN.bottom;
  const ends = o.bars.flatMap((b) => [b.value - (b.err ?? 0), b.value + (b.err ?? 0)]);
  const [lo, hi] = range([0, ...ends, ...(o.lines ?? []).map((l) => l.y)]);
  const fr = frame(W, H, o.title, "", o.yLabel, [Math.min(0, lo), hi], bottom);
  const parts = fr.parts;
  const slot = (fr.right - fr.bx) / o.bars.length;
  o.bars.forEach((b, i) => {
    const cx = fr.bx + slot * (i + 0.5);
    const [top, base] = [fr.py(Math.max(b.value, 0)), fr.py(Math.min(b.value, 0))];
    parts.push(
      `<rect x="${f1(cx - slot * 0.3)}" y="${f1(top)}" width="${f1(slot * 0.6)}" height="${f1(Math.max(0.5, base - top))}" fill="${PALETTE[i % PALETTE.length]}"/>`,
      turn
        ? `<text transform="translate(${f1(cx + 4)} ${fr.by + 12}) rotate(-35)" text-anchor="end">${esc(b.label)}</text>`
        : `<text x="${f1(cx)}" y="${fr.by + 16}" text-anchor="middle">${esc(b.label)}</text>`,
      `<text x="${f1(cx)}" y="${f1(top - 6)}" text-anchor="middle">${Number(b.value.toPrecision(3))}</text>`,
    );
    if (b.err !== undefined && Number.isFinite(b.err) && b.err > 0) {
      const [a, z] = [fr.py(b.value - b.err), fr.py(b.value + b.err)];
      parts.push(
        `<path d="M${f1(cx)} ${f1(a)} L${f1(cx)} ${f1(z)} M${f1(cx - 6)} ${f1(a)} L${f1(cx + 6)} ${f1(a)} M${f1(cx - 6)} ${f1(z)} L${f1(cx + 6)} ${f1(z)}" stroke="black" class="error-bar"/>`,
      );
    }
  });
  for (const l of o.lines ?? []) parts.push(...fr.hline(l.y, l.name));
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
