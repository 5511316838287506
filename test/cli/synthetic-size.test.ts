/**
 * `mind train --synthetic-items/--synthetic-users/--synthetic-categories` (issue 14: anyone can
 * reproduce a large synthetic run): the sizes reach the generator, and misuse is refused naming
 * the flag and the value.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { mind, readRunFile } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'mind-synthetic-size-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('synthetic data set size flags', () => {
  test('the catalogue, users and categories given are the ones trained on', () => {
    const out = join(dir, 'model');
    const run = mind([
      'train', '--synthetic-items', '400', '--synthetic-users', '160', '--synthetic-categories', '7',
      '--epochs', '1', '--no-baseline', '--dim', '16', '--out', out, '--json',
    ]);
    expect(run.status, run.stderr.slice(-3000)).toBe(0);
    const manifest = JSON.parse(readRunFile(out, 'config.json'));
    // Items nobody drew are left out (src/data/synthetic.ts): at most 400 real ids plus padding,
    // and far more than the default catalogue's share would leave at 160 users.
    expect(manifest.shape.numItems).toBeLessThanOrEqual(401);
    expect(manifest.shape.numItems).toBeGreaterThan(300);
    const summary = JSON.parse(run.stdout);
    const users = summary.split.train + summary.split.validation + summary.split.test;
    expect(users).toBeLessThanOrEqual(160);
    expect(users).toBeGreaterThan(150);
    // The peak RSS as it stood after the data, after the steps and at the end: growing, and the
    // last one the process's peak.
    const phases = summary.resources.peakRssByPhase as { after: string; peakRssBytes: number }[];
    expect(phases.map((m) => m.after)).toEqual(['data loaded', 'MIND training steps (first epoch)', 'validation and checkpoint saved']);
    for (let i = 1; i < phases.length; i++) expect(phases[i].peakRssBytes).toBeGreaterThanOrEqual(phases[i - 1].peakRssBytes);
    expect(phases[0].peakRssBytes).toBeGreaterThan(10 * 2 ** 20);
    expect(phases.at(-1)!.peakRssBytes).toBeLessThanOrEqual(summary.resources.peakRssBytes);
  }, 600_000);

  test('refused with --data, and with fewer items than categories, naming the flags', () => {
    const withData = mind(['train', '--data', join(dir, 'ratings.csv'), '--synthetic-users', '10', '--out', join(dir, 'x')]);
    expect(withData.status).toBe(1);
    expect(withData.stderr).toContain('--synthetic-users sizes the synthetic data set, which is used only without --data');
    const tooFew = mind(['train', '--synthetic-items', '5', '--synthetic-categories', '9', '--out', join(dir, 'y')]);
    expect(tooFew.status).toBe(1);
    expect(tooFew.stderr).toContain('--synthetic-items (5) must be at least --synthetic-categories (9)');
    const bad = mind(['train', '--synthetic-items', '1', '--out', join(dir, 'z')]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('--synthetic-items must be an integer >= 2, got 1');
  }, 300_000);
});
