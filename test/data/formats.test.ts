/**
 * MovieLens 100k and 1M read as distributed, and headerless logs with named columns, through
 * loadData: the path the `mind` command takes. Small files in each format are written here, as
 * bytes, so the latin-1 titles are what the real files hold.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import type { Dataset } from '../../src/data/dataset.js';
import { detectFormat } from '../../src/data/formats.js';
import { type DataSpec, loadData } from '../../src/node/datasets.js';
import { readTextChunks } from '../../src/node/files.js';
import { expectDataError } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'mind-formats-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `lines` (and a final newline) as latin-1 bytes, as MovieLens ships them. */
function latin1File(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, Buffer.from(`${lines.join('\n')}\n`, 'latin1'));
  return path;
}

/** Users' names and item names per user, oldest first; item names by id. */
function sequences(dataset: Dataset): { users: string[]; items: string[][] } {
  return {
    users: dataset.users.map((user) => user.name),
    items: dataset.users.map((user) => Array.from(user.items, (id) => dataset.itemNames[id])),
  };
}

/** Item name → the feature values of its bag, by space name. */
function bagOf(dataset: Dataset, name: string): string[] {
  const features = dataset.itemFeatures!;
  const id = dataset.itemNames.indexOf(name);
  const rows = features.values.subarray(features.offsets[id], features.offsets[id + 1]);
  return Array.from(rows, (row) => {
    const space = features.spaces.find((s) => row >= s.offset && row < s.offset + s.size)!;
    return `${space.name}:${space.values[row - space.offset]}`;
  });
}

/** 19 genre flags with the given genre indices set (u.item's order: unknown, Action, ...). */
function flags(...set: number[]): string {
  return Array.from({ length: 19 }, (_, genre) => (set.includes(genre) ? '1' : '0')).join('|');
}

// Few enough users (at most 4) that the default 80/10/10 split puts all of them in training.
describe('MovieLens 100k: u.data, u.item, u.user as distributed', () => {
  // File order is not time order, as in the real u.data; user 244 has one rating and is dropped.
  const ratings = latin1File('u.data', [
    '196\t242\t3\t881250949',
    '186\t302\t3\t891717742',
    '196\t377\t1\t878887116',
    '22\t377\t1\t878887116',
    '186\t242\t5\t891717000',
    '196\t51\t2\t880606923',
    '244\t51\t2\t880606923',
    '22\t242\t4\t878887200',
  ]);
  const movies = latin1File('u.item', [
    `1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|${flags(3, 4, 5)}`,
    `51|Misérables, Les (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Mis%E9rables|${flags(8, 17)}`,
    `242|Kolya (1996)|24-Jan-1997||http://us.imdb.com/M/title-exact?Kolya%20(1996)|${flags(5)}`,
    `302|L.A. Confidential (1997)|01-Jan-1997||http://us.imdb.com/M/title-exact?L%2EA%2E|${flags(6, 10, 13, 16)}`,
    `377|Heavyweights (1994)|01-Jan-1994||http://us.imdb.com/M/title-exact?Heavyweights|${flags(4, 5)}`,
  ]);
  const users = latin1File('u.user', ['196|49|M|writer|55105', '186|39|F|executive|00000', '22|25|M|writer|40206']);
  const spec = (extra: Partial<Extract<DataSpec, { kind: 'files' }>> = {}): DataSpec => ({
    kind: 'files',
    interactions: ratings,
    maxLength: 5,
    seed: 1,
    ...extra,
  });

  test('u.data is detected; users in order of first appearance, items by training count, sequences by time', async () => {
    expect(detectFormat(ratings)).toBe('movielens-100k');
    const dataset = await loadData(spec());
    expect(sequences(dataset)).toEqual({
      users: ['196', '186', '22'],
      items: [
        ['377', '51', '242'],
        ['242', '302'],
        ['377', '242'],
      ],
    });
    expect(dataset.itemNames).toEqual(['<pad>', '242', '377', '51', '302']);
    expect([...dataset.itemCounts]).toEqual([0, 3, 2, 1, 1]);
    expect(dataset.split).toEqual({ train: [0, 1, 2], validation: [], test: [] });
    expect(dataset.stats).toMatchObject({ interactions: 7, droppedUsers: 1, skippedRows: 0 });
  });

  test("u.item's genre flags become the genres space; latin-1 titles decode", async () => {
    const dataset = await loadData(spec({ itemFeatures: { path: movies } }));
    const features = dataset.itemFeatures!;
    // Values in order of first appearance among rated movies (Toy Story has no rating).
    expect(features.spaces).toEqual([
      {
        name: 'genres',
        size: 8,
        offset: 0,
        values: ['Drama', 'War', 'Comedy', 'Crime', 'Film-Noir', 'Mystery', 'Thriller', "Children's"],
      },
    ]);
    expect([...features.offsets]).toEqual([0, 0, 1, 3, 5, 9]);
    expect([...features.values]).toEqual([2, 7, 2, 0, 1, 3, 4, 5, 6]);
    expect(bagOf(dataset, '377')).toEqual(["genres:Children's", 'genres:Comedy']);

    const titles = await loadData(spec({ itemFeatures: { path: movies, columns: ['title'] } }));
    expect(titles.itemFeatures!.spaces[0].values).toEqual([
      'Misérables, Les (1995)',
      'Kolya (1996)',
      'L.A. Confidential (1997)',
      'Heavyweights (1994)',
    ]);
  });

  test('u.user gives profile columns by name', async () => {
    const dataset = await loadData(
      spec({ userFeatures: { path: users, categorical: ['gender', 'age', 'occupation'], dense: [] } }),
    );
    expect(dataset.userFeatures!.categorical.map((space) => space.values)).toEqual([
      ['<unknown>', 'M', 'F'],
      ['<unknown>', '49', '39', '25'],
      ['<unknown>', 'writer', 'executive'],
    ]);
    expect(dataset.users.map((user) => [...user.profileCategorical])).toEqual([
      [1, 1, 1],
      [2, 2, 2],
      [1, 3, 1],
    ]);
  });

  test('a bad row names the file and line; --format reads a file of another name', async () => {
    const shortRow = latin1File('short.data', ['196\t242\t3\t881250949', '196\t377\t1']);
    await expectDataError(loadData(spec({ interactions: shortRow, format: 'movielens-100k' })), {
      file: shortRow,
      line: 2,
      what: 'malformed row: expected 4 fields as columns are named, got 3',
    });
    const badFlag = latin1File('bad-flag.item', [
      `242|Kolya (1996)|24-Jan-1997||http://x|${flags(5)}`,
      `377|Heavyweights (1994)|01-Jan-1994||http://x|${flags(4, 5).slice(0, -1)}x`,
    ]);
    await expectDataError(loadData(spec({ itemFeatures: { path: badFlag } })), {
      file: badFlag,
      line: 2,
      column: 'Western',
      what: '"x" is not a 0/1 flag',
    });
  });
});

describe('MovieLens 1M: ratings.dat, movies.dat, users.dat as distributed', () => {
  // User 4 has one rating and is dropped; movie 2 has none.
  const ratings = latin1File('ratings.dat', [
    '1::1193::5::978300760',
    '1::661::3::978302109',
    '1::914::3::978301968',
    '2::1193::5::978298413',
    '2::3408::4::978299000',
    '3::661::4::978297000',
    '3::3408::5::978297100',
    '3::1193::2::978296000',
    '4::914::4::978295000',
  ]);
  // Titles with a single colon, a leading quote (not CSV quoting: the format has none) and é.
  const movies = latin1File('movies.dat', [
    '2::"Great Performances" Cats (1998)::Musical',
    "1193::One Flew Over the Cuckoo's Nest (1975)::Drama",
    '661::Wallace & Gromit: The Best of Aardman Animation (1996)::Animation',
    '914::My Fair Lady (1964)::Musical|Romance',
    '3408::Amélie (2001)::Comedy|Romance',
  ]);
  const users = latin1File('users.dat', [
    '1::F::1::10::48067',
    '2::M::56::16::70072',
    '3::M::25::15::55117',
    '4::M::45::7::02460',
  ]);
  const spec: DataSpec = {
    kind: 'files',
    interactions: ratings,
    itemFeatures: { path: movies },
    userFeatures: { path: users, categorical: ['gender', 'age', 'occupation'], dense: [] },
    maxLength: 5,
    seed: 1,
  };

  test('ratings.dat is detected; sequences, item ids, genres and profiles', async () => {
    expect(detectFormat(ratings)).toBe('movielens-1m');
    const dataset = await loadData(spec);
    expect(sequences(dataset)).toEqual({
      users: ['1', '2', '3'],
      items: [
        ['1193', '914', '661'],
        ['1193', '3408'],
        ['1193', '661', '3408'],
      ],
    });
    expect(dataset.itemNames).toEqual(['<pad>', '1193', '661', '3408', '914']);
    expect(dataset.itemFeatures!.spaces).toEqual([
      { name: 'genres', size: 5, offset: 0, values: ['Drama', 'Animation', 'Musical', 'Romance', 'Comedy'] },
    ]);
    expect([...dataset.itemFeatures!.offsets]).toEqual([0, 0, 1, 2, 4, 6]);
    expect([...dataset.itemFeatures!.values]).toEqual([0, 1, 4, 3, 2, 3]);
    // users.dat: every row gets ids, the dropped user 4's too; age and occupation are codes.
    expect(dataset.userFeatures).toEqual({
      categorical: [
        { name: 'gender', size: 3, values: ['<unknown>', 'F', 'M'] },
        { name: 'age', size: 5, values: ['<unknown>', '1', '56', '25', '45'] },
        { name: 'occupation', size: 5, values: ['<unknown>', '10', '16', '15', '7'] },
      ],
      dense: [],
    });
    expect(dataset.users.map((user) => [...user.profileCategorical])).toEqual([
      [1, 1, 1],
      [2, 2, 2],
      [2, 3, 3],
    ]);
    expect(dataset.stats.usersWithoutProfile).toBe(0);
  });

  test('movies.dat titles decode from latin-1 and keep their quotes and single colons', async () => {
    const dataset = await loadData({ ...spec, itemFeatures: { path: movies, columns: ['title'] } });
    expect(dataset.itemFeatures!.spaces[0].values).toEqual([
      "One Flew Over the Cuckoo's Nest (1975)",
      'Wallace & Gromit: The Best of Aardman Animation (1996)',
      'My Fair Lady (1964)',
      'Amélie (2001)',
    ]);
  });

  test('a bad row in each file names the file and line', async () => {
    const badRating = latin1File('bad-rating.dat', ['1::1193::5::978300760', '1::661::five::978302109']);
    await expectDataError(loadData({ ...spec, interactions: badRating, format: 'movielens-1m' }), {
      file: badRating,
      line: 2,
      column: 'rating',
      what: '"five" is not a finite number',
    });
    // A '::' inside a title splits it: four fields where three are named.
    const badMovie = latin1File('bad-movies.dat', ['1193::Drama::A::Drama']);
    await expectDataError(loadData({ ...spec, itemFeatures: { path: badMovie } }), {
      file: badMovie,
      line: 1,
      what: 'malformed row: expected 3 fields as columns are named, got 4',
    });
    const badUser = latin1File('bad-users.dat', ['1::F::1::10::48067', '2::M::56::16::70072', '3::M::25::15']);
    await expectDataError(loadData({ ...spec, userFeatures: { ...spec.userFeatures!, path: badUser } }), {
      file: badUser,
      line: 3,
      what: 'malformed row: expected 5 fields as columns are named, got 4',
    });
  });
});

describe('logs without a header: columns and delimiter named in the spec', () => {
  const log = latin1File('events.txt', ['u1;a;5;100', 'u1;b;3;50', 'u2;a;4;10', 'u2;c;1;20']);
  const spec: DataSpec = {
    kind: 'files',
    interactions: log,
    columns: ['user', 'item', 'rating', 'time'],
    delimiter: ';',
    maxLength: 5,
    seed: 1,
  };

  test('every row is data, the columns are found by the usual names', async () => {
    const dataset = await loadData(spec);
    expect(sequences(dataset)).toEqual({
      users: ['u1', 'u2'],
      items: [
        ['b', 'a'],
        ['a', 'c'],
      ],
    });
    expect(dataset.itemNames).toEqual(['<pad>', 'a', 'b', 'c']);
    // The named rating column works with minRating: u2 keeps one item and is dropped.
    const rated = await loadData({ ...spec, minRating: 3 });
    expect(sequences(rated)).toEqual({ users: ['u1'], items: [['b', 'a']] });
    expect(rated.stats).toMatchObject({ belowMinRating: 1, droppedUsers: 1 });
  });

  test('a bad row names the file and line (the first row is line 1); a missing column names the options', async () => {
    const bad = latin1File('bad-events.txt', ['u1;a;5;100', 'u1;b;3;later']);
    await expectDataError(loadData({ ...spec, interactions: bad }), {
      file: bad,
      line: 2,
      column: 'time',
      what: '"later" is not a finite number',
    });
    await expect(loadData({ ...spec, columns: ['user', 'item', 'rating', 'when'] })).rejects.toThrow(
      new RangeError(
        `column "timestamp" (also looked for time, ts) is not among the columns named for headerless ${log}: ` +
          'user, item, rating, when',
      ),
    );
  });
});

describe('the DataSpec stays JSON and backward compatible', () => {
  const csv = latin1File('ratings.csv', ['userId,movieId,rating,timestamp', '1,10,4,2', '1,11,3,1', '2,10,5,3', '2,12,1,4']);

  test('a spec from before formats (no format, columns or delimiter) reads a CSV with a header as before', async () => {
    const old = JSON.parse(JSON.stringify({ kind: 'files', interactions: csv, maxLength: 5, seed: 1 })) as DataSpec;
    const dataset = await loadData(old);
    expect(sequences(dataset)).toEqual({
      users: ['1', '2'],
      items: [
        ['11', '10'],
        ['10', '12'],
      ],
    });
  });

  test('layout options a MovieLens format fixes, and unknown formats, are refused by name', async () => {
    const ratings = join(dir, 'ratings.dat');
    await expect(loadData({ kind: 'files', interactions: ratings, delimiter: '\t', maxLength: 5, seed: 1 })).rejects.toThrow(
      `delimiter describes a csv file, but format movielens-1m fixes the layout of ${ratings}; got delimiter "\\t"`,
    );
    const format = 'movielens-20m' as 'csv';
    await expect(loadData({ kind: 'files', interactions: csv, format, maxLength: 5, seed: 1 })).rejects.toThrow(
      'format must be one of csv, movielens-100k, movielens-1m, got "movielens-20m"',
    );
  });

  test('formats are detected from the file name alone', () => {
    expect(detectFormat('/data/ml-100k/u.data')).toBe('movielens-100k');
    expect(detectFormat('C:\\ml-1m\\ratings.dat')).toBe('movielens-1m');
    expect(detectFormat('ratings.csv')).toBe('csv');
    expect(detectFormat('u.data.csv')).toBe('csv');
  });
});

describe('readTextChunks', () => {
  test('a UTF-8 character split between two 1 MiB reads decodes whole', async () => {
    const text = `${'a'.repeat((1 << 20) - 1)}é and ü\n`;
    const path = join(dir, 'split.csv');
    writeFileSync(path, text, 'utf8');
    const pieces: string[] = [];
    for await (const piece of readTextChunks(path)) pieces.push(piece);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe(text);
  });
});
