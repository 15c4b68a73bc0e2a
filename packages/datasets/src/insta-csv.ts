/**
 * Loader for a real Insta-NY CSV (not distributed; no public copy exists): one record per line,
 * 168 numeric feature columns and one category label column, comma separated, optional header line.
 *
 * - Label column: `labelColumn` (header name or 0-based index); by default a column named catid,
 *   label, category or class (case-insensitive), else the last column.
 * - Dropped columns (by header name): `dropColumns`, default ["locid"] (as the public preprocessing
 *   does), plus an unnamed leading index column written by pandas ("" or "Unnamed: 0").
 * - Labels: non-negative integers are used as class indices; otherwise the distinct label strings,
 *   sorted, become classes 0..k-1 (their names are `classNames`). numClasses defaults to max+1 (or k).
 * - Features are standardised per column with the mean and population std of the whole file; the
 *   raw values are kept, and the attack pipeline re-fits the statistics on the adversary's side of
 *   its split only (`standardiseOn`, dataset.ts), so the target side never shapes the features.
 * No published checksum exists, so files are structure-checked only (reported as such).
 */

import { readDataFile } from "./bytes.ts";
import { makeFeatureDataset, standardiseInPlace } from "./dataset.ts";
import { DataError } from "./errors.ts";
import { INSTA_FEATURES } from "./insta-synthetic.ts";
import type { Dataset } from "./types.ts";

/** Parsing options of `loadInstaCsv`; the defaults are described at the top of this file. */
export interface InstaCsvOptions {
  readonly labelColumn?: string | number;
  readonly dropColumns?: readonly string[];
  /** Expected number of feature columns (default 168). */
  readonly featureCount?: number;
  /** Number of classes; default: inferred from the labels. */
  readonly numClasses?: number;
}

const LABEL_NAMES = ["catid", "label", "category", "class"];

function splitLine(line: string): string[] {
  if (!line.includes('"')) return line.split(",");
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      if (ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      out.push(cur);
      cur = "";
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

const isNumber = (s: string) => s.trim() !== "" && Number.isFinite(Number(s));

/**
 * Reads an Insta-NY CSV (raw or gzip) as a Dataset of `featureCount` (default 168) features per record,
 * standardised over the whole file (raw values kept for `standardiseOn`), structure-checked only. Throws
 * a DataError naming the file when it is missing or empty, has the wrong number of feature columns or of
 * fields in a line, a non-numeric feature, or a label out of range (or more than 256 classes).
 */
export async function loadInstaCsv(path: string, opts: InstaCsvOptions = {}): Promise<Dataset> {
  const file = await readDataFile(path);
  const lines = new TextDecoder().decode(file.data).split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === "") lines.pop();
  if (lines.length === 0)
    throw new DataError("empty CSV; expected 168 feature columns and a label column", path);
  const layout = columnLayout(path, lines, opts);
  const { x, rawLabels } = readRecords(path, lines, layout);
  const count = rawLabels.length;
  const { labels, classNames } = labelClasses(path, rawLabels, layout.hasHeader, opts.numClasses);
  const raw = x.slice();
  const normalization = standardiseInPlace(
    x,
    count,
    layout.featureCols.length,
    "per-feature standardisation with the mean and population std of all records of the CSV",
  );
  return makeFeatureDataset({
    name: "insta-ny",
    numClasses: classNames.length,
    classNames,
    labels,
    x,
    raw,
    featureCount: layout.featureCols.length,
    normalization,
    files: [
      {
        role: "csv",
        path,
        bytes: file.diskBytes,
        gzip: file.gzip,
        rawBytes: file.data.length,
        records: count,
        expectedRecords: count,
        partial: false,
        sha256: "",
        verification: "structure-only",
      },
    ],
    warnings: [`${path}: Insta-NY has no published checksum; structure checked only`],
    source: `Insta-NY CSV ${path} (${count} records)`,
  });
}

/** Where things stand in every line: the header (if any), the label column, the feature columns. */
interface ColumnLayout {
  hasHeader: boolean;
  header: string[] | null;
  width: number;
  labelIndex: number;
  featureCols: number[];
}

/** The CSV's columns, from its first lines and the options; checks the feature count. */
function columnLayout(path: string, lines: readonly string[], opts: InstaCsvOptions): ColumnLayout {
  const first = splitLine(lines[0]!);
  // A header has more non-numeric fields than a data line (labels may be strings).
  const nonNumeric = (fields: string[]) => fields.filter((f) => !isNumber(f)).length;
  const hasHeader =
    lines.length > 1 ? nonNumeric(first) > nonNumeric(splitLine(lines[1]!)) : nonNumeric(first) > 1;
  const header = hasHeader ? first.map((h) => h.trim()) : null;
  const width = first.length;
  const labelIndex = labelColumn(path, header, width, opts.labelColumn);
  const drop = new Set(opts.dropColumns ?? ["locid"]);
  const featureCols: number[] = [];
  for (let c = 0; c < width; c++) {
    if (c === labelIndex) continue;
    const name = header?.[c];
    if (name !== undefined && (drop.has(name) || (c === 0 && (name === "" || name === "Unnamed: 0"))))
      continue;
    featureCols.push(c);
  }
  const featureCount = opts.featureCount ?? INSTA_FEATURES;
  if (featureCols.length !== featureCount) {
    throw new DataError(
      `${featureCols.length} feature columns (${width} columns, label column ${labelIndex}), expected ${featureCount}`,
      path,
    );
  }
  return { hasHeader, header, width, labelIndex, featureCols };
}

/** The label column's index: the option's (a name needs the header), else a known name, else the last. */
function labelColumn(
  path: string,
  header: string[] | null,
  width: number,
  option: string | number | undefined,
): number {
  let labelIndex: number;
  if (typeof option === "number") labelIndex = option;
  else if (typeof option === "string") {
    if (header === null) {
      throw new DataError(`option labelColumn "${option}" names a column, but the CSV has no header`, path);
    }
    labelIndex = header.indexOf(option);
    if (labelIndex < 0) {
      throw new DataError(
        `no column named "${option}" (option labelColumn); header: ${header.join(",")}`,
        path,
      );
    }
  } else {
    const named = header?.findIndex((h) => LABEL_NAMES.includes(h.toLowerCase())) ?? -1;
    labelIndex = named >= 0 ? named : width - 1;
  }
  if (!Number.isInteger(labelIndex) || labelIndex < 0 || labelIndex >= width) {
    throw new DataError(`label column index ${labelIndex} out of range for ${width} columns`, path);
  }
  return labelIndex;
}

/** Every record's features (count x featureCount, as read) and its label as written. */
function readRecords(
  path: string,
  lines: readonly string[],
  layout: ColumnLayout,
): { x: Float32Array; rawLabels: string[] } {
  const { hasHeader, header, width, labelIndex, featureCols } = layout;
  const featureCount = featureCols.length;
  const body = hasHeader ? lines.slice(1) : lines;
  const count = body.length;
  const x = new Float32Array(count * featureCount);
  const rawLabels: string[] = new Array(count);
  for (let r = 0; r < count; r++) {
    const lineNo = r + (hasHeader ? 2 : 1);
    const fields = splitLine(body[r]!);
    if (fields.length !== width) {
      throw new DataError(`line ${lineNo}: ${fields.length} fields, expected ${width} as in line 1`, path);
    }
    for (let j = 0; j < featureCount; j++) {
      const c = featureCols[j]!;
      const s = fields[c]!;
      if (!isNumber(s)) {
        const col = header ? `column "${header[c]}"` : `column ${c}`;
        throw new DataError(`line ${lineNo}, ${col}: "${s}" is not a number`, path);
      }
      x[r * featureCount + j] = Number(s);
    }
    rawLabels[r] = fields[labelIndex]!.trim();
  }
  return { x, rawLabels };
}

/**
 * Class indices and names from the labels as written: non-negative integers are the indices
 * themselves, other labels are classes in sorted order; `numClasses` (default: inferred) pads.
 */
function labelClasses(
  path: string,
  rawLabels: readonly string[],
  hasHeader: boolean,
  numClasses: number | undefined,
): { labels: Uint8Array; classNames: string[] } {
  const count = rawLabels.length;
  const numeric = rawLabels.every((s) => /^\d+$/.test(s));
  let classNames: string[];
  const labels = new Uint8Array(count);
  if (numeric) {
    const values = rawLabels.map(Number);
    const max = values.reduce((a, b) => Math.max(a, b), 0);
    const k = numClasses ?? max + 1;
    for (let r = 0; r < count; r++) {
      const v = values[r]!;
      if (v >= k) {
        throw new DataError(
          `line ${r + (hasHeader ? 2 : 1)}: label ${v} out of range, expected 0..${k - 1} (option numClasses)`,
          path,
        );
      }
      labels[r] = v;
    }
    classNames = Array.from({ length: k }, (_, i) => String(i));
  } else {
    classNames = [...new Set(rawLabels)].sort();
    const k = numClasses ?? classNames.length;
    if (classNames.length > k) {
      throw new DataError(
        `${classNames.length} distinct labels, expected at most ${k} (option numClasses)`,
        path,
      );
    }
    const index = new Map(classNames.map((n, i) => [n, i]));
    for (let r = 0; r < count; r++) labels[r] = index.get(rawLabels[r]!)!;
    while (classNames.length < k) classNames.push(`class-${classNames.length}`);
  }
  if (classNames.length > 256)
    throw new DataError(`${classNames.length} classes, at most 256 supported`, path);
  return { labels, classNames };
}
