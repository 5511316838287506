import { describe, expect, test } from 'vitest';
import { parseItemFeatures, parseUserFeatures } from '../../src/data/features.js';
import { buildItemVocabulary } from '../../src/data/vocabulary.js';
import { chunks, expectDataError } from './helpers.js';

// Ids by count: 2 → 1, 1 → 2, 3 → 3, 9 → 4 (9 has no row in the movies file).
const vocabulary = buildItemVocabulary(['2', '2', '1', '3', '9']);

const MOVIES = [
  'movieId,title,genres',
  '1,Toy Story (1995),Adventure|Animation|Children',
  '2,"American President, The (1995)",Comedy|Drama|Romance|Comedy',
  '3,Empty,(no genres listed)',
  '4,Unseen,Horror',
].join('\r\n');

describe('parseItemFeatures', () => {
  test('MovieLens genres become bags of global feature rows, CSR over item ids', async () => {
    const table = await parseItemFeatures(chunks(MOVIES, 7), { fileName: 'movies.csv', vocabulary });
    // Values are numbered in order of first appearance among known items.
    expect(table.spaces).toEqual([
      {
        name: 'genres',
        size: 7,
        offset: 0,
        values: ['Adventure', 'Animation', 'Children', 'Comedy', 'Drama', 'Romance', '(no genres listed)'],
      },
    ]);
    expect(table.numRows).toBe(7);
    // Item 0 (padding) and item 4 ('9', no row) are empty; item 2 is movie '1'.
    expect([...table.offsets]).toEqual([0, 0, 3, 6, 7, 7]);
    expect([...table.values]).toEqual([3, 4, 5, 0, 1, 2, 6]);
    expect(table.unknownItems).toBe(1);
    expect(table.rows).toBe(4);
  });

  test('several feature columns share one table through offsets; whole values without a separator', async () => {
    const text = 'item,genre,studio\n1,A|B,S1\n2,,S2\n3,B,\n';
    const table = await parseItemFeatures(text, {
      fileName: 'items.csv',
      vocabulary: buildItemVocabulary(['1', '2', '3']),
      featureColumns: ['genre', 'studio'],
    });
    expect(table.spaces.map(({ name, size, offset }) => ({ name, size, offset }))).toEqual([
      { name: 'genre', size: 2, offset: 0 },
      { name: 'studio', size: 2, offset: 2 },
    ]);
    expect([...table.offsets]).toEqual([0, 0, 3, 4, 5]);
    expect([...table.values]).toEqual([0, 1, 2, 3, 1]);
    const whole = await parseItemFeatures(text, {
      fileName: 'items.csv',
      vocabulary: buildItemVocabulary(['1']),
      featureColumns: ['genre'],
      multiValueSeparator: null,
    });
    expect(whole.spaces[0].values).toEqual(['A|B']);
  });

  test('missing feature column, repeated item, no matching item, header-only file', async () => {
    await expectDataError(parseItemFeatures('movieId,title\n1,x\n', { fileName: 'movies.csv', vocabulary }), {
      file: 'movies.csv',
      line: 1,
      column: 'genres',
      what: 'the header has columns: movieId, title',
    });
    await expectDataError(parseItemFeatures('movieId,genres\n1,A\n1,B\n', { fileName: 'movies.csv', vocabulary }), {
      file: 'movies.csv',
      line: 3,
      column: 'movieId',
      what: 'item "1" appears on an earlier row too',
    });
    await expectDataError(
      parseItemFeatures('movieId,title,genres\n1,Toy Story,A\n', {
        fileName: 'movies.csv',
        vocabulary,
        itemColumn: 'title',
      }),
      { file: 'movies.csv', line: 1, column: 'title', what: 'none of the 1 rows names an item that has interactions' },
    );
    await expectDataError(parseItemFeatures('movieId,genres\n', { fileName: 'movies.csv', vocabulary }), {
      file: 'movies.csv',
      line: 1,
      what: 'the file has a header but no data rows',
    });
  });
});

describe('flag spaces (MovieLens 100k genre columns)', () => {
  // Headerless, '|'-separated like u.item: id, title, then one 0/1 column per genre.
  const ITEMS = ['1|Toy Story|0|1|1', '2|Heat|1|0|0', '3|Nothing|0|0|0', '4|Rated|1|0|1'].join('\n');
  const layout = {
    fileName: 'u.item',
    delimiter: '|',
    columns: ['movieId', 'title', 'Action', 'Animation', 'Comedy'],
    flagSpaces: [{ name: 'genres', columns: ['Action', 'Animation', 'Comedy'] }],
  };
  // Ids by count: 2 → 1, 1 → 2, 3 → 3, 4 → 4.
  const items = buildItemVocabulary(['2', '2', '1', '3', '4']);

  test('a space named in featureColumns gathers the names of the columns set to 1', async () => {
    const table = await parseItemFeatures(ITEMS, { ...layout, vocabulary: items, featureColumns: ['genres', 'title'] });
    expect(table.spaces).toEqual([
      // First appearance over the rows in file order, within a row in column order.
      { name: 'genres', size: 3, offset: 0, values: ['Animation', 'Comedy', 'Action'] },
      { name: 'title', size: 4, offset: 3, values: ['Toy Story', 'Heat', 'Nothing', 'Rated'] },
    ]);
    // Item 1 = movie 2 (Action, Heat); item 2 = movie 1 (Animation, Comedy, Toy Story);
    // item 3 = movie 3 (no genre); item 4 = movie 4 (Action, Comedy).
    expect([...table.offsets]).toEqual([0, 0, 2, 5, 6, 9]);
    expect([...table.values]).toEqual([2, 4, 0, 1, 3, 5, 2, 1, 6]);
  });

  test('a flag other than 0 or 1 is a bad row naming its column; skipped, it gives no value an id', async () => {
    // Action is set before the bad Comedy flag is seen, and must not take the first genre id.
    const bad = '9|Bad|1|0|yes\n' + ITEMS;
    const withNine = buildItemVocabulary(['9', '2', '2', '1', '3', '4']);
    const options = { ...layout, vocabulary: withNine, featureColumns: ['genres'] };
    await expectDataError(parseItemFeatures(bad, options), {
      file: 'u.item',
      line: 1,
      column: 'Comedy',
      what: '"yes" is not a 0/1 flag',
    });
    const skipped = await parseItemFeatures(bad, { ...options, onBadRow: 'skip' });
    expect(skipped.skipped).toBe(1);
    expect(skipped.spaces[0].values).toEqual(['Animation', 'Comedy', 'Action']);
  });
});

describe('parseUserFeatures', () => {
  const USERS = 'userId,gender,occupation,age,income\nu1,F,artist,30,1.5\nu2,M,,41,2\nu3,F,doctor,25,0\n';

  test('categorical ids from 1 (0 = unknown), dense values as written', async () => {
    const table = await parseUserFeatures(USERS, {
      fileName: 'users.csv',
      categorical: ['gender', 'occupation'],
      dense: ['age', 'income'],
    });
    expect(table.categorical).toEqual([
      { name: 'gender', size: 3, values: ['<unknown>', 'F', 'M'] },
      { name: 'occupation', size: 3, values: ['<unknown>', 'artist', 'doctor'] },
    ]);
    expect(table.dense).toEqual(['age', 'income']);
    expect([...table.profiles.get('u2')!.categorical]).toEqual([2, 0]);
    expect([...table.profiles.get('u3')!.categorical]).toEqual([1, 2]);
    expect([...table.profiles.get('u1')!.dense]).toEqual([30, 1.5]);
  });

  test('a non-numeric dense value names file, line and column; skip mode leaves no trace', async () => {
    const bad = USERS + 'u4,X,pilot,old,1\n';
    const options = { fileName: 'users.csv', categorical: ['gender', 'occupation'], dense: ['age', 'income'] };
    await expectDataError(parseUserFeatures(bad, options), {
      file: 'users.csv',
      line: 5,
      column: 'age',
      what: '"old" is not a finite number',
    });
    const skipped = await parseUserFeatures(bad, { ...options, onBadRow: 'skip' });
    expect(skipped.skipped).toBe(1);
    expect(skipped.profiles.has('u4')).toBe(false);
    // The skipped row's categorical values got no ids.
    expect(skipped.categorical[0].values).toEqual(['<unknown>', 'F', 'M']);
    await expectDataError(parseUserFeatures(USERS + 'u1,F,artist,1,1\n', options), {
      file: 'users.csv',
      line: 5,
      column: 'userId',
      what: 'user "u1" appears on an earlier row too',
    });
  });
});
