/**
 * Builds the command-line tools into plain JavaScript for Node and Deno: `npm run build` writes
 * `tools/dist/cli.js` (the `leak` command), `packages/bench/dist/cli.js` (the `bench` command)
 * and `examples/dist/*.js` (the examples).
 * Bun runs the TypeScript sources directly and needs no build.
 *
 * Why a bundle: TensorFlow.js 4.22 publishes ES modules whose relative imports have no file
 * extension (`import './gradients/Abs_grad'`), which Node's and Deno's loaders refuse, and its
 * CommonJS `main` files leave out the gradient registrations. Bundling resolves the extensionless
 * imports, and the plugin below points every bare `@tensorflow/*` import at the package's ES module
 * entry, so the bundle holds exactly one copy of tfjs-core (a second copy, from a CommonJS `main`,
 * would leave tensors without their op handler). Packages with native parts stay external.
 *
 *   npx bun tools/build.ts        (or: npm run build)
 */
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

const ENTRIES = [
  { entry: "tools/src/cli.ts", outdir: "tools/dist" },
  { entry: "packages/bench/src/cli.ts", outdir: "packages/bench/dist" },
  ...["label-attack", "save-deltas", "bench-backends"].map((name) => ({
    entry: `examples/${name}.ts`,
    outdir: "examples/dist",
  })),
];

for (const { entry, outdir } of ENTRIES) {
  const result = await Bun.build({
    entrypoints: [path.join(ROOT, entry)],
    outdir: path.join(ROOT, outdir),
    target: "node",
    format: "esm",
    external: ["@resvg/resvg-js", "bun-webgpu", "playwright-core"],
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
