import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { describe, expect, test } from 'vitest';
import { CsvTokenizer } from '../../src/data/csv.js';
import { loadDatasetFromText } from '../../src/data/dataset.js';
import { parseItemFeatures } from '../../src/data/features.js';
import { parseInteractions } from '../../src/data/interactions.js';
import { buildItemVocabulary } from '../../src/data/vocabulary.js';
import { readText, readTextChunks } from '../../src/node/files.js';

// The data lives beside the repository (never in it): <repo>/../shared/data/ml-latest-small.
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const dataDir = path.resolve(repoRoot, '../shared/data/ml-latest-small');
const present = existsSync(path.join(dataDir, 'ratings.csv')) && existsSync(path.join(dataDir, 'movies.csv'));
const ratingsPath = path.join(dataDir, 'ratings.csv');
const moviesPath = path.join(dataDir, 'movies.csv');

if (!present && process.env.CI) {
  test('MovieLens ml-latest-small is present', () => {
    throw new Error(
      `MovieLens data not found at ${dataDir}: CI must provide shared/data/ml-latest-small ` +
        '(ratings.csv, movies.csv) beside the repository checkout',
    );
  });
}

describe.skipIf(!present)('MovieLens ml-latest-small', () => {
  test('ratings.csv: 100836 rows, 610 users, 9724 movies, streamed from disk', async () => {
    const table = await parseInteractions(readTextChunks(ratingsPath), { fileName: 'ratings.csv' });
    expect(table.rows).toBe(100836);
    expect(table.skipped).toBe(0);
    expect(table.interactions.length).toBe(100836);
    expect(new Set(table.interactions.map((i) => i.user)).size).toBe(610);
    expect(new Set(table.interactions.map((i) => i.item)).size).toBe(9724);
    expect(table.interactions[0]).toEqual({ user: '1', item: '1', time: 964982703, rating: 4 });
  });

  test('movies.csv genres: 20 values, bags per rated movie', async () => {
    const ratings = await parseInteractions(readTextChunks(ratingsPath), { fileName: 'ratings.csv' });
    const vocabulary = buildItemVocabulary(ratings.interactions.map((i) => i.item));
    const table = await parseItemFeatures(readTextChunks(moviesPath), { fileName: 'movies.csv', vocabulary });
    expect(table.rows).toBe(9742);
    // 18 movies in movies.csv have no rating.
    expect(table.unknownItems).toBe(18);
    expect(table.spaces[0].size).toBe(20);
    expect(table.spaces[0].values).toContain('(no genres listed)');
    const toyStory = vocabulary.idOf.get('1')!;
    const bag = table.values.subarray(table.offsets[toyStory], table.offsets[toyStory + 1]);
    expect(Array.from(bag, (row) => table.spaces[0].values[row])).toEqual([
      'Adventure',
      'Animation',
      'Children',
      'Comedy',
      'Fantasy',
    ]);
  });

  test('the tokenizer agrees with csv-parse on movies.csv and tags.csv', async () => {
    for (const name of ['movies.csv', 'tags.csv']) {
      const file = path.join(dataDir, name);
      if (!existsSync(file)) continue;
      const text = await readText(file);
      const ours: string[][] = [];
      const tokenizer = new CsvTokenizer(name);
      const sink = (fields: string[]) => ours.push(fields);
      for await (const chunk of readTextChunks(file)) tokenizer.push(chunk, sink);
      tokenizer.finish(sink);
      expect(ours).toEqual(parse(text, { bom: true, relax_column_count: true }));
    }
  });

  test('the whole pipeline: ids, split, training-only counts', async () => {
    const dataset = await loadDatasetFromText({
      interactions: readTextChunks(ratingsPath),
      interactionOptions: { fileName: 'ratings.csv' },
      itemFeatures: { source: readTextChunks(moviesPath), fileName: 'movies.csv' },
      maxLength: 50,
      seed: 2024,
    });
    expect(dataset.users.length).toBe(610);
    expect(dataset.numItems).toBe(9725);
    expect([dataset.split.train.length, dataset.split.validation.length, dataset.split.test.length]).toEqual([
      488, 61, 61,
    ]);
    const trainInteractions = dataset.split.train.reduce((sum, u) => sum + dataset.users[u].items.length, 0);
    expect(dataset.itemCounts.reduce((a, b) => a + b, 0)).toBe(trainInteractions);
    expect(dataset.stats.interactions).toBe(100836);
    expect(dataset.itemFeatures!.offsets.length).toBe(9726);
  });
});
