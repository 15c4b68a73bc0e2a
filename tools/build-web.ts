/**
 * Builds the static web page (web/): `npm run build:web` writes `web/dist/` — index.html, main.js
 * (web/main.ts and the packages' own code, bundled for browsers) and tfjs-backend-wasm's three
 * .wasm binaries, which the page loads from its own folder. Any static file server serves the
 * folder; wasm threads need it to send `Cross-Origin-Opener-Policy: same-origin` and
 * `Cross-Origin-Embedder-Policy: require-corp`.
 *
 * Why a plugin for `node:` modules: @updates-leak/core and /attacks import node: APIs in modules
 * the page loads but whose node-only functions it never calls (files, hashes, the Bun/Node wasm
 * thread patches). Each `node:X` import becomes a small module whose functions throw "node:X.f is
 * not available in a web page" when called; the few with a browser meaning (the core count) get
 * one. A name missing from the table fails the build, naming the import. As in tools/build.ts,
 * bare `@tensorflow/*` imports go to each package's ES module entry (one copy of tfjs-core).
 *
 *   npx bun tools/build-web.ts [--mnist]      (or: npm run build:web)
 *
 * `--mnist` also copies MNIST's four gzipped IDX files (found as @updates-leak/datasets finds them,
 * e.g. in $UPDATES_LEAK_DATA; symlinks followed, raw files gzipped) to web/dist/data/mnist/, where
 * the page's "fetch" button and `?auto=1` look for them.
 */
import fs from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { locateDataset } from "@updates-leak/datasets";
import type { BunPlugin } from "bun";

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const WEB = path.join(ROOT, "web");
const OUT = path.join(WEB, "dist");
const WASM_DIST = path.join(ROOT, "node_modules", "@tensorflow", "tfjs-backend-wasm", "dist");
const WASM_FILES = [
  "tfjs-backend-wasm.wasm",
  "tfjs-backend-wasm-simd.wasm",
  "tfjs-backend-wasm-threaded-simd.wasm",
];
const MNIST_NAMES = [
  "train-images-idx3-ubyte",
  "train-labels-idx1-ubyte",
  "t10k-images-idx3-ubyte",
  "t10k-labels-idx1-ubyte",
];

/** Named exports of each node: module that the bundled sources import. */
const NODE_EXPORTS: Record<string, string[]> = {
  "node:child_process": ["spawnSync"],
  "node:crypto": ["createHash"],
  "node:fs": [
    "chmodSync",
    "closeSync",
    "existsSync",
    "mkdirSync",
    "mkdtempSync",
    "openSync",
    "readdirSync",
    "readFileSync",
    "renameSync",
    "rmSync",
    "statSync",
    "symlinkSync",
    "writeFileSync",
    "writeSync",
  ],
  "node:fs/promises": ["open"],
  "node:module": ["createRequire"],
  "node:os": ["availableParallelism", "cpus", "homedir", "hostname", "tmpdir"],
  "node:path": ["basename", "dirname", "join", "resolve"],
  "node:url": ["fileURLToPath"],
  "node:zlib": ["gunzipSync"],
};

/** Browser meanings of a few node: functions (JavaScript source, by "module.name"). */
const BROWSER_IMPLEMENTATIONS: Record<string, string> = {
  "node:os.availableParallelism": "() => globalThis.navigator?.hardwareConcurrency ?? 1",
  "node:os.cpus":
    "() => Array.from({ length: globalThis.navigator?.hardwareConcurrency ?? 1 }, () => ({ model: 'browser' }))",
  // Called at module load (wasm-threads.ts): the require it returns throws only when used.
  "node:module.createRequire":
    "() => Object.assign(unavailable('node:module require'), { resolve: unavailable('node:module require.resolve') })",
};

function shimSource(module: string): string {
  const names = NODE_EXPORTS[module]!;
  const lines = [
    "const unavailable = (name) => function () {",
    "  throw new Error(name + ' is not available in a web page');",
    "};",
  ];
  for (const n of names) {
    lines.push(
      `export const ${n} = ${BROWSER_IMPLEMENTATIONS[`${module}.${n}`] ?? `unavailable(${JSON.stringify(`${module}.${n}`)})`};`,
    );
  }
  lines.push(
    `const named = { ${names.join(", ")} };`,
    "export default new Proxy(named, {",
    `  get: (t, k) => (k in t ? t[k] : unavailable(${JSON.stringify(`${module}.`)} + String(k))),`,
    "});",
  );
  return lines.join("\n");
}

const browserPlugin: BunPlugin = {
  name: "updates-leak-browser",
  setup(build) {
    build.onResolve({ filter: /^@tensorflow\/tfjs-[a-z-]+$/ }, (args) => ({
      path: path.join(ROOT, "node_modules", args.path, "dist", "index.js"),
    }));
    build.onResolve({ filter: /^node:/ }, (args) => {
      if (!(args.path in NODE_EXPORTS)) {
        throw new Error(
          `${args.importer} imports ${args.path}: add it to NODE_EXPORTS in tools/build-web.ts`,
        );
      }
      return { path: args.path, namespace: "node-shim" };
    });
    build.onLoad({ filter: /.*/, namespace: "node-shim" }, (args) => ({
      contents: shimSource(args.path),
      loader: "js",
    }));
  },
};

/** Copies MNIST's four files, gzipped, to web/dist/data/mnist/; throws naming what is missing. */
function copyMnist(): void {
  const loc = locateDataset("mnist");
  const found = loc.chosen?.found;
  if (!found) {
    const tried = loc.tried.map((p) => `${p.base} (missing: ${p.missing.join(", ")})`).join("; ");
    throw new Error(`--mnist: no folder holds all four MNIST files; tried ${tried}. Set UPDATES_LEAK_DATA`);
  }
  const dir = path.join(OUT, "data", "mnist");
  fs.mkdirSync(dir, { recursive: true });
  for (const src of Object.values(found)) {
    const bytes = fs.readFileSync(src); // follows symlinks
    const gz = bytes[0] === 0x1f && bytes[1] === 0x8b;
    const name = `${path.basename(src).replace(/\.gz$/, "")}.gz`;
    if (!MNIST_NAMES.includes(name.replace(/\.gz$/, ""))) throw new Error(`--mnist: unexpected file ${src}`);
    fs.writeFileSync(path.join(dir, name), gz ? bytes : gzipSync(bytes));
    console.log(`${path.relative(ROOT, path.join(dir, name))}  (from ${src})`);
  }
}

async function main(): Promise<void> {
  fs.rmSync(OUT, { recursive: true, force: true });
  const result = await Bun.build({
    entrypoints: [path.join(WEB, "main.ts")],
    outdir: OUT,
    target: "browser",
    conditions: ["bun"], // our packages' TypeScript sources, not their dist/ (built or not)
    format: "esm",
    minify: true,
    sourcemap: "linked",
    plugins: [browserPlugin],
    throw: false,
  });
  if (!result.success) {
    for (const log of result.logs) console.error(log);
    throw new Error("build of web/main.ts failed");
  }
  fs.copyFileSync(path.join(WEB, "index.html"), path.join(OUT, "index.html"));
  for (const f of WASM_FILES) fs.copyFileSync(path.join(WASM_DIST, f), path.join(OUT, f));
  if (process.argv.includes("--mnist")) copyMnist();
  for (const f of fs.readdirSync(OUT).sort()) {
    const st = fs.statSync(path.join(OUT, f));
    if (st.isFile())
      console.log(`${path.relative(ROOT, path.join(OUT, f))}  ${(st.size / 1e6).toFixed(2)} MB`);
  }
}

await main();
