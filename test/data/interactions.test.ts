import { describe, expect, test } from 'vitest';
import { parseInteractions } from '../../src/data/interactions.js';
import { chunks, expectDataError } from './helpers.js';

const RATINGS = [
  'userId,movieId,rating,timestamp',
  '1,10,4.0,964982703',
  '1,20,3.5,964981247',
  '2,10,5.0,1445714994',
].join('\n');

const EXPECTED = [
  { user: '1', item: '10', time: 964982703, rating: 4 },
  { user: '1', item: '20', time: 964981247, rating: 3.5 },
  { user: '2', item: '10', time: 1445714994, rating: 5 },
];

describe('parseInteractions', () => {
  test('recognises the MovieLens header with no options', async () => {
    const table = await parseInteractions(RATINGS, { fileName: 'ratings.csv' });
    expect(table).toEqual({ interactions: EXPECTED, rows: 3, skipped: 0, belowMinRating: 0 });
  });

  test('CRLF and LF, whole or streamed in small chunks, give identical results', async () => {
    const lf = await parseInteractions(RATINGS + '\n', { fileName: 'r.csv' });
    const crlf = await parseInteractions(RATINGS.replaceAll('\n', '\r\n') + '\r\n', { fileName: 'r.csv' });
    const streamed = await parseInteractions(chunks(RATINGS.replaceAll('\n', '\r\n'), 5), { fileName: 'r.csv' });
    expect(crlf).toEqual(lf);
    expect(streamed).toEqual(lf);
    expect(lf.interactions).toEqual(EXPECTED);
  });

  test('sniffs TSV and finds other default column names, ignoring case', async () => {
    const tsv = 'User_ID\titem\tts\n7\tabc\t3\n7\tdef\t1\n';
    const table = await parseInteractions(tsv, { fileName: 'events.tsv' });
    expect(table.interactions).toEqual([
      { user: '7', item: 'abc', time: 3 },
      { user: '7', item: 'def', time: 1 },
    ]);
  });

  test('explicit columns, and no time column meaning file order', async () => {
    const text = 'who,what,stars\nu,a,1\nu,b,2\n';
    const table = await parseInteractions(text, {
      fileName: 'x.csv',
      userColumn: 'who',
      itemColumn: 'what',
      ratingColumn: 'stars',
      timeColumn: null,
    });
    expect(table.interactions).toEqual([
      { user: 'u', item: 'a', time: 0, rating: 1 },
      { user: 'u', item: 'b', time: 1, rating: 2 },
    ]);
  });

  test('minRating drops low ratings without calling them bad', async () => {
    const table = await parseInteractions(RATINGS, { fileName: 'r.csv', minRating: 4 });
    expect(table.interactions.map((i) => i.item)).toEqual(['10', '10']);
    expect(table.belowMinRating).toBe(1);
    expect(table.skipped).toBe(0);
    expect(table.rows).toBe(3);
  });

  describe('bad input', () => {
    test('a malformed row names the file and line', async () => {
      await expectDataError(parseInteractions('userId,movieId,timestamp\n1,2,3\n1,2\n', { fileName: 'r.csv' }), {
        file: 'r.csv',
        line: 3,
        what: 'malformed row: expected 3 fields like the header, got 2',
      });
    });

    test('a missing column is named and the header listed', async () => {
      const error = await expectDataError(parseInteractions('userId,rating,timestamp\n1,2,3\n', { fileName: 'r.csv' }), {
        file: 'r.csv',
        line: 1,
        column: 'movieId',
        what: 'missing from the header (also looked for itemId, item, item_id)',
      });
      expect(error.message).toBe(
        'r.csv:1: column "movieId": missing from the header (also looked for itemId, item, item_id); ' +
          'the header has columns: userId, rating, timestamp',
      );
      await expectDataError(parseInteractions(RATINGS, { fileName: 'r.csv', timeColumn: 'when' }), {
        file: 'r.csv',
        line: 1,
        column: 'when',
        what: 'missing from the header; the header has columns: userId, movieId, rating, timestamp',
      });
      // No time column at all is an error unless the caller says the file is in order.
      await expectDataError(parseInteractions('userId,movieId\n1,2\n', { fileName: 'r.csv' }), {
        file: 'r.csv',
        line: 1,
        column: 'timestamp',
        what: 'the header has columns: userId, movieId',
      });
      // minRating needs a rating column.
      await expectDataError(parseInteractions('userId,movieId,ts\n1,2,3\n', { fileName: 'r.csv', minRating: 3 }), {
        file: 'r.csv',
        line: 1,
        column: 'rating',
        what: 'missing from the header',
      });
    });

    test('a file separated by an unsupported delimiter says which one and what is supported', async () => {
      for (const delimiter of ['::', ';']) {
        const text = ['userId', 'movieId', 'rating', 'timestamp'].join(delimiter) + '\n' + ['1', '2', '3', '4'].join(delimiter) + '\n';
        const error = await parseInteractions(text, { fileName: 'r.dat' }).catch((e) => e);
        expect(error.message).toContain(`the header looks separated by "${delimiter}", which is not detected automatically (only comma and tab are)`);
      }
    });

    test('a non-numeric timestamp or non-finite rating names line and column', async () => {
      await expectDataError(parseInteractions(RATINGS + '\n3,30,4.0,yesterday\n', { fileName: 'r.csv' }), {
        file: 'r.csv',
        line: 5,
        column: 'timestamp',
        what: '"yesterday" is not a finite number',
      });
      await expectDataError(parseInteractions(RATINGS + '\n3,30,Infinity,1\n', { fileName: 'r.csv' }), {
        file: 'r.csv',
        line: 5,
        column: 'rating',
        what: '"Infinity" is not a finite number',
      });
      await expectDataError(parseInteractions(RATINGS + '\n3,30,4,\n', { fileName: 'r.csv' }), {
        file: 'r.csv',
        line: 5,
        column: 'timestamp',
        what: '"" is not a finite number',
      });
    });

    test('an empty id is a bad row', async () => {
      await expectDataError(parseInteractions('userId,movieId,timestamp\n1, ,3\n', { fileName: 'r.csv' }), {
        file: 'r.csv',
        line: 2,
        column: 'movieId',
        what: 'empty id',
      });
    });

    test('an empty file and a header-only file', async () => {
      await expectDataError(parseInteractions('', { fileName: 'r.csv' }), {
        file: 'r.csv',
        line: 1,
        what: 'empty file: no header row',
      });
      await expectDataError(parseInteractions(chunks('\r\n\n', 1), { fileName: 'r.csv' }), {
        file: 'r.csv',
        line: 1,
        what: 'empty file: no header row',
      });
      await expectDataError(parseInteractions('userId,movieId,rating,timestamp\r\n', { fileName: 'r.csv' }), {
        file: 'r.csv',
        line: 1,
        what: 'the file has a header but no data rows',
      });
    });

    test("'skip' counts bad rows instead of throwing", async () => {
      const text = [
        'userId,movieId,rating,timestamp',
        '1,10,4,100',
        '1,11,4',
        '1,12,4,soon',
        '1,,4,100',
        '1,13,NaN,100',
        '2,10,4,200',
      ].join('\n');
      const table = await parseInteractions(text, { fileName: 'r.csv', onBadRow: 'skip' });
      expect(table.skipped).toBe(4);
      expect(table.rows).toBe(6);
      expect(table.interactions.map((i) => `${i.user}:${i.item}`)).toEqual(['1:10', '2:10']);
    });
  });
});
