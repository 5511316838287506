/**
 * Streaming CSV/TSV reading, with a header row or with column names given, in plain TypeScript.
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
 * Empty lines are skipped; a line of only spaces is a record. Two departures serve files that are
 * not CSV but close to it, such as MovieLens 1M's `1::Toy Story (1995)::Animation|Comedy`: the
 * delimiter may be several characters, and quoting can be turned off, so that a title starting
 * with `"` is text rather than the start of a field that would swallow the lines after it.
 */

import { DataError } from './errors.js';
import type { TextSource } from './text.js';

/**
 * The text between fields: one or more characters, none of them a quote or a line break
 * (',' and '\t' are the ones sniffed; MovieLens uses '|' and '::').
 */
export type Delimiter = string;

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
export function sniffDelimiter(headerLine: string): ',' | '\t' {
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
  /** The delimiter; '' until it has been sniffed. */
  private delimiterText = '';
  /** Its first character's code, compared on every character; -1 until known. */
  private delimiterCode = -1;
  /** Text held back until the header line is complete, when the delimiter is sniffed. */
  private sniffBuffer = '';
  /**
   * The end of the last chunk when it could be the start of a multi-character delimiter that the
   * next chunk completes (':' of '::'); scanned again in front of the next chunk.
   */
  private pending = '';
  private begun = false;
  private state = FIELD_START;
  private fields: string[] = [];
  /** The current field's text from earlier chunks (or before an escaped quote). */
  private field = '';
  private line = 1;
  private recordLine = 1;
  /** The previous record ended with CR; an LF right after it belongs to the same break. */
  private swallowLF = false;

  /**
   * @param fileName used in error messages.
   * @param delimiter sniffed from the first non-empty line when not given; a RangeError if it is
   *   empty or holds a quote or line break.
   * @param quoting false reads `"` as an ordinary character everywhere.
   */
  constructor(
    private readonly fileName: string,
    delimiter?: Delimiter,
    private readonly quoting = true,
  ) {
    if (delimiter !== undefined) {
      if (delimiter === '' || /["\r\n]/.test(delimiter)) {
        throw new RangeError(
          `delimiter must be one or more characters other than a quote or line break, got ${JSON.stringify(delimiter)}`,
        );
      }
      this.useDelimiter(delimiter);
    }
  }

  /** The delimiter in use; undefined until it has been given or sniffed. */
  get delimiter(): Delimiter | undefined {
    return this.delimiterCode < 0 ? undefined : this.delimiterText;
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
      this.useDelimiter(sniffDelimiter(header));
      chunk = this.sniffBuffer;
      this.sniffBuffer = '';
    }
    this.scan(this.takePending() + chunk, sink, false);
  }

  finish(sink: RecordSink): void {
    if (this.delimiterCode < 0) {
      // The whole input is one line (or nothing): sniff on what there is.
      this.useDelimiter(sniffDelimiter(this.sniffBuffer));
      const rest = this.sniffBuffer;
      this.sniffBuffer = '';
      this.scan(rest, sink, true);
    }
    this.scan(this.takePending(), sink, true);
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

  private useDelimiter(delimiter: Delimiter): void {
    this.delimiterText = delimiter;
    this.delimiterCode = delimiter.charCodeAt(0);
  }

  private takePending(): string {
    const pending = this.pending;
    this.pending = '';
    return pending;
  }

  /**
   * Whether the delimiter starts at `i`, whose character is the delimiter's first: true, false,
   * or undefined when the chunk ends before that can be told and more input may follow.
   */
  private delimiterAt(chunk: string, i: number, final: boolean): boolean | undefined {
    const delimiter = this.delimiterText;
    if (delimiter.length === 1) return true;
    if (chunk.length - i >= delimiter.length) return chunk.startsWith(delimiter, i);
    return !final && delimiter.startsWith(chunk.slice(i)) ? undefined : false;
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

  /** Scans one chunk; `final` says no input follows it, so nothing may be held back. */
  private scan(chunk: string, sink: RecordSink, final: boolean): void {
    const first = this.delimiterCode;
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
      let isDelimiter = false;
      if (c === first) {
        const at = this.delimiterAt(chunk, i, final);
        if (at === undefined) {
          this.field += chunk.slice(start, i);
          this.pending = chunk.slice(i);
          return;
        }
        isDelimiter = at;
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
        if (!isDelimiter && c !== LF && c !== CR) {
          throw new DataError(
            this.fileName,
            this.recordLine,
            undefined,
            `unexpected character ${JSON.stringify(chunk[i])} after the closing quote of field ` +
              `${this.fields.length + 1}`,
          );
        }
      }
      if (isDelimiter) {
        this.fields.push(this.field + chunk.slice(start, i));
        this.field = '';
        this.state = FIELD_START;
        i += this.delimiterText.length;
        start = i;
      } else if (c === LF || c === CR) {
        // In FIELD_START nothing of the line is pending, so the slice is empty for a blank line.
        if (!this.atBlankRecord()) this.endRecord(chunk.slice(start, i), sink);
        this.line++;
        this.recordLine = this.line;
        this.swallowLF = c === CR;
        i++;
        start = i;
      } else if (c === QUOTE && state === FIELD_START && this.quoting) {
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

/** How a file is laid out, beyond what the tokenizer can find out itself. */
export interface TableLayout {
  /** Field delimiter; by default sniffed from the first line (tab if tabs outnumber commas). */
  delimiter?: Delimiter;
  /**
   * Says the file has no header row and names its columns in order; every record, the first
   * included, is then data. By default the first record is the header.
   */
  columns?: readonly string[];
  /** false: `"` is an ordinary character (formats that never quote); default true. */
  quoting?: boolean;
}

export interface TableOptions extends TableLayout {
  /** Used in error messages. */
  fileName: string;
  /** What a bad data row does: throw (default), or count it in `skipped` and go on. */
  onBadRow?: 'error' | 'skip';
}

export interface TableSummary {
  /** The header row's names, or the `columns` given. */
  header: string[];
  delimiter: Delimiter;
  /** Data rows read (header and empty lines excluded), including skipped ones. */
  rows: number;
  /** Bad rows passed over with `onBadRow: 'skip'`. */
  skipped: number;
}

/**
 * Reads a table with a header row, or without one when `columns` names them. `onHeader` gets the
 * trimmed column names before any row and may throw for a missing column (never skippable).
 * `onRow` gets each data row, already checked to have as many fields as there are columns; a
 * DataError it throws is a bad row, counted instead of thrown when `onBadRow` is 'skip'. An empty
 * file and a file with no data rows are DataErrors; an empty `columns` is a RangeError.
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
  const headerless = options.columns !== undefined;
  if (headerless && options.columns!.length === 0) {
    throw new RangeError(`columns must name at least one column of ${fileName}, got none`);
  }
  const tokenizer = new CsvTokenizer(fileName, options.delimiter, options.quoting);
  let header: string[] | undefined;
  if (headerless) {
    header = options.columns!.map((name) => name.trim());
    onHeader(header);
  }
  const like = headerless ? 'as columns are named' : 'like the header';
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
          `malformed row: expected ${header.length} fields ${like}, got ${fields.length}`,
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
  if (rows === 0) {
    const what = headerless ? 'empty file: no data rows' : 'the file has a header but no data rows';
    throw new DataError(fileName, 1, undefined, what);
  }
  return { header, delimiter: tokenizer.delimiter ?? ',', rows, skipped };
}

/**
 * Finds a column among the header's names (or the `columns` named for a headerless table).
 * `wanted` given: that exact name must be there. Otherwise the first of `defaults` present,
 * compared exactly and then ignoring case. Returns -1 only when nothing was wanted, nothing
 * matched and `required` is false. A missing column is a DataError on line 1 of a file with a
 * header, and a RangeError for a headerless one, whose column names came with the options.
 */
export function findColumn(
  header: readonly string[],
  table: Pick<TableOptions, 'fileName' | 'columns'>,
  wanted: string | undefined,
  defaults: readonly string[],
  required: boolean,
): number {
  if (wanted !== undefined) {
    const index = header.indexOf(wanted);
    if (index < 0) throw missingColumn(header, table, wanted, []);
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
  if (required) throw missingColumn(header, table, defaults[0], defaults.slice(1));
  return -1;
}

function missingColumn(
  header: readonly string[],
  table: Pick<TableOptions, 'fileName' | 'columns'>,
  column: string,
  alternatives: readonly string[],
): DataError | RangeError {
  const also = alternatives.length > 0 ? ` (also looked for ${alternatives.join(', ')})` : '';
  if (table.columns !== undefined) {
    return new RangeError(
      `column "${column}"${also} is not among the columns named for headerless ` +
        `${table.fileName}: ${header.join(', ')}`,
    );
  }
  // A header read as one column usually means the file uses a delimiter that was not detected.
  const found = header.length === 1 ? ['::', ';', '|'].find((d) => header[0].includes(d)) : undefined;
  const delimiter = found ? `; the header looks separated by "${found}", which is not detected automatically (only comma and tab are): give it as the delimiter (--delimiter '${found}')` : '';
  return new DataError(
    table.fileName,
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
