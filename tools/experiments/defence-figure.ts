/**
 * The figures of docs/DEFENCES.md: an attack's metric against the owner's cost (the defence's mean
 * L1 distortion of a posterior), one point per setting (mean over its seeds), adaptive and
 * non-adaptive apart, the undefended run at 0 and a baseline as a line: the first, or the one
 * `--baseline NAME` names (A_LDE's telling one is `prior`, not the first, `random_histogram`). The
 * same figure as the HTML report's defence curve.
 *
 *   npx bun tools/experiments/defence-figure.ts [--baseline NAME] OUT.svg "A_LI, MNIST" RUN_DIR_OR_FOLDER...
 */
import { writeFileAtomic } from "../src/atomic.ts";
import { defenceCurveSvg } from "../src/html-report.ts";
import { readSample, reportRows, runFolders } from "../src/report.ts";

const argv = process.argv.slice(2);
const at = argv.indexOf("--baseline");
const baseline = at >= 0 ? argv.splice(at, 2)[1] : undefined;
const [out, title, ...dirs] = argv;
if (!out || !title || dirs.length === 0 || (at >= 0 && !baseline)) {
  console.error('usage: defence-figure.ts [--baseline NAME] OUT.svg "TITLE" RUN_DIR...');
  process.exit(2);
}
const rows = reportRows(runFolders(dirs).map(readSample));
let svg: string | null;
try {
  svg = defenceCurveSvg(title, rows, baseline);
} catch (e) {
  console.error(`defence-figure: --baseline: ${(e as Error).message}`);
  process.exit(2);
}
if (!svg) {
  console.error("defence-figure: no defended run among them");
  process.exit(1);
}
writeFileAtomic(out, svg);
console.log(`wrote ${out} (${rows.length} settings)`);
