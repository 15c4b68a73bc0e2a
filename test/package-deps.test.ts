/**
 * Every workspace package declares what it imports. Under Bun's isolated linker (and any strict
 * one) a package sees only the packages its own package.json lists, so an import that resolves
 * here only because npm hoisted another package's dependency to the root breaks a `bun install`.
 *
 * For each package (packages/*, tools with its experiments, and the root for test/), every bare specifier in its .ts
 * files (static and dynamic imports, `import(CONSTANT)` with the constant's string, require and
 * require.resolve) must name the package itself, a Node/Bun built-in, or a package listed in its
 * dependencies or devDependencies (a `#` subpath import: its own "imports" field); workspace packages
 * are listed with a published range that admits their version (e.g. "^0.1.0"); a third-party range must
 * be satisfied by the version package-lock.json installs.
 */
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";

const ROOT = path.resolve(import.meta.dir, "..");

interface Manifest {
  name: string;
  version: string;
  imports?: Record<string, unknown>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  workspaces?: string[];
}

function readJson<T>(file: string): T {
  return JSON.parse(fs.readFileSync(file, "utf8")) as T;
}

/** The package a bare specifier names ("@a/b/c" -> "@a/b", "x/y" -> "x"). */
export function packageOf(spec: string): string {
  const parts = spec.split("/");
  return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

function isBareThirdParty(spec: string): boolean {
  if (spec.startsWith(".") || spec.startsWith("/") || spec.startsWith("$")) return false;
  if (spec.startsWith("node:") || spec.startsWith("bun:") || spec === "bun") return false;
  return !builtinModules.includes(spec.split("/")[0]!);
}

/** Bare specifiers a source file imports (see the file comment for the forms found). */
export function importedSpecifiers(source: string): string[] {
  const out = new Set<string>();
  const patterns = [
    /\bfrom\s+["']([^"'\n]+)["']/g,
    /\bimport\s+["']([^"'\n]+)["']/g,
    /\bimport\(\s*["']([^"'\n]+)["']\s*\)/g,
    /\brequire(?:\.resolve)?\(\s*["'`]([^"'`$\n]+)["'`]\s*\)/g,
  ];
  for (const re of patterns) for (const m of source.matchAll(re)) out.add(m[1]!);
  // import(NAME) / require.resolve(`${NAME}/...`) where `const NAME = "spec"` in the same file.
  const consts = new Map<string, string>();
  for (const m of source.matchAll(/\bconst\s+([A-Za-z_$][\w$]*)\s*=\s*["']([^"'\n]+)["']/g))
    consts.set(m[1]!, m[2]!);
  for (const m of source.matchAll(/\bimport\(\s*([A-Za-z_$][\w$]*)\s*\)/g)) {
    const v = consts.get(m[1]!);
    if (v !== undefined) out.add(v);
  }
  return [...out].filter(isBareThirdParty);
}

function tsFiles(dir: string): string[] {
  const files: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    if (e.name === "node_modules") continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) files.push(...tsFiles(p));
    else if (e.name.endsWith(".ts")) files.push(p);
  }
  return files;
}

const rootManifest = readJson<Manifest>(path.join(ROOT, "package.json"));
const lock = readJson<{ packages: Record<string, { version?: string }> }>(
  path.join(ROOT, "package-lock.json"),
);

/** [folder of the package, its source folders]. */
const PACKAGES: [string, string[]][] = [
  ...fs
    .readdirSync(path.join(ROOT, "packages"))
    .filter((d) => fs.existsSync(path.join(ROOT, "packages", d, "package.json")))
    .map((d): [string, string[]] => [path.join("packages", d), ["src"]]),
  ["tools", ["src", "experiments"]],
  [".", ["test", "examples"]],
];

const workspaceVersions = new Map(
  PACKAGES.filter(([dir]) => dir !== ".").map(([dir]) => {
    const m = readJson<Manifest>(path.join(ROOT, dir, "package.json"));
    return [m.name, m.version] as const;
  }),
);

describe("every workspace package declares the packages it imports", () => {
  test("the import scanner finds each form of import", () => {
    const src = [
      `import { a } from "alpha";`,
      `import "beta/side-effect";`,
      `const m = await import("@gamma/pkg/sub");`,
      `const DELTA = "delta"; await import(DELTA);`,
      `require.resolve("epsilon/package.json");`,
      `import fs from "node:fs"; import { test } from "bun:test"; import p from "path";`,
      `import { x } from "./local.ts";`,
    ].join("\n");
    expect(importedSpecifiers(src).map(packageOf).sort()).toEqual([
      "@gamma/pkg",
      "alpha",
      "beta",
      "delta",
      "epsilon",
    ]);
  });

  for (const [dir, srcDirs] of PACKAGES) {
    const manifest = dir === "." ? rootManifest : readJson<Manifest>(path.join(ROOT, dir, "package.json"));
    test(`${manifest.name} (${dir}/package.json)`, () => {
      const declared = {
        ...manifest.peerDependencies,
        ...manifest.devDependencies,
        ...manifest.dependencies,
      };
      const missing: string[] = [];
      for (const srcDir of srcDirs) {
        for (const file of tsFiles(path.join(ROOT, dir, srcDir))) {
          if (file === import.meta.path) continue; // this file's scanner cases name made-up packages
          for (const spec of importedSpecifiers(fs.readFileSync(file, "utf8"))) {
            if (spec.startsWith("#")) {
              // A subpath import: the manifest's own "imports" field must map it.
              if (!(spec in (manifest.imports ?? {})))
                missing.push(`${path.relative(ROOT, file)} imports "${spec}", not in "imports"`);
              continue;
            }
            const name = packageOf(spec);
            if (name === manifest.name || name in declared) continue;
            missing.push(`${path.relative(ROOT, file)} imports "${spec}"`);
          }
        }
      }
      expect(missing).toEqual([]);
      const wrong: string[] = [];
      for (const [name, range] of Object.entries(declared)) {
        const workspaceVersion = workspaceVersions.get(name);
        if (workspaceVersion !== undefined) {
          // A real range, as published, that admits the workspace's own version (npm links it then).
          if (range === "*" || !Bun.semver.satisfies(workspaceVersion, range))
            wrong.push(`${name}: workspace package ${workspaceVersion}, got the range "${range}"`);
          continue;
        }
        const installed = lock.packages[`node_modules/${name}`]?.version;
        if (installed === undefined) wrong.push(`${name}: not in package-lock.json`);
        else if (!Bun.semver.satisfies(installed, range))
          wrong.push(`${name}: "${range}" does not admit the locked ${installed}`);
      }
      expect(wrong).toEqual([]);
    });
  }
});
