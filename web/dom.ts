/**
 * The few browser (DOM) APIs the page and its test use, typed here as plain interfaces over
 * `globalThis`: the repository type-checks everything with Bun's types and no `dom` library (adding
 * it would change the types of Node/Bun code elsewhere), so the page names exactly what it touches.
 * `page()` is meant for code that runs in a browser tab (main.ts, and callbacks that playwright
 * runs in the page).
 */

/** An element of index.html, as far as the page uses it. */
export interface PageElement {
  textContent: string | null;
  innerHTML: string;
  hidden: boolean;
  /** `<progress>`. */
  value: number;
  /** `<a>`. */
  href: string;
  /** `<input type=file>`. */
  files: ArrayLike<File> | null;
  getAttribute(name: string): string | null;
  addEventListener(type: string, listener: () => void): void;
}

export interface PageDocument {
  body: { dataset: Record<string, string | undefined> };
  getElementById(id: string): PageElement | null;
  querySelectorAll(selector: string): { length: number };
}

/** An error or unhandled-rejection event. */
export interface PageErrorEvent {
  error?: unknown;
  message?: string;
  reason?: unknown;
}

export interface PageGlobals {
  document: PageDocument;
  location: { href: string; search: string };
  navigator: { hardwareConcurrency: number; userAgent: string };
  /** Whether SharedArrayBuffer (and so wasm threads) is available: COOP + COEP headers. */
  crossOriginIsolated: boolean;
  addEventListener(type: "error" | "unhandledrejection", listener: (e: PageErrorEvent) => void): void;
}

/** The browser tab's globals (only meaningful in a browser). */
export function page(): PageGlobals {
  return globalThis as unknown as PageGlobals;
}
