/**
 * Prints a Markdown results table from run folders: attack, data set, the attack's metric against
 * its baselines and the paper's number, the wall time, and the command that produced the row.
 * Usage: npx bun tools/src/results-table.ts runs/<dir> [runs/<dir> ...]
 */
import { readFileSync } from "node:fs";
import path from "node:path";

/** The paper's figures (PAPER.md), per attack and data set, in words. */
const PAPER: Record<string, Record<string, string>> = {
  label: { mnist: "0.68", cifar10: "0.96", "insta-ny": "0.97" },
  reconstruct: {
    mnist: "36% below Random, 22% below Label-random; AE 0.042",
    cifar10: "0.014; AE 0.0043",
    "insta-ny": "0.68 (2.1x below Label-random); AE 0.51",
  },
  distribution: {
    mnist: "KL well below a random histogram (figure)",
    cifar10: "(figure)",
    "insta-ny": "(figure)",
  },
  msr: { mnist: "below random sets (figure)", cifar10: "(figure)", "insta-ny": "(figure)" },
};

interface Row {
  attack: string;
  dataset: string;
  metric: string;
  value: number;
  baselines: Record<string, number>;
  seconds: number;
  command: string;
}

function fmt(v: number): string {
  return Number.isFinite(v) ? String(Number(v.toPrecision(3))) : "n/a";
}

export function readRow(dir: string): Row {
  const result = JSON.parse(readFileSync(path.join(dir, "result.json"), "utf8"));
  const config = JSON.parse(readFileSync(path.join(dir, "config.json"), "utf8"));
  const r = result.result ?? result;
  const argv: string[] = config.invocation?.argv ?? [];
  const shown = argv.filter((a, i) => !(a.startsWith("--run") || argv[i - 1]?.startsWith("--run")));
  return {
    attack: r.attack,
    dataset: r.dataset,
    metric: r.metric,
    value: r.value,
    baselines: r.baselines ?? {},
    seconds: r.timingsSeconds?.total ?? Number.NaN,
    command: `npm run leak -- ${shown.join(" ")}`,
  };
}

export function table(rows: Row[]): string {
  const lines = [
    "| attack | data set | metric | this project | baselines | paper | time | command |",
    "|---|---|---|---|---|---|---|---|",
  ];
  for (const r of rows) {
    const base = Object.entries(r.baselines)
      .map(([k, v]) => `${k} ${fmt(v)}`)
      .join(", ");
    const paperKey = r.dataset.startsWith("insta-ny") ? "insta-ny" : r.dataset;
    lines.push(
      `| ${r.attack} | ${r.dataset} | ${r.metric} | ${fmt(r.value)} | ${base} | ${PAPER[r.attack]?.[paperKey] ?? ""} | ` +
        `${Math.round(r.seconds)} s | \`${r.command}\` |`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const dirs = process.argv.slice(2);
  if (dirs.length === 0) {
    console.error("usage: npx bun tools/src/results-table.ts RUN_DIR [RUN_DIR ...]");
    process.exit(2);
  }
  console.log(table(dirs.map(readRow)));
}
