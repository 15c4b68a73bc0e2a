/**
 * Every declaration that a library's index exports carries a doc comment (`/** ... *\/` on the line
 * directly above it), so that an editor shows it and a reader of the .d.ts files finds it. The
 * index files re-export modules (`export * from "./x.ts"` or `export { a, type B } from "./x.ts"`);
 * the declarations are found in those modules. The scanner's own cases come first.
 */
import { describe, expect, test } from "bun:test";
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dir, "..");
const LIBRARIES = ["core", "datasets", "attacks"];

const DECLARATION =
  /^export (?:declare )?(?:async )?(?:abstract )?(?:function\*?|class|const|let|interface|type|enum) ([\w$]+)/;
// `["]` rather than a bare quote: test/package-deps.test.ts would read `from "..."` here as an import.
const REEXPORT = /export (?:type )?(\*|\{([^}]*)\}) from ["](\.[^"]+)["]/g;

/** Exported declarations of `source` (restricted to `names` when given) with no doc comment above. */
function undocumented(source: string, names: Set<string> | null): string[] {
  const lines = source.split("\n");
  const out: string[] = [];
  lines.forEach((line, i) => {
    const name = DECLARATION.exec(line)?.[1];
    if (name === undefined || (names !== null && !names.has(name))) return;
    let above = i - 1;
    while (above >= 0 && lines[above]!.trim().startsWith("@")) above--;
    if (!lines[above]?.trim().endsWith("*/")) out.push(name);
  });
  return out;
}

/** [module file, the names it contributes or null for all] for each re-export of an index. */
function reexports(indexFile: string): [string, Set<string> | null][] {
  const src = fs.readFileSync(indexFile, "utf8");
  return [...src.matchAll(REEXPORT)].map((m) => {
    const names =
      m[1] === "*"
        ? null
        : new Set(
            m[2]!
              .split(",")
              .map(
                (s) =>
                  s
                    .trim()
                    .replace(/^type /, "")
                    .split(" as ")[0]!,
              )
              .filter(Boolean),
          );
    return [path.join(path.dirname(indexFile), m[3]!), names];
  });
}

describe("the doc-comment scanner", () => {
  test("finds a bare export and accepts a documented one", () => {
    const src = [
      "/** Documented. */",
      "export function a(): void {}",
      "export const b = 1;",
      "// a line comment is not a doc comment",
      "export interface C {}",
      "/**",
      " * Several lines.",
      " */",
      "export class D {}",
      "export type E = number; /** trailing */",
    ].join("\n");
    expect(undocumented(src, null)).toEqual(["b", "C", "E"]);
    expect(undocumented(src, new Set(["a", "C"]))).toEqual(["C"]);
  });
});

describe.each(LIBRARIES)("@updates-leak/%s: every export documented", (name) => {
  const index = path.join(ROOT, "packages", name, "src", "index.ts");
  test("index re-exports modules", () => {
    expect(reexports(index).length).toBeGreaterThan(0);
  });
  test("no exported declaration without a doc comment", () => {
    const missing: string[] = [];
    for (const [file, names] of reexports(index)) {
      for (const n of undocumented(fs.readFileSync(file, "utf8"), names)) {
        missing.push(`${path.relative(ROOT, file)}: ${n}`);
      }
    }
    expect(missing).toEqual([]);
  });
});
