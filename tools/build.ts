/**
 * `npm run build` (npx bun tools/build.ts): everything Node, Deno and npm need, in two parts.
 *
 * 1. The libraries (`@updates-leak/core`, `datasets`, `attacks`) as published: `tsc` writes `.js`,
 *    `.d.ts` and source maps to each package's `dist/`, in dependency order. Their manifests send
 *    Bun to `src/*.ts` (the `bun` export condition) and everything else to `dist/`. One more file,
 *    `packages/core/dist/tfjs-gradients.js`, is tfjs-core's gradient registrations bundled into a
 *    single module (see packages/core/src/tfjs-gradients.ts for why).
 * 2. Self-contained bundles of the command-line tools for Node and Deno: `tools/dist/cli.js` (the
 *    `leak` command), `packages/bench/dist/cli.js` (`bench`) and `examples/dist/*.js`.
 *
 * Why bundles: TensorFlow.js 4.22 publishes ES modules whose relative imports have no file
 * extension (`import './gradients/Abs_grad'`), which Node's and Deno's loaders refuse, and its
 * CommonJS `main` files leave out the gradient registrations. Bundling resolves the extensionless
 * imports, and the plugin below points every bare `@tensorflow/*` import at the package's ES module
 * entry, so the bundle holds exactly one copy of tfjs-core (a second copy, from a CommonJS `main`,
 * would leave tensors without their op handler). Packages with native parts stay external.
 * Bun runs the TypeScript sources directly and needs neither part.
 *
 *   npx bun tools/build.ts        (or: npm run build)
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { BunPlugin } from "bun";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");

/** `@tensorflow/<name>` (bare) -> `node_modules/@tensorflow/<name>/dist/index.js`. */
const tfjsEsm: BunPlugin = {
  name: "tfjs-esm-entries",
  setup(build) {
    build.onResolve({ filter: /^@tensorflow\/tfjs-[a-z-]+$/ }, (args) => ({
      path: path.join(ROOT, "node_modules", args.path, "dist", "index.js"),
    }));
  },
};

/** The libraries, dependencies first: each one's types come from the dist/ built before it. */
const LIBRARIES = ["core", "datasets", "attacks"];

async function buildLibraries(): Promise<void> {
  for (const name of LIBRARIES)
    fs.rmSync(path.join(ROOT, "packages", name, "dist"), { recursive: true, force: true });
  const tsc = path.join(ROOT, "node_modules", ".bin", "tsc");
  for (const name of LIBRARIES) {
    const project = path.join(ROOT, "packages", name, "tsconfig.build.json");
    const r = spawnSync(tsc, ["-p", project], { encoding: "utf8" });
    if (r.status !== 0)
      throw new Error(`tsc -p ${path.relative(ROOT, project)} failed:\n${r.stdout}${r.stderr}`);
    console.log(`packages/${name}/dist  (tsc)`);
  }
  // After tsc, which emits src/tfjs-gradients.ts as a plain re-import: replaced by the bundle.
  const coreDist = path.join(ROOT, "packages/core/dist");
  for (const f of ["tfjs-gradients.js.map", "tfjs-gradients.d.ts", "tfjs-gradients.d.ts.map"]) {
    fs.rmSync(path.join(coreDist, f), { force: true });
  }
  const gradients = await Bun.build({
    entrypoints: [path.join(ROOT, "node_modules/@tensorflow/tfjs-core/dist/register_all_gradients.js")],
    outdir: coreDist,
    naming: "tfjs-gradients.js",
    target: "browser", // plain ES module: runs in Node, Deno and pages alike
    format: "esm",
  });
  if (!gradients.success) {
    for (const log of gradients.logs) console.error(log);
    throw new Error("bundling tfjs-core's gradient registrations failed");
  }
}

const ENTRIES = [
  { entry: "tools/src/cli.ts", outdir: "tools/dist" },
  { entry: "packages/bench/src/cli.ts", outdir: "packages/bench/dist" },
  ...["label-attack", "save-deltas", "bench-backends"].map((name) => ({
    entry: `examples/${name}.ts`,
    outdir: "examples/dist",
  })),
];

await buildLibraries();
for (const { entry, outdir } of ENTRIES) {
  const result = await Bun.build({
    entrypoints: [path.join(ROOT, entry)],
    outdir: path.join(ROOT, outdir),
    target: "node",
    format: "esm",
    external: ["@resvg/resvg-js", "bun-webgpu", "playwright-core"],
    conditions: ["bun"], // our packages' TypeScript sources, not their dist/
    banner: entry.endsWith("cli.ts") ? "#!/usr/bin/env node" : "",
    plugins: [tfjsEsm],
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    throw new Error(`build of ${entry} failed`);
  }
  for (const out of result.outputs) {
    console.log(`${path.relative(ROOT, out.path)}  ${(out.size / 1e6).toFixed(2)} MB`);
  }
}
