/**
 * Streaming CSV/TSV reading with a header row, in plain TypeScript.
 *
 * Why not csv-parse: its browser builds bundle polyfills of Node's `stream` and `Buffer`
 * (120-215 KB), its streaming API is a Node `Transform`, and the synchronous API needs the
 * whole file in one string. This tokenizer is small, pushes records synchronously from each
 * chunk of an async source, and knows the physical line each record starts on, which the
 * error messages need. The test suite checks it against csv-parse on MovieLens.
 *
 * Dialect (RFC 4180): fields separated by the delimiter; a field that starts with `"` is quoted,
 * may contain delimiters and line breaks, and writes a quote as `""`; a quote inside an unquoted
 * field is literal. Records end at LF, CRLF or a lone CR. A UTF-8 byte order mark is dropped.
 * Empty lines are skipped; a line of only spaces is a record.
 */

import { DataError } from './errors.js';
import type { TextSource } from './text.js';

export type Delimiter = ',' | '\t';

/** Receives one record: its fields and the 1-based line it starts on. */
export type RecordSink = (fields: string[], line: number) => void;

const LF = 10;
const CR = 13;
const QUOTE = 34;

/** Tokenizer states: between fields, in an unquoted field, in quotes, just after a quote in quotes. */
const FIELD_START = 0;
const UNQUOTED = 1;
const QUOTED = 2;
const QUOTE_IN_QUOTED = 3;

/** Picks the delimiter that occurs more often in the header line; ties (e.g. one column) go to ','. */
export function sniffDelimiter(headerLine: string): Delimiter {
  let tabs = 0;
  let commas = 0;
  for (let i = 0; i < headerLine.length; i++) {
    const c = headerLine.charCodeAt(i);
    if (c === 9) tabs++;
    else if (c === 44) commas++;
  }
  return tabs > commas ? '\t' : ',';
}

/**
 * Incremental CSV tokenizer: `push` chunks in order, then `finish`. Records are handed to the
 * sink as soon as their terminating line break has been seen.
 */
export class CsvTokenizer {
  private delimiterCode = -1;
  /** Text held back until the header line is complete, when the delimiter is sniffed. */
  private sniffBuffer = '';
  private begun = false;
  private state = FIELD_START;
  private fields: string[] = [];
  /** The current field's text from earlier chunks (or before an escaped quote). */
  private field = '';
  private line = 1;
  private recordLine = 1;
  /** The previous record ended with CR; an LF right after it belongs to the same break. */
  private swallowLF = false;

  constructor(
    private readonly fileName: string,
    delimiter?: Delimiter,
  ) {
    if (delimiter !== undefined) this.delimiterCode = delimiter.charCodeAt(0);
  }

  /** The delimiter in use; undefined until it has been given or sniffed. */
  get delimiter(): Delimiter | undefined {
    return this.delimiterCode < 0 ? undefined : (String.fromCharCode(this.delimiterCode) as Delimiter);
  }

  push(chunk: string, sink: RecordSink): void {
    if (!this.begun) {
      if (chunk.length === 0) return;
      this.begun = true;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    if (this.delimiterCode < 0) {
      this.sniffBuffer += chunk;
      const header = firstNonEmptyLine(this.sniffBuffer);
      if (header === undefined) return;
      this.delimiterCode = sniffDelimiter(header).charCodeAt(0);
      chunk = this.sniffBuffer;
      this.sniffBuffer = '';
    }
    this.scan(chunk, sink);
  }

  finish(sink: RecordSink): void {
    if (this.delimiterCode < 0) {
      // The whole input is one line (or nothing): sniff on what there is.
      this.delimiterCode = sniffDelimiter(this.sniffBuffer).charCodeAt(0);
      const rest = this.sniffBuffer;
      this.sniffBuffer = '';
      this.scan(rest, sink);
    }
    if (this.state === QUOTED) {
      throw new DataError(
        this.fileName,
        this.recordLine,
        undefined,
        'unterminated quoted field (the file ends inside quotes opened in field ' +
          `${this.fields.length + 1})`,
      );
    }
    if (!this.atBlankRecord()) this.endRecord('', sink);
  }

  private atBlankRecord(): boolean {
    return this.state === FIELD_START && this.fields.length === 0 && this.field === '';
  }

  private endRecord(lastPiece: string, sink: RecordSink): void {
    const fields = this.fields;
    fields.push(this.field + lastPiece);
    this.fields = [];
    this.field = '';
    this.state = FIELD_START;
    sink(fields, this.recordLine);
  }

  private scan(chunk: string, sink: RecordSink): void {
    const delimiter = this.delimiterCode;
    const n = chunk.length;
    let i = 0;
    let start = 0;
    while (i < n) {
      const c = chunk.charCodeAt(i);
      if (this.swallowLF) {
        this.swallowLF = false;
        if (c === LF) {
          i++;
          start = i;
          continue;
        }
      }
      const state = this.state;
      if (state === QUOTED) {
        if (c === QUOTE) {
          this.field += chunk.slice(start, i);
          this.state = QUOTE_IN_QUOTED;
          start = i + 1;
        } else if (c === LF) {
          this.line++;
        }
        i++;
        continue;
      }
      if (state === QUOTE_IN_QUOTED) {
        if (c === QUOTE) {
          // An escaped quote: keep one and stay inside the quotes.
          this.field += '"';
          this.state = QUOTED;
          i++;
          start = i;
          continue;
        }
        if (c !== delimiter && c !== LF && c !== CR) {
          throw new DataError(
            this.fileName,
            this.recordLine,
            undefined,
            `unexpected character ${JSON.stringify(chunk[i])} after the closing quote of field ` +
              `${this.fields.length + 1}`,
          );
        }
      }
      if (c === delimiter) {
        this.fields.push(this.field + chunk.slice(start, i));
        this.field = '';
        this.state = FIELD_START;
        i++;
        start = i;
      } else if (c === LF || c === CR) {
        // In FIELD_START nothing of the line is pending, so the slice is empty for a blank line.
        if (!this.atBlankRecord()) this.endRecord(chunk.slice(start, i), sink);
        this.line++;
        this.recordLine = this.line;
        this.swallowLF = c === CR;
        i++;
        start = i;
      } else if (c === QUOTE && state === FIELD_START) {
        this.state = QUOTED;
        i++;
        start = i;
      } else {
        this.state = UNQUOTED;
        i++;
      }
    }
    if (start < n) this.field += chunk.slice(start, n);
  }
}

/** The first line with any content, or undefined when no complete such line is there yet. */
function firstNonEmptyLine(text: string): string | undefined {
  const isBreak = (i: number) => text.charCodeAt(i) === LF || text.charCodeAt(i) === CR;
  let begin = 0;
  while (begin < text.length && isBreak(begin)) begin++;
  let end = begin;
  while (end < text.length && !isBreak(end)) end++;
  return end < text.length ? text.slice(begin, end) : undefined;
}

export interface TableOptions {
  /** Used in error messages. */
  fileName: string;
  /** Field delimiter; by default sniffed from the header line (tab if tabs outnumber commas). */
  delimiter?: Delimiter;
  /** What a bad data row does: throw (default), or count it in `skipped` and go on. */
  onBadRow?: 'error' | 'skip';
}

export interface TableSummary {
  header: string[];
  delimiter: Delimiter;
  /** Data rows read (header and empty lines excluded), including skipped ones. */
  rows: number;
  /** Bad rows passed over with `onBadRow: 'skip'`. */
  skipped: number;
}

/**
 * Reads a table with a header row. `onHeader` gets the trimmed column names and may throw a
 * DataError for a missing column (never skippable). `onRow` gets each data row, already checked
 * to have as many fields as the header; a DataError it throws is a bad row, counted instead of
 * thrown when `onBadRow` is 'skip'. An empty file and a file with no data rows are errors.
 */
export async function readTable(
  source: TextSource,
  options: TableOptions,
  onHeader: (header: string[]) => void,
  onRow: (fields: string[], line: number) => void,
): Promise<TableSummary> {
  const { fileName } = options;
  const skip = options.onBadRow === 'skip';
  if (options.onBadRow !== undefined && options.onBadRow !== 'error' && !skip) {
    throw new RangeError(`onBadRow must be 'error' or 'skip', got ${String(options.onBadRow)}`);
  }
  const tokenizer = new CsvTokenizer(fileName, options.delimiter);
  let header: string[] | undefined;
  let rows = 0;
  let skipped = 0;
  const sink: RecordSink = (fields, line) => {
    if (header === undefined) {
      header = fields.map((name) => name.trim());
      onHeader(header);
      return;
    }
    rows++;
    try {
      if (fields.length !== header.length) {
        throw new DataError(
          fileName,
          line,
          undefined,
          `malformed row: expected ${header.length} fields like the header, got ${fields.length}`,
        );
      }
      onRow(fields, line);
    } catch (error) {
      if (!(skip && error instanceof DataError)) throw error;
      skipped++;
    }
  };
  if (typeof source === 'string') {
    tokenizer.push(source, sink);
  } else {
    for await (const chunk of source) tokenizer.push(chunk, sink);
  }
  tokenizer.finish(sink);
  if (header === undefined) throw new DataError(fileName, 1, undefined, 'empty file: no header row');
  if (rows === 0) throw new DataError(fileName, 1, undefined, 'the file has a header but no data rows');
  return { header, delimiter: tokenizer.delimiter ?? ',', rows, skipped };
}

/**
 * Finds a column in the header. `wanted` given: that exact name must be there. Otherwise the
 * first of `defaults` present, compared exactly and then ignoring case. Returns -1 only when
 * nothing was wanted, nothing matched and `required` is false.
 */
export function findColumn(
  header: readonly string[],
  fileName: string,
  wanted: string | undefined,
  defaults: readonly string[],
  required: boolean,
): number {
  if (wanted !== undefined) {
    const index = header.indexOf(wanted);
    if (index < 0) throw missingColumn(header, fileName, wanted, []);
    return index;
  }
  for (const name of defaults) {
    const index = header.indexOf(name);
    if (index >= 0) return index;
  }
  const lower = header.map((name) => name.toLowerCase());
  for (const name of defaults) {
    const index = lower.indexOf(name.toLowerCase());
    if (index >= 0) return index;
  }
  if (required) throw missingColumn(header, fileName, defaults[0], defaults.slice(1));
  return -1;
}

function missingColumn(
  header: readonly string[],
  fileName: string,
  column: string,
  alternatives: readonly string[],
): DataError {
  const also = alternatives.length > 0 ? ` (also looked for ${alternatives.join(', ')})` : '';
  // A header read as one column usually means the file uses a delimiter that was not detected.
  const found = header.length === 1 ? ['::', ';', '|'].find((d) => header[0].includes(d)) : undefined;
  const delimiter = found ? `; the header looks separated by "${found}", but the supported delimiters are comma and tab` : '';
  return new DataError(
    fileName,
    1,
    column,
    `missing from the header${also}; the header has columns: ${header.join(', ')}${delimiter}`,
  );
}

/**
 * Parses a numeric field. Empty, non-numeric and non-finite values (NaN, Infinity) raise a
 * DataError naming the column; surrounding spaces are allowed.
 */
export function parseNumber(text: string, fileName: string, line: number, column: string): number {
  const value = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(value)) {
    throw new DataError(fileName, line, column, `${JSON.stringify(text)} is not a finite number`);
  }
  return value;
}

/** An id field (user or item), trimmed; empty ids raise a DataError naming the column. */
export function parseId(text: string, fileName: string, line: number, column: string): string {
  const id = text.trim();
  if (id === '') throw new DataError(fileName, line, column, 'empty id');
  return id;
}
