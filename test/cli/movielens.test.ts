/**
 * `mind train` on MovieLens 100k and 1M files as distributed (tiny ones written here), and
 * `mind eval` rebuilding the same data from the checkpoint's DataSpec. Two steps of a tiny
 * model: this checks the path from files to checkpoint, not what the model learns.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { mind, readRunFile } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'mind-movielens-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TINY = ['--max-steps', '2', '--epochs', '1', '--no-baseline', '--dim', '8', '--k', '2', '--batch-size', '16', '--num-sampled', '8'];

/** Writes latin-1 bytes, as MovieLens ships them. */
function latin1File(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, Buffer.from(`${lines.join('\n')}\n`, 'latin1'));
  return path;
}

/** 10 users with 6 ratings each over 12 movies, as [user, movie, rating, time]. */
const RATINGS = Array.from({ length: 60 }, (_, row) => {
  const user = Math.floor(row / 6) + 1;
  return [user, ((user * 5 + row * 7) % 12) + 1, (row % 5) + 1, 880000000 + row * 37];
});
const MOVIES = Array.from({ length: 12 }, (_, m) => m + 1);

function manifest(model: string) {
  return JSON.parse(readRunFile(model, 'config.json'));
}

describe('mind train and eval on MovieLens files as distributed', () => {
  test('100k: u.data with u.item genre flags', () => {
    const data = latin1File('u.data', RATINGS.map((row) => row.join('\t')));
    const items = latin1File(
      'u.item',
      MOVIES.map((m) => {
        const flags = Array.from({ length: 19 }, (_, g) => (g === m % 19 || g === 8 ? '1' : '0'));
        return `${m}|Misérables ${m} (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?${m}|${flags.join('|')}`;
      }),
    );
    const model = join(dir, 'ml100k');
    const run = mind(['train', '--data', data, '--item-features', items, ...TINY, '--out', model]);
    expect(run.status, run.stderr.slice(-4000)).toBe(0);
    expect(run.stderr).toContain(`data: ${data} (movielens-100k)`);
    const saved = manifest(model);
    expect(saved.data).toEqual({ kind: 'files', format: 'movielens-100k', interactions: data, itemFeatures: { path: items }, maxLength: 50, seed: 1 });
    expect(saved.itemFeatures.spaces[0].name).toBe('genres');
    expect(saved.itemFeatures.spaces[0].values).toContain('Drama');
    const evaluated = mind(['eval', '--model', model, '--json']);
    expect(evaluated.status, evaluated.stderr.slice(-4000)).toBe(0);
    expect(JSON.parse(evaluated.stdout).split).toMatchObject({ users: 10, items: 12, train: 8, validation: 1, test: 1 });
  });

  test('1M: ratings.dat with movies.dat and users.dat profile columns by default', () => {
    const data = latin1File('ratings.dat', RATINGS.map((row) => row.join('::')));
    const items = latin1File('movies.dat', MOVIES.map((m) => `${m}::Amélie ${m} (2001)::Comedy|${m % 2 ? 'Romance' : 'Drama'}`));
    const users = latin1File('users.dat', Array.from({ length: 10 }, (_, u) => `${u + 1}::${u % 2 ? 'M' : 'F'}::${u % 3 ? 25 : 18}::${u}::0000${u}`));
    const model = join(dir, 'ml1m');
    const run = mind(['train', '--data', data, '--item-features', items, '--user-features', users, ...TINY, '--out', model]);
    expect(run.status, run.stderr.slice(-4000)).toBe(0);
    const saved = manifest(model);
    expect(saved.data.format).toBe('movielens-1m');
    expect(saved.data.userFeatures).toEqual({ path: users, categorical: ['gender', 'age', 'occupation'], dense: [] });
    expect(saved.userFeatures.categorical.map((space: { size: number }) => space.size)).toEqual([3, 3, 11]);
    expect(saved.itemFeatures.spaces[0].values).toEqual(['Comedy', 'Romance', 'Drama']);
    const evaluated = mind(['eval', '--model', model, '--json']);
    expect(evaluated.status, evaluated.stderr.slice(-4000)).toBe(0);
  });
});
