/**
 * Progress reporting for long stages, on stderr.
 * - TTY: one redrawn line per stage: `label [#####-----] 1,200/10,000 12% 85.3/s ETA 1m43s`,
 *   redrawn at most every `ttyIntervalMs`; finished with a newline when the stage completes.
 * - Not a TTY (CI logs, files): plain lines, at the stage's first update, then at most every
 *   `plainIntervalMs`, and at completion.
 * `log()` prints a message without tearing the bar. The clock and stream are injectable for tests.
 */

export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  stream?: ProgressStream;
  /** Overrides `stream.isTTY`. */
  tty?: boolean;
  now?: () => number;
  ttyIntervalMs?: number;
  plainIntervalMs?: number;
}

interface StageState {
  stage: string;
  total: number;
  done: number;
  /** `done` at the first update (a resumed stage starts part done; the rate counts new work only). */
  startDone: number;
  start: number;
  lastDraw: number;
  finished: boolean;
}

/** `95` -> `1m35s`, `3700` -> `1h01m`. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return "?/s";
  if (perSecond >= 100) return `${Math.round(perSecond)}/s`;
  if (perSecond >= 1) return `${perSecond.toFixed(1)}/s`;
  return `${(perSecond * 60).toFixed(1)}/min`;
}

export class Progress {
  private readonly stream: ProgressStream;
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly ttyInterval: number;
  private readonly plainInterval: number;
  private cur: StageState | null = null;
  /** A bar is on screen without its newline. */
  private barShown = false;
  /** Time of the last update or log (or construction): where a stage seen only at its end began. */
  private lastActivity: number;
  /** Told each logged message and each finished stage's plain line (for the run's log file). */
  private readonly listeners = new Set<(line: string) => void>();

  constructor(opts: ProgressOptions = {}) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = opts.tty ?? this.stream.isTTY === true;
    this.now = opts.now ?? (() => performance.now());
    this.ttyInterval = opts.ttyIntervalMs ?? 100;
    this.plainInterval = opts.plainIntervalMs ?? 10_000;
    this.lastActivity = this.now();
  }

  /** Report `done` of `total` for `stage`; cheap to call often. */
  update(stage: string, done: number, total: number): void {
    const t = this.now();
    if (!this.cur || this.cur.stage !== stage || this.cur.total !== total || done < this.cur.done) {
      this.endBar();
      // A stage whose first report is already its last (a one-epoch training, say) ran since the
      // previous activity: time it from there, counting all its work.
      const seenOnlyAtEnd = total > 0 && done >= total;
      this.cur = {
        stage,
        total,
        done,
        startDone: seenOnlyAtEnd ? 0 : done,
        start: seenOnlyAtEnd ? this.lastActivity : t,
        lastDraw: Number.NEGATIVE_INFINITY,
        finished: false,
      };
    }
    this.lastActivity = t;
    const s = this.cur;
    s.done = done;
    if (s.finished) return;
    const complete = total > 0 && done >= total;
    const interval = this.tty ? this.ttyInterval : this.plainInterval;
    if (!complete && t - s.lastDraw < interval) return;
    s.lastDraw = t;
    if (this.tty) {
      this.stream.write(`\r\x1b[2K${this.line(s, t, true)}${complete ? "\n" : ""}`);
      this.barShown = !complete;
    } else {
      this.stream.write(`${this.line(s, t, false)}\n`);
    }
    if (complete) {
      s.finished = true;
      for (const l of this.listeners) l(this.line(s, t, false));
    }
  }

  /** Call `listener` with each logged message and each finished stage's line; returns the undo. */
  listen(listener: (line: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Print a line of text (on a TTY, above the bar, which is redrawn). */
  log(message: string): void {
    this.lastActivity = this.now();
    for (const l of this.listeners) l(message);
    if (this.tty && this.barShown && this.cur) {
      this.stream.write(`\r\x1b[2K${message}\n${this.line(this.cur, this.now(), true)}`);
      return;
    }
    this.stream.write(`${message}\n`);
  }

  /** End the current bar's line (call before printing other output to the same terminal). */
  endBar(): void {
    if (this.barShown) {
      this.stream.write("\n");
      this.barShown = false;
    }
  }

  private line(s: StageState, t: number, bar: boolean): string {
    const elapsed = (t - s.start) / 1000;
    const rate = elapsed > 0 ? (s.done - s.startDone) / elapsed : Number.NaN;
    const pct = s.total > 0 ? (100 * s.done) / s.total : 0;
    const complete = s.done >= s.total;
    const eta = complete
      ? `in ${formatDuration(elapsed)}`
      : `ETA ${rate > 0 ? formatDuration((s.total - s.done) / rate) : "?"}`;
    const counts = `${s.done.toLocaleString("en-US")}/${s.total.toLocaleString("en-US")}`;
    const tail = `${counts} ${pct.toFixed(pct < 10 && !complete ? 1 : 0)}% ${formatRate(rate)} ${eta}`;
    if (!bar) return `[${s.stage}] ${tail}`;
    const cols = this.stream.columns ?? 80;
    const width = Math.max(10, Math.min(40, cols - s.stage.length - tail.length - 5));
    const filled = Math.min(width, Math.round((width * pct) / 100));
    return `${s.stage} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${tail}`;
  }
}
