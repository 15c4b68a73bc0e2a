/**
 * `leak report RUN... --html FILE`: the report as one static HTML file that opens offline (no
 * scripts, no external files): the table of `report`, then for each attack and data set
 *   - bars of each setting's mean with ± sd error bars and the first baseline as a line;
 *   - where rows are defended, the metric against the owner's cost (the defence curve);
 *   - the attack model's training loss per epoch from each run's metrics.jsonl;
 *   - the reconstruction grids the runs drew (figures/grid-*.png, embedded).
 */
import fs from "node:fs";
import path from "node:path";
import type { ReportRow, RunSample } from "./report.ts";
import { formatMeanSd, readSample, reportRows } from "./report.ts";
import { readMetrics } from "./run-folder.ts";
import { barSvg, esc, PALETTE, type PlotSeries, scatterSvg } from "./svg.ts";

/** Most loss curves drawn in one chart (the first runs of the group). */
const MAX_CURVES = 12;

/** A row's name in the table: the setting fields it differs in, or "-". */
const rowName = (r: ReportRow) => r.differs.join(", ") || "-";

/** A row's name in a figure: the values of the fields it differs in (`topk:1 adaptive`), or "-". */
const shortName = (r: ReportRow) =>
  r.differs.map((d) => d.slice(d.indexOf("=") + 1).replace(/"/g, "")).join(" ") || "-";

/**
 * The defence curve of a group: its metric against the owner's cost, adaptive and non-adaptive apart,
 * with one baseline as a line: `baseline` (a key of the rows' `baselines`; throws when they have no
 * such baseline), or else the first.
 */
export function defenceCurveSvg(title: string, rows: readonly ReportRow[], baseline?: string): string | null {
  if (!rows.some((r) => r.ownerCost)) return null;
  const point = (r: ReportRow) => ({
    x: r.ownerCost?.distortionL1 ?? 0,
    y: r.mean,
    // Both threat models of a defence have the same cost: only one point is labelled.
    ...(r.setting.threat === "non-adaptive" ? {} : { label: String(r.setting.defence ?? "none") }),
  });
  const undefended = rows.filter((r) => (r.setting.defence ?? "none") === "none");
  const defended = (threat: string) =>
    rows.filter((r) => (r.setting.defence ?? "none") !== "none" && r.setting.threat === threat);
  const series: PlotSeries[] = [
    { name: "undefended", marker: "circle", color: "black", points: undefended.map(point) },
    { name: "adaptive", marker: "circle", color: PALETTE[0]!, points: defended("adaptive").map(point) },
    {
      name: "non-adaptive",
      marker: "square",
      color: PALETTE[1]!,
      points: defended("non-adaptive").map(point),
    },
  ];
  const baselines = rows[0]!.baselines;
  if (baseline !== undefined && !(baseline in baselines)) {
    const have = Object.keys(baselines).join(", ") || "none";
    throw new Error(`defence curve of ${title}: no baseline "${baseline}"; the runs have: ${have}`);
  }
  const [name, value] =
    baseline !== undefined
      ? [baseline, baselines[baseline]!]
      : (Object.entries(baselines)[0] ?? ["baseline", Number.NaN]);
  return scatterSvg({
    title: `${title}: ${rows[0]!.metric} against the owner's cost`,
    xLabel: "mean L1 distortion of a posterior (owner's cost)",
    yLabel: `attack ${rows[0]!.metric}`,
    series: series.filter((s) => s.points.length > 0),
    lines: Number.isFinite(value) ? [{ y: value, name: `${name} baseline` }] : [],
  });
}

/** Bars of each row's mean ± sd, the first baseline's mean as a line. */
function barsOf(title: string, rows: readonly ReportRow[]): string {
  const [name, value] = Object.entries(rows[0]!.baselines)[0] ?? ["baseline", Number.NaN];
  return barSvg({
    title,
    yLabel: rows[0]!.metric,
    bars: rows.map((r) => ({
      label: shortName(r),
      value: r.mean,
      err: Number.isFinite(r.sd) ? r.sd : undefined,
    })),
    lines: Number.isFinite(value) ? [{ y: value, name: `${name} (mean)` }] : [],
  });
}

/** Training loss per epoch of the attack model (metrics.jsonl events of stage attack-*), one line per run. */
function lossCurves(title: string, rows: readonly ReportRow[]): string | null {
  const series: PlotSeries[] = [];
  for (const r of rows) {
    for (const [i, dir] of r.runs.entries()) {
      if (series.length >= MAX_CURVES) break;
      const events = readMetrics(path.join(dir, "metrics.jsonl"));
      const stage = events.find(
        (e) => String(e.stage).startsWith("attack-") && typeof e.loss === "number",
      )?.stage;
      const points = events
        .filter((e) => e.stage === stage && typeof e.epoch === "number" && typeof e.loss === "number")
        .map((e) => ({ x: e.epoch as number, y: e.loss as number }));
      if (points.length === 0) continue;
      const color = PALETTE[series.length % PALETTE.length]!;
      series.push({ name: `${shortName(r)} s${r.seeds[i]}`, marker: "none", color, points, line: true });
    }
  }
  if (series.length === 0) return null;
  return scatterSvg({
    title: `${title}: attack training loss`,
    xLabel: "epoch",
    yLabel: "loss",
    series,
    width: 720,
  });
}

/** The image grids of each row's first run, as embedded PNG images. */
function grids(rows: readonly ReportRow[]): string[] {
  const out: string[] = [];
  for (const r of rows) {
    const dir = r.runs[0]!;
    const result = JSON.parse(fs.readFileSync(path.join(dir, "result.json"), "utf8")) as {
      figures?: { grids?: { title: string; file: string }[] };
    };
    for (const g of result.figures?.grids ?? []) {
      const file = path.join(dir, g.file);
      if (!fs.existsSync(file)) continue;
      const data = fs.readFileSync(file).toString("base64");
      out.push(
        `<figure><img alt="${esc(g.title)}" src="data:image/png;base64,${data}"><figcaption>${esc(g.title)} (${esc(rowName(r))}, seed ${r.seeds[0]})</figcaption></figure>`,
      );
    }
  }
  return out;
}

function table(rows: readonly ReportRow[]): string {
  const costs = rows.some((r) => r.ownerCost);
  const head = ["attack", "data set", "setting", "metric", "mean ± sd", "n", "seeds", "baselines (mean)"];
  if (costs) head.push("owner's accuracy (undefended), L1 distortion");
  const body = rows.map((r) => {
    const base = Object.entries(r.baselines)
      .map(([k, v]) => `${k} ${Number(v.toPrecision(3))}`)
      .join(", ");
    const c = r.ownerCost;
    const cells = [
      r.attack,
      r.dataset,
      rowName(r),
      r.metric,
      formatMeanSd(r.mean, r.sd),
      String(r.n),
      r.seeds.join(", "),
      base,
    ];
    if (costs)
      cells.push(
        c
          ? `${c.accuracy.toFixed(3)} (${c.accuracyUndefended.toFixed(3)}), ${c.distortionL1.toFixed(3)}`
          : "-",
      );
    return `<tr>${cells.map((x) => `<td>${esc(x)}</td>`).join("")}</tr>`;
  });
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${body.join("")}</tbody></table>`;
}

const STYLE = `body{font-family:sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}th{background:#f3f3f3}figure{margin:1em 0}
section{margin-top:2em}img{image-rendering:pixelated;max-width:100%}svg{max-width:100%;height:auto}`;

/** The report over `samples` as one HTML document. */
export function reportHtml(samples: readonly RunSample[], generated: Date = new Date()): string {
  const rows = reportRows(samples);
  const groups = new Map<string, ReportRow[]>();
  for (const r of rows) {
    const key = `${r.attack} on ${r.dataset} (${r.metric})`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const sections = [...groups].map(([title, g]) => {
    const figures = [barsOf(title, g), defenceCurveSvg(title, g), lossCurves(title, g)].filter(
      (x) => x !== null,
    );
    return `<section><h2>${esc(title)}</h2>\n${figures.map((f) => `<figure>${f}</figure>`).join("\n")}\n${grids(g).join("\n")}</section>`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>updates-leak report</title><style>${STYLE}</style></head>
<body><h1>updates-leak report</h1>
<p>${samples.length} run(s), ${rows.length} setting(s); generated ${esc(generated.toISOString())}. Mean ± sample sd over seeds.</p>
${table(rows)}
${sections.join("\n")}
</body></html>
`;
}

/** The HTML report of run folders (as `leak report` reads them). */
export function htmlReportOf(dirs: readonly string[]): string {
  return reportHtml(dirs.map(readSample));
}
