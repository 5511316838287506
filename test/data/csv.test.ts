import { describe, expect, test } from 'vitest';
import { CsvTokenizer, type Delimiter, findColumn, readTable, sniffDelimiter } from '../../src/data/csv.js';
import { expectDataError } from './helpers.js';

/** Tokenizes `pieces` in order and returns [line, fields] per record. */
function tokenize(pieces: string[], delimiter?: Delimiter, quoting?: boolean): [number, string[]][] {
  const records: [number, string[]][] = [];
  const tokenizer = new CsvTokenizer('t.csv', delimiter, quoting);
  const sink = (fields: string[], line: number) => records.push([line, fields]);
  for (const piece of pieces) tokenizer.push(piece, sink);
  tokenizer.finish(sink);
  return records;
}

const TRICKY =
  '\ufeffid,title,genres\r\n' +
  '1,"Comma, The (1995)",A|B\r\n' +
  '2,"Say ""hi""",C\r\n' +
  '\r\n' +
  '3,"two\nlines",\r\n' +
  '4,plain "quote",D';

const TRICKY_RECORDS: [number, string[]][] = [
  [1, ['id', 'title', 'genres']],
  [2, ['1', 'Comma, The (1995)', 'A|B']],
  [3, ['2', 'Say "hi"', 'C']],
  // Line 4 is empty and skipped; the record on line 5 spans two lines.
  [5, ['3', 'two\nlines', '']],
  [7, ['4', 'plain "quote"', 'D']],
];

describe('CsvTokenizer', () => {
  test('quotes, escaped quotes, embedded line breaks, BOM, blank lines, no final newline', () => {
    expect(tokenize([TRICKY])).toEqual(TRICKY_RECORDS);
  });

  test('every split of the input into two chunks gives the same records', () => {
    for (let cut = 0; cut <= TRICKY.length; cut++) {
      expect(tokenize([TRICKY.slice(0, cut), TRICKY.slice(cut)])).toEqual(TRICKY_RECORDS);
    }
  });

  test('one-character chunks give the same records', () => {
    expect(tokenize([...TRICKY])).toEqual(TRICKY_RECORDS);
  });

  test('LF, CRLF and lone CR line ends are equivalent', () => {
    const lf = 'a,b\n1,2\n3,4\n';
    const expected = tokenize([lf]);
    expect(expected).toEqual([
      [1, ['a', 'b']],
      [2, ['1', '2']],
      [3, ['3', '4']],
    ]);
    expect(tokenize([lf.replaceAll('\n', '\r\n')])).toEqual(expected);
    expect(tokenize([lf.replaceAll('\n', '\r')])).toEqual(expected);
  });

  test('a line of spaces is a record, an empty line is not', () => {
    expect(tokenize(['a\n\n \n'])).toEqual([
      [1, ['a']],
      [3, [' ']],
    ]);
  });

  test('an unterminated quote and a stray character after a closing quote are errors', async () => {
    await expectDataError(() => tokenize(['a,b\n1,"open\n\n']), {
      file: 't.csv',
      line: 2,
      what: 'unterminated quoted field',
    });
    await expectDataError(() => tokenize(['a,b\n1,"x"y\n']), {
      file: 't.csv',
      line: 2,
      what: 'unexpected character "y" after the closing quote of field 2',
    });
  });

  test('delimiter sniffing looks at the first non-empty line', () => {
    expect(sniffDelimiter('user\titem\ttime')).toBe('\t');
    expect(sniffDelimiter('user,item,time')).toBe(',');
    expect(sniffDelimiter('only')).toBe(',');
    expect(tokenize(['\n\nu\tv\n1\t2, 3\n'])).toEqual([
      [3, ['u', 'v']],
      [4, ['1', '2, 3']],
    ]);
    // An explicit delimiter wins over sniffing.
    expect(tokenize(['u\tv,w\n'], ',')).toEqual([[1, ['u\tv', 'w']]]);
  });

  // MovieLens 1M style: single colons inside fields, a colon next to the delimiter, and the file
  // ending in the middle of what could have been a delimiter.
  const COLONS = '1::Star Wars: Episode IV (1977)::A|B\r\n2::x:::y::\n\n3::a:b::c:';
  const COLON_RECORDS: [number, string[]][] = [
    [1, ['1', 'Star Wars: Episode IV (1977)', 'A|B']],
    // Delimiters are matched left to right: 'x:::y' is 'x', then ':y'.
    [2, ['2', 'x', ':y', '']],
    [4, ['3', 'a:b', 'c:']],
  ];

  test('a multi-character delimiter, whole, in every two-chunk split and one character at a time', () => {
    expect(tokenize([COLONS], '::')).toEqual(COLON_RECORDS);
    for (let cut = 0; cut <= COLONS.length; cut++) {
      expect(tokenize([COLONS.slice(0, cut), COLONS.slice(cut)], '::'), `cut at ${cut}`).toEqual(COLON_RECORDS);
    }
    expect(tokenize([...COLONS], '::')).toEqual(COLON_RECORDS);
  });

  test('with quoting off a quote is an ordinary character, even at the start of a field', () => {
    const text = '1|"Quoted" title|x\n2|"open|y\n3|z|"\n';
    expect(tokenize([text], '|', false)).toEqual([
      [1, ['1', '"Quoted" title', 'x']],
      [2, ['2', '"open', 'y']],
      [3, ['3', 'z', '"']],
    ]);
    // The same text as CSV: the second field of line 1 is quoted and must end at its quote.
    expect(() => tokenize([text], '|')).toThrow('unexpected character " " after the closing quote of field 2');
  });

  test('a delimiter must be non-empty and free of quotes and line breaks', () => {
    for (const bad of ['', '"', ';\n']) {
      expect(() => new CsvTokenizer('t.csv', bad)).toThrow(
        `delimiter must be one or more characters other than a quote or line break, got ${JSON.stringify(bad)}`,
      );
    }
  });
});

describe('readTable', () => {
  test('checks field counts and counts skipped rows', async () => {
    const text = 'a,b\n1,2\n3\n4,5,6\n7,8\n';
    const rows: string[][] = [];
    const summary = await readTable(text, { fileName: 'x.csv', onBadRow: 'skip' }, () => {}, (fields) => {
      rows.push(fields);
    });
    expect(rows).toEqual([
      ['1', '2'],
      ['7', '8'],
    ]);
    expect(summary).toEqual({ header: ['a', 'b'], delimiter: ',', rows: 4, skipped: 2 });
    await expectDataError(readTable(text, { fileName: 'x.csv' }, () => {}, () => {}), {
      file: 'x.csv',
      line: 3,
      what: 'malformed row: expected 2 fields like the header, got 1',
    });
  });

  test('columns given: no header row, the first record is data on line 1', async () => {
    const rows: [number, string[]][] = [];
    const headers: string[][] = [];
    const text = '1::10::5\n1::11::3\n2::10\n';
    const options = { fileName: 'r.dat', delimiter: '::', columns: ['user', ' item ', 'rating'] };
    const summary = await readTable(
      text,
      { ...options, onBadRow: 'skip' },
      (header) => headers.push(header),
      (fields, line) => rows.push([line, fields]),
    );
    expect(headers).toEqual([['user', 'item', 'rating']]);
    expect(rows).toEqual([
      [1, ['1', '10', '5']],
      [2, ['1', '11', '3']],
    ]);
    expect(summary).toEqual({ header: ['user', 'item', 'rating'], delimiter: '::', rows: 3, skipped: 1 });
    await expectDataError(readTable(text, options, () => {}, () => {}), {
      file: 'r.dat',
      line: 3,
      what: 'malformed row: expected 3 fields as columns are named, got 2',
    });
    await expectDataError(readTable('\n', options, () => {}, () => {}), {
      file: 'r.dat',
      line: 1,
      what: 'empty file: no data rows',
    });
    await expect(readTable(text, { ...options, columns: [] }, () => {}, () => {})).rejects.toThrow(
      'columns must name at least one column of r.dat, got none',
    );
  });

  test('a column missing from named columns is the options\' fault, from a header the file\'s', () => {
    const headerless = { fileName: 'r.dat', columns: ['user', 'item'] };
    expect(() => findColumn(['user', 'item'], headerless, undefined, ['timestamp', 'time'], true)).toThrow(
      new RangeError('column "timestamp" (also looked for time) is not among the columns named for headerless r.dat: user, item'),
    );
    expect(() => findColumn(['user', 'item'], { fileName: 'r.csv' }, 'when', [], true)).toThrow(
      'r.csv:1: column "when": missing from the header; the header has columns: user, item',
    );
  });

  test('rejects an unknown onBadRow', async () => {
    await expect(
      readTable('a\n1\n', { fileName: 'x.csv', onBadRow: 'ignore' as 'skip' }, () => {}, () => {}),
    ).rejects.toThrow("onBadRow must be 'error' or 'skip', got ignore");
  });
});
