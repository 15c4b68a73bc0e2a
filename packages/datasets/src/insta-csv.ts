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
 * - Features are standardised per column with the mean and population std of the whole file.
 * No published checksum exists, so files are structure-checked only (reported as such).
 */

import { readDataFile } from "./bytes.ts";
import { makeFeatureDataset, standardiseInPlace } from "./dataset.ts";
import { DataError } from "./errors.ts";
import { INSTA_FEATURES } from "./insta-synthetic.ts";
import type { Dataset } from "./types.ts";

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

export async function loadInstaCsv(path: string, opts: InstaCsvOptions = {}): Promise<Dataset> {
  const file = await readDataFile(path);
  const lines = new TextDecoder().decode(file.data).split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === "") lines.pop();
  if (lines.length === 0)
    throw new DataError("empty CSV; expected 168 feature columns and a label column", path);
  const first = splitLine(lines[0]!);
  // A header has more non-numeric fields than a data line (labels may be strings).
  const nonNumeric = (fields: string[]) => fields.filter((f) => !isNumber(f)).length;
  const hasHeader =
    lines.length > 1 ? nonNumeric(first) > nonNumeric(splitLine(lines[1]!)) : nonNumeric(first) > 1;
  const header = hasHeader ? first.map((h) => h.trim()) : null;
  const width = first.length;

  let labelIndex: number;
  if (typeof opts.labelColumn === "number") labelIndex = opts.labelColumn;
  else if (typeof opts.labelColumn === "string") {
    if (header === null) {
      throw new DataError(
        `option labelColumn "${opts.labelColumn}" names a column, but the CSV has no header`,
        path,
      );
    }
    labelIndex = header.indexOf(opts.labelColumn);
    if (labelIndex < 0) {
      throw new DataError(
        `no column named "${opts.labelColumn}" (option labelColumn); header: ${header.join(",")}`,
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

  const numeric = rawLabels.every((s) => /^\d+$/.test(s));
  let classNames: string[];
  const labels = new Uint8Array(count);
  if (numeric) {
    const values = rawLabels.map(Number);
    const max = values.reduce((a, b) => Math.max(a, b), 0);
    const k = opts.numClasses ?? max + 1;
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
    const k = opts.numClasses ?? classNames.length;
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

  const normalization = standardiseInPlace(
    x,
    count,
    featureCount,
    "per-feature standardisation with the mean and population std of all records of the CSV",
  );
  return makeFeatureDataset({
    name: "insta-ny",
    numClasses: classNames.length,
    classNames,
    labels,
    x,
    featureCount,
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
