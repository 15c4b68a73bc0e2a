/**
 * The one error type of @updates-leak/datasets. Messages name the file (or option) and say what was
 * expected and what was found, so a user can fix the data without reading the code.
 */

/**
 * Error for unreadable, malformed or unverifiable data and bad data options. When `file` is given the
 * message starts with it ("<file>: <message>") and it is kept in `file`.
 */
export class DataError extends Error {
  /** The file concerned, when there is one. */
  readonly file: string | undefined;

  constructor(message: string, file?: string) {
    super(file === undefined ? message : `${file}: ${message}`);
    this.name = "DataError";
    this.file = file;
  }
}
