/**
 * The one error type for bad input data. It names the file, the 1-based line (the header is
 * line 1) and, where one is at fault, the column, so that a user can open the file and fix it:
 * `ratings.csv:17: column "timestamp": "abc" is not a number`.
 */
export class DataError extends Error {
  override readonly name = 'DataError';

  constructor(
    /** The file name as the caller gave it (a path, or a label such as 'interactions'). */
    readonly file: string,
    /** 1-based line number where the offending record starts; the header is line 1. */
    readonly line: number,
    /** The header name of the offending column, when a single column is at fault. */
    readonly column: string | undefined,
    /** What is wrong, without the location prefix. */
    readonly what: string,
  ) {
    super(
      column === undefined
        ? `${file}:${line}: ${what}`
        : `${file}:${line}: column "${column}": ${what}`,
    );
  }
}
