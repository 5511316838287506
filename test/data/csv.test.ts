import { describe, expect, test } from 'vitest';
import { CsvTokenizer, type Delimiter, readTable, sniffDelimiter } from '../../src/data/csv.js';
import { expectDataError } from './helpers.js';

/** Tokenizes `pieces` in order and returns [line, fields] per record. */
function tokenize(pieces: string[], delimiter?: Delimiter): [number, string[]][] {
  const records: [number, string[]][] = [];
  const tokenizer = new CsvTokenizer('t.csv', delimiter);
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

  test('rejects an unknown onBadRow', async () => {
    await expect(
      readTable('a\n1\n', { fileName: 'x.csv', onBadRow: 'ignore' as 'skip' }, () => {}, () => {}),
    ).rejects.toThrow("onBadRow must be 'error' or 'skip', got ignore");
  });
});
