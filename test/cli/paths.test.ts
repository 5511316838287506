/**
 * Command paths no other test runs, checked by value: `mind train` from a CSV with item side
 * features (the features reach the checkpoint and the item vectors), two processes with the same
 * seed writing identical weight bytes, `mind eval --part validation` on a run without a baseline
 * (equal to an in-process evaluation of the reloaded checkpoint on the validation users, not the
 * test users; popularity equal to a hand ranking), and `mind export` writing every item's vector
 * row by row as the reloaded model computes it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createContext, heldOutUsers, MindModel, rankingMetrics, evaluateModel } from '../../src/index.js';
import { loadCheckpoint } from '../../src/node/checkpoint-io.js';
import { loadData, type DataSpec } from '../../src/node/datasets.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { TINY } from './fixtures.js';
import { mind } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'mind-paths-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const path = (name: string) => join(dir, name);
const GENRES = ['Action', 'Comedy', 'Drama', 'Horror', 'Sci-Fi'];

/** The bytes of a file of the run a checkpoint directory holds (through its checkpoint.json). */
function runFileBytes(checkpoint: string, name: string): Buffer {
  const { version } = JSON.parse(readFileSync(join(checkpoint, 'checkpoint.json'), 'utf8'));
  return readFileSync(join(checkpoint, version, name));
}

/** Item i's genres: one to three, from its number, so that items differ in their bags. */
function genresOf(name: string): string[] {
  const n = Number(name.replace(/\D/g, '')) || 0;
  return GENRES.filter((_, g) => (n >> g) % 2 === 1 || g === n % GENRES.length).slice(0, 3);
}

const trainArgs = (out: string) => [
  'train', '--data', path('ratings.csv'), '--item-features', path('movies.csv'), ...TINY,
  '--epochs', '1', '--batch-size', '32', '--seed', '3', '--no-baseline', '--out', out,
];

beforeAll(() => {
  const source = generateSynthetic({ seed: 4, numItems: 80, numCategories: 6, numUsers: 80, minSequenceLength: 4, maxSequenceLength: 12 });
  const rows = ['userId,itemId,timestamp'];
  source.users.forEach((user) => user.items.forEach((id, t) => rows.push(`${user.name},${source.itemNames[id]},${t}`)));
  writeFileSync(path('ratings.csv'), `${rows.join('\n')}\n`);
  const movies = ['movieId,title,genres', ...source.itemNames.slice(1).map((name) => `${name},Film ${name},${genresOf(name).join('|')}`)];
  writeFileSync(path('movies.csv'), `${movies.join('\n')}\n`);
  for (const out of ['a', 'b']) {
    const run = mind(trainArgs(path(out)));
    expect(run.status, run.stderr.slice(-4000)).toBe(0);
  }
}, 900_000);

describe('mind train / eval / export through the command, by value', () => {
  test('training from a CSV with item features: the checkpoint holds each item\'s genres and a feature table', () => {
    const manifest = JSON.parse(runFileBytes(path('a'), 'config.json').toString('utf8'));
    const features = manifest.itemFeatures;
    expect(features.numRows).toBe(GENRES.length);
    expect(manifest.shape.numFeatureRows).toBe(GENRES.length);
    const space = features.spaces[0];
    expect(space.name).toBe('genres');
    let checked = 0;
    manifest.itemNames.forEach((name: string, id: number) => {
      if (id === 0) return;
      const rows = features.values.slice(features.offsets[id], features.offsets[id + 1]);
      expect(rows.map((r: number) => space.values[r - space.offset]).sort(), name).toEqual(genresOf(name).sort());
      checked++;
    });
    expect(checked).toBeGreaterThan(50);
  });

  test('two processes with the same seed write identical weight bytes', () => {
    const a = runFileBytes(path('a'), 'model.safetensors');
    const b = runFileBytes(path('b'), 'model.safetensors');
    expect(a.length).toBeGreaterThan(1000);
    expect(a.equals(b)).toBe(true);
  });

  test('eval --part validation of a run without a baseline equals the reloaded model evaluated in process on the validation users', async () => {
    const run = mind(['eval', '--model', path('a'), '--part', 'validation', '--json']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain('youtubednn metrics omitted');
    const report = JSON.parse(run.stdout);
    expect(Object.keys(report.metrics).sort()).toEqual(['mind', 'popularity']);
    expect(report.split.evaluated).toBe('validation');

    const { manifest, weights } = await loadCheckpoint(path('a'));
    const dataset = await loadData(manifest.data as unknown as DataSpec);
    const validation = heldOutUsers(dataset, 'validation');
    const test = heldOutUsers(dataset, 'test');
    expect(report.split.evaluatedUsers).toBe(validation.users.length);
    const ctx = await createContext();
    try {
      const model = new MindModel(ctx, manifest.config, manifest.shape, manifest.itemFeatures, weights);
      const expected = await evaluateModel(model, validation);
      const onTest = await evaluateModel(model, test);
      model.dispose();
      expect(report.metrics.mind).toEqual(expected);
      // The two parts differ, so the comparison above tells them apart.
      expect(onTest).not.toEqual(expected);
    } finally {
      ctx.destroy();
    }
    // Popularity by hand: ids by training count, most first, ties to the lower id, the same top 50 for every user.
    const ranked = Array.from({ length: dataset.numItems - 1 }, (_, i) => i + 1).sort((x, y) => dataset.itemCounts[y] - dataset.itemCounts[x] || x - y).slice(0, 50);
    const targets = Array.from(validation.lengths, (_, u) => new Set(validation.targets.subarray(validation.targetOffsets[u], validation.targetOffsets[u + 1])));
    expect(report.metrics.popularity).toEqual(rankingMetrics(targets.map(() => ranked), targets, [20, 50]));
  });

  test('export writes every item\'s vector, row by row, as the reloaded model computes it', async () => {
    const out = path('items.jsonl');
    const run = mind(['export', '--model', path('a'), '--out', out]);
    expect(run.status, run.stderr).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; vector: number[] });
    const { manifest, weights } = await loadCheckpoint(path('a'));
    expect(lines).toHaveLength(manifest.itemNames.length - 1);
    const ctx = await createContext();
    try {
      const model = new MindModel(ctx, manifest.config, manifest.shape, manifest.itemFeatures, weights);
      const ids = Int32Array.from(lines, (line) => manifest.itemNames.indexOf(line.id));
      expect(Math.min(...ids)).toBeGreaterThan(0);
      const vectors = await ctx.tidy(() => ctx.noGrad(() => model.itemVectors(ids)).read());
      model.dispose();
      const d = manifest.config.dim;
      lines.forEach((line, r) => expect(line.vector, line.id).toEqual(Array.from(vectors.subarray(r * d, (r + 1) * d))));
      // Rows are in id order: row r is item r + 1.
      expect(Array.from(ids)).toEqual(lines.map((_, r) => r + 1));
    } finally {
      ctx.destroy();
    }
  });
});
