/**
 * The static page (web/, built by tools/build-web.ts) runs the smoke A_LI in headless chromium:
 * the test builds web/dist, serves it on 127.0.0.1 with a tiny node:http server that sends the
 * cross-origin isolation headers (so wasm may run threads) and serves MNIST's four gzipped files
 * under /data/mnist/ from the folder @updates-leak/datasets finds (e.g. $UPDATES_LEAK_DATA), opens
 * `?auto=1` in Debian's chromium (driven by playwright-core, no browser download), waits for the
 * run to finish, and checks that the attack beats the random baseline 0.1 by a wide margin, that
 * result.json and config.json are offered as downloads and hold what the page shows, and keeps a
 * screenshot in $UPDATES_LEAK_ARTIFACTS (else the OS temporary folder). Without chromium,
 * playwright-core or MNIST the test is skipped, with the reason in its name.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { locateDataset } from "@updates-leak/datasets";
import type { PageGlobals } from "../web/dom.ts";
import { ROOT } from "./run-support.ts";

const DIST = path.join(ROOT, "web", "dist");

/** Debian's chromium, or $CHROMIUM; null when neither is there. */
function chromiumPath(): string | null {
  for (const p of [process.env.CHROMIUM, "/usr/bin/chromium", "/usr/bin/chromium-browser"]) {
    if (p && fs.existsSync(p)) return p;
  }
  return null;
}

function havePlaywright(): boolean {
  try {
    createRequire(import.meta.url).resolve("playwright-core");
    return true;
  } catch {
    return false;
  }
}

const CHROMIUM = chromiumPath();
const PLAYWRIGHT = havePlaywright();
const MNIST = locateDataset("mnist").chosen?.found ?? null;
const skipReason = !CHROMIUM
  ? " (skipped: no chromium; apt install chromium, or set CHROMIUM)"
  : !PLAYWRIGHT
    ? " (skipped: playwright-core is not installed; npm ci)"
    : !MNIST
      ? " (skipped: no MNIST files found; set UPDATES_LEAK_DATA)"
      : "";

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json",
  ".wasm": "application/wasm",
  ".gz": "application/gzip",
};

/** MNIST's files by their gzipped name, gzipped here when the found copy is raw. */
function mnistFiles(found: Readonly<Record<string, string>>): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const file of Object.values(found)) {
    const bytes = fs.readFileSync(file);
    const gz = bytes[0] === 0x1f && bytes[1] === 0x8b;
    out.set(`${path.basename(file).replace(/\.gz$/, "")}.gz`, gz ? bytes : gzipSync(bytes));
  }
  return out;
}

/** A static server of web/dist plus /data/mnist/, cross-origin isolated. */
function serve(mnist: Map<string, Buffer>): http.Server {
  return http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const send = (status: number, body: Buffer | string, type: string) => {
      res.writeHead(status, {
        "Content-Type": type,
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Embedder-Policy": "require-corp",
        "Cache-Control": "no-store",
      });
      res.end(body);
    };
    const data = url.pathname.match(/^\/data\/mnist\/([^/]+)$/);
    if (data) {
      const body = mnist.get(data[1]!);
      return body ? send(200, body, TYPES[".gz"]!) : send(404, "not found", "text/plain");
    }
    const rel = url.pathname === "/" ? "index.html" : decodeURIComponent(url.pathname.slice(1));
    const file = path.resolve(DIST, rel);
    if (!file.startsWith(`${DIST}${path.sep}`) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      return send(404, "not found", "text/plain");
    }
    send(200, fs.readFileSync(file), TYPES[path.extname(file)] ?? "application/octet-stream");
  });
}

let server: http.Server | null = null;
let base = "";

beforeAll(async () => {
  if (skipReason) return;
  const build = spawnSync(process.execPath, [path.join(ROOT, "tools", "build-web.ts")], { encoding: "utf8" });
  if (build.status !== 0) throw new Error(`tools/build-web.ts failed:\n${build.stdout}\n${build.stderr}`);
  server = serve(mnistFiles(MNIST!));
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  if (server) await new Promise((resolve) => server!.close(resolve));
});

type Page = import("playwright-core").Page;

/** What a finished page shows: its result, its downloads (read back), its backend lines. */
async function finished(page: Page, log: string[]) {
  await page.waitForFunction(
    () => {
      const { state } = (globalThis as unknown as PageGlobals).document.body.dataset;
      return state === "done" || state === "error";
    },
    undefined,
    { timeout: 280_000, polling: 500 },
  );
  const state = await page.evaluate(() => (globalThis as unknown as PageGlobals).document.body.dataset.state);
  if (state !== "done") {
    const error = await page.textContent("#error");
    throw new Error(`the page stopped with: ${error}\n--- console\n${log.join("\n")}`);
  }
  const result = JSON.parse((await page.textContent("#result")) ?? "null");
  const shown = await page.evaluate(async () => {
    const { document, crossOriginIsolated } = globalThis as unknown as PageGlobals;
    const link = document.getElementById("dl-result")!;
    const config = document.getElementById("dl-config")!;
    return {
      download: link.getAttribute("download"),
      href: link.href,
      body: await (await fetch(link.href)).text(),
      configDownload: config.getAttribute("download"),
      config: await (await fetch(config.href)).text(),
      isolated: crossOriginIsolated,
      env: document.getElementById("env")!.textContent,
      svg: document.querySelectorAll("#figure svg rect").length,
    };
  });
  return { result, shown, config: JSON.parse(shown.config) };
}

/** Opens `url` in a fresh headless chromium, runs `act` on the page, returns what it shows when done. */
async function inChromium(url: string, act: (page: Page) => Promise<void>, shotName: string) {
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({ executablePath: CHROMIUM!, args: ["--no-sandbox"] });
  const log: string[] = [];
  try {
    const page = await browser.newPage({ viewport: { width: 1000, height: 1100 } });
    page.on("console", (m) => log.push(`[${m.type()}] ${m.text()}`));
    page.on("pageerror", (e) => log.push(`[pageerror] ${e.message}`));
    const started = Date.now();
    await page.goto(url);
    await act(page);
    const out = await finished(page, log);
    const seconds = (Date.now() - started) / 1000;
    const shotDir = process.env.UPDATES_LEAK_ARTIFACTS ?? os.tmpdir();
    fs.mkdirSync(shotDir, { recursive: true });
    const shot = path.join(shotDir, shotName);
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`screenshot: ${shot}`);
    console.log(
      `page: ${seconds.toFixed(1)} s in all\n${out.shown.env}\nresult: ${JSON.stringify(out.result)}`,
    );
    return out;
  } finally {
    await browser.close();
  }
}

describe("the web page", () => {
  test.skipIf(skipReason !== "")(
    `?auto=1 fetches MNIST, runs A_LI in headless chromium and beats the random baseline${skipReason}`,
    async () => {
      const { result, shown, config } = await inChromium(
        `${base}/?auto=1`,
        async () => {},
        "updates-leak-browser.png",
      );
      expect(result.attack).toBe("label");
      expect(result.dataset).toBe("mnist");
      expect(result.metric).toBe("accuracy");
      expect(result.baselines).toEqual({ random: 0.1 });
      expect(result.counts.targetUpdates).toBe(100);
      expect(result.value).toBeGreaterThan(0.5);
      expect(shown.isolated).toBe(true);
      expect(result.threads).toBeGreaterThanOrEqual(1);
      expect(shown.download).toBe("result.json");
      expect(shown.href.startsWith("blob:")).toBe(true);
      expect(JSON.parse(shown.body)).toEqual(result);
      expect(shown.configDownload).toBe("config.json");
      expect(config.data).toBe("fetched from ./data/mnist/");
      expect(config.backend.used).toBe(result.backend);
      expect(config.shadowUpdates).toBe(result.counts.shadowUpdates);
      expect(shown.svg).toBe(2);
    },
    300_000,
  );

  test.skipIf(skipReason !== "")(
    `the same run from the four files picked with the file input, on one wasm thread${skipReason}`,
    async () => {
      const { result, config } = await inChromium(
        `${base}/?threads=1`,
        (page) => page.setInputFiles("#files", Object.values(MNIST!)),
        "updates-leak-browser-picked.png",
      );
      expect(config.data).toBe("picked with the file input");
      expect(result.threads).toBe(1);
      expect(result.value).toBeGreaterThan(0.5);
    },
    300_000,
  );
});
