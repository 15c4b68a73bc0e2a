/**
 * The run's console log, `run.log` in its folder: every line the run printed (stdout lines and the
 * progress stream's messages and finished stages; not the redrawn bars), each invocation under a
 * header line `# <ISO time> leak <argv>`. Resumes append to it; `--fresh` deletes it with the rest.
 *
 * Lines printed before the folder exists (the plan, data messages) are kept and written when it is
 * opened, so a run stopped by a data error leaves no folder and no log. A log, not a result: each
 * line is appended as it comes (one write), not written atomically.
 */
import fs from "node:fs";

export class RunLog {
  private file: string | null = null;
  private pending: string[] = [];

  /** Record a line (without its newline). */
  readonly line = (text: string): void => {
    if (this.file === null) this.pending.push(text);
    else fs.appendFileSync(this.file, `${text}\n`);
  };

  /** Start writing to `file` (appending): the header, then the lines kept so far. */
  open(file: string, header: string): void {
    const lines = [`# ${header}`, ...this.pending];
    this.pending = [];
    fs.appendFileSync(file, `${lines.join("\n")}\n`);
    this.file = file;
  }
}
