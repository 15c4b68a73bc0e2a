/**
 * The `data` suite: the decode benchmark of datasets.bench.ts as records (backend "none": no
 * tensors). Rates are samples per second where a figure produces samples. A data set whose files
 * are not found gives one skipped record naming the places tried.
 */
import { datasetsDecode } from "../datasets.bench.ts";
import type { BenchRecord } from "../record.ts";
import type { SuiteContext } from "./context.ts";

export async function dataSuite(ctx: SuiteContext): Promise<BenchRecord[]> {
  const repeats = ctx.opts.repeats ?? (ctx.opts.smoke ? 1 : 2);
  ctx.log("data: decoding MNIST, CIFAR-10, synthetic Insta-NY");
  const result = await datasetsDecode({
    repeats,
    smoke: ctx.opts.smoke,
    ...(ctx.opts.dataDir === null ? {} : { dataDir: ctx.opts.dataDir }),
  });
  const records: BenchRecord[] = [];
  for (const f of result.figures) {
    const params: Record<string, unknown> = { dataset: f.dataset, samples: f.count };
    if (f.compressedMB !== undefined) params.compressedMB = f.compressedMB;
    if (f.decompressedMB !== undefined) params.decompressedMB = f.decompressedMB;
    records.push(
      ctx.record(
        {
          case: `${f.dataset} ${f.name}`,
          params,
          timing: f.timing,
          ...(f.count > 0 ? { rate: { unit: "samples/s", perRun: f.count } } : {}),
        },
        "none",
      ),
    );
  }
  for (const s of result.skipped) {
    ctx.warn(`data: ${s.dataset} skipped: ${s.reason.split("\n")[0]}`);
    records.push(
      ctx.record(
        { case: `${s.dataset} load`, params: { dataset: s.dataset }, timing: null, notes: [s.reason] },
        "none",
      ),
    );
  }
  for (const r of records) {
    const [load, materialise, gunzip] = result.notes;
    if (/ load/.test(r.case) && load) r.notes.push(load);
    if (/materialise/.test(r.case) && materialise) r.notes.push(materialise);
    if (r.case.includes("Bun.gunzipSync") && gunzip) r.notes.push(gunzip);
  }
  return records;
}
