/**
 * The figures of docs/DEFENCES.md: an attack's metric against the owner's cost (the defence's mean
 * L1 distortion of a posterior), one point per setting (mean over its seeds), adaptive and
 * non-adaptive apart, the undefended run at 0 and the first baseline as a line. The same figure
 * as the HTML report's defence curve.
 *
 *   npx bun tools/experiments/defence-figure.ts OUT.svg "A_LI, MNIST" RUN_DIR_OR_FOLDER...
 */
import { writeFileAtomic } from "../src/atomic.ts";
import { defenceCurveSvg } from "../src/html-report.ts";
import { readSample, reportRows, runFolders } from "../src/report.ts";

const [out, title, ...dirs] = process.argv.slice(2);
if (!out || !title || dirs.length === 0) {
  console.error('usage: defence-figure.ts OUT.svg "TITLE" RUN_DIR...');
  process.exit(2);
}
const rows = reportRows(runFolders(dirs).map(readSample));
const svg = defenceCurveSvg(title, rows);
if (!svg) {
  console.error("defence-figure: no defended run among them");
  process.exit(1);
}
writeFileAtomic(out, svg);
console.log(`wrote ${out} (${rows.length} settings)`);
