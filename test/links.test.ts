/**
 * Every relative link and image in the repository's markdown resolves: the file (or folder) exists, and
 * a `#anchor` names a heading of the target markdown file (GitHub's heading ids). Links inside code
 * blocks and code spans are not links and are skipped; absolute URLs are not checked here (no network).
 * Files: `git ls-files` of *.md, tracked or new but not ignored.
 */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(import.meta.dir, "..");

/** The markdown with fenced code blocks blanked and code spans removed (line numbers kept). */
export function proseOf(markdown: string): string[] {
  let fence: string | null = null;
  return markdown.split("\n").map((line) => {
    const f = /^\s*(```+|~~~+)/.exec(line);
    if (fence !== null) {
      if (f && (f[1] as string)[0] === fence[0] && (f[1] as string).length >= fence.length) fence = null;
      return "";
    }
    if (f) {
      fence = f[1] as string;
      return "";
    }
    return line.replace(/(`+)[\s\S]*?\1/g, "");
  });
}

/** Link and image targets `[text](target)` and reference definitions `[x]: target`, with line numbers. */
export function linkTargets(markdown: string): { line: number; target: string }[] {
  const out: { line: number; target: string }[] = [];
  proseOf(markdown).forEach((text, i) => {
    for (const m of text.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
      out.push({ line: i + 1, target: m[1] as string });
    }
    const def = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(text);
    if (def) out.push({ line: i + 1, target: def[1] as string });
  });
  return out;
}

/** GitHub's heading ids: lowercase, punctuation dropped, spaces to hyphens, repeats numbered -1, -2. */
export function headingIds(markdown: string): Set<string> {
  const ids = new Set<string>();
  const seen = new Map<string, number>();
  let fence = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*(```|~~~)/.test(line)) fence = !fence;
    if (fence) continue;
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!h) continue;
    const text = (h[1] as string)
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1") // links and images keep their text
      .replace(/<[^>]+>/g, "");
    const base = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}\p{Pc} -]/gu, "")
      .replace(/ /g, "-");
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    ids.add(n === 0 ? base : `${base}-${n}`);
  }
  for (const m of markdown.matchAll(/<a\s+(?:name|id)="([^"]+)"/g)) ids.add(m[1] as string);
  return ids;
}

function markdownFiles(): string[] {
  const r = spawnSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z", "--", "*.md"], {
    cwd: ROOT,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`git ls-files failed: ${r.stderr}`);
  return r.stdout.split("\0").filter((f) => f !== "" && fs.existsSync(path.join(ROOT, f)));
}

/** Problems with the relative links of one markdown file (repository-relative path). */
export function brokenLinks(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8");
  const problems: string[] = [];
  for (const { line, target } of linkTargets(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, ...
    const hash = target.indexOf("#");
    const filePart = decodeURIComponent(hash < 0 ? target : target.slice(0, hash));
    const anchor = hash < 0 ? null : decodeURIComponent(target.slice(hash + 1));
    const resolved =
      filePart === "" ? path.join(ROOT, file) : path.resolve(ROOT, path.dirname(file), filePart);
    const where = `${file}:${line}: ${target}`;
    if (!resolved.startsWith(ROOT)) {
      problems.push(`${where}: points outside the repository`);
      continue;
    }
    if (!fs.existsSync(resolved)) {
      problems.push(`${where}: ${path.relative(ROOT, resolved)} does not exist`);
      continue;
    }
    if (
      anchor !== null &&
      resolved.endsWith(".md") &&
      !headingIds(fs.readFileSync(resolved, "utf8")).has(anchor)
    ) {
      problems.push(`${where}: no heading #${anchor} in ${path.relative(ROOT, resolved)}`);
    }
  }
  return problems;
}

describe("markdown links", () => {
  test("the parsers: links, images, code skipped, GitHub heading ids", () => {
    const md = [
      "# A_LDE's update-set-size relaxation",
      "## How it is built",
      "## How it is built",
      "## `npm run leak -- x`: the *CLI*",
      'See [x](docs/A.md#b) and ![img](fig.png "t") and `[no](code.md)`.',
      "```",
      "[no](block.md)",
      "```",
      "[ref]: other.md",
    ].join("\n");
    expect(linkTargets(md).map((l) => l.target)).toEqual(["docs/A.md#b", "fig.png", "other.md"]);
    expect([...headingIds(md)]).toEqual([
      "a_ldes-update-set-size-relaxation",
      "how-it-is-built",
      "how-it-is-built-1",
      "npm-run-leak----x-the-cli",
    ]);
  });

  test("every relative link and image in every markdown file resolves", () => {
    const files = markdownFiles();
    expect(files).toContain("README.md");
    expect(files.length).toBeGreaterThan(5);
    const problems = files.flatMap(brokenLinks);
    expect(problems).toEqual([]);
  });
});

describe("README shape", () => {
  test("README.md is under 15 KB with no prose or table line over 160 characters", () => {
    const text = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    expect(Buffer.byteLength(text, "utf8")).toBeLessThan(15 * 1024);
    let fenced = false;
    const long = text
      .split("\n")
      .map((line, i) => {
        if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
        return { line: i + 1, length: fenced ? 0 : [...line].length };
      })
      .filter((l) => l.length > 160);
    expect(long).toEqual([]);
  });
});
