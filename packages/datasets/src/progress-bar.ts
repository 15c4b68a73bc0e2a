/**
 * Download progress on stderr: a bar redrawn in place when stderr is a terminal, else a plain line at
 * most every `everyMs` (and at the end), so logs of batch jobs stay short.
 */

export interface ProgressBarOptions {
  /** Redraw in place (default: whether stderr is a TTY). */
  readonly tty?: boolean;
  /** Where text goes (default: stderr). */
  readonly write?: (text: string) => void;
  /** Minimum time between two lines when not a TTY (default 10 s); between redraws on a TTY 100 ms. */
  readonly everyMs?: number;
  /** Clock (tests). */
  readonly now?: () => number;
}

const mb = (n: number) => (n / 1e6).toFixed(1);

export class ProgressBar {
  private readonly tty: boolean;
  private readonly write: (text: string) => void;
  private readonly everyMs: number;
  private readonly now: () => number;
  private readonly t0: number;
  private last = Number.NEGATIVE_INFINITY;
  private done = 0;

  constructor(
    private readonly label: string,
    private readonly total: number | null,
    opts: ProgressBarOptions = {},
  ) {
    this.tty = opts.tty ?? process.stderr.isTTY === true;
    this.write = opts.write ?? ((t) => process.stderr.write(t));
    this.now = opts.now ?? (() => Date.now());
    this.everyMs = opts.everyMs ?? (this.tty ? 100 : 10_000);
    this.t0 = this.now();
  }

  /** The status text for `done` bytes. */
  text(done: number): string {
    const secs = Math.max((this.now() - this.t0) / 1000, 1e-3);
    const rate = `${mb(done / secs)} MB/s`;
    if (this.total === null || this.total <= 0) return `${this.label} ${mb(done)} MB, ${rate}`;
    const frac = Math.min(done / this.total, 1);
    const width = 30;
    const fill = Math.round(frac * width);
    const bar = this.tty ? `[${"#".repeat(fill)}${".".repeat(width - fill)}] ` : "";
    return `${this.label} ${bar}${(frac * 100).toFixed(0).padStart(3)}% ${mb(done)}/${mb(this.total)} MB, ${rate}`;
  }

  /** `n` more bytes arrived. */
  add(n: number): void {
    this.done += n;
    const t = this.now();
    if (t - this.last < this.everyMs) return;
    this.last = t;
    this.write(this.tty ? `\r${this.text(this.done)}\x1b[K` : `${this.text(this.done)}\n`);
  }

  /** The final state, always shown. */
  finish(): void {
    this.write(this.tty ? `\r${this.text(this.done)}\x1b[K\n` : `${this.text(this.done)}\n`);
  }
}
