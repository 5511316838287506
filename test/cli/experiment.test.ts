/**
 * `mind experiment`: every variant on every seed's split, summarised. Tiny models; the check is
 * the protocol (the same split per seed for every model, the paired differences computed from
 * the runs), not the quality.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { mind } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'mind-experiment-'));
const tiny = ['--dim', '8', '--k', '2', '--hidden', '8', '--batch-size', '64', '--num-sampled', '16', '--epochs', '1', '--max-steps', '3'];

describe('mind experiment', () => {
  test('MIND, the baseline and popularity over two seeds: table, JSON and paired differences from the runs', () => {
    const json = join(dir, 'summary.json');
    const run = mind(['experiment', '--seeds', '3,5', '--part', 'validation', ...tiny, '--json', json]);
    expect(run.stderr).toContain('[6/6] seed 5: popularity');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('| MIND − YouTube DNN |');
    const summary = JSON.parse(readFileSync(json, 'utf8'));
    expect(summary.seeds).toEqual([3, 5]);
    expect(summary.runs.map((r: { seed: number; variant: string }) => `${r.seed}:${r.variant}`)).toEqual([
      '3:MIND', '3:YouTube DNN', '3:popularity', '5:MIND', '5:YouTube DNN', '5:popularity',
    ]);
    // The baseline runs with mean pooling, MIND with routing.
    expect(summary.variants.map((v: { config?: { extractor: string } }) => v.config?.extractor)).toEqual(['mind', 'meanPool', undefined]);
    const metric = (seed: number, variant: string) => summary.runs.find((r: { seed: number; variant: string }) => r.seed === seed && r.variant === variant).metrics['recall@50'];
    const diffs = [3, 5].map((s) => metric(s, 'MIND') - metric(s, 'popularity'));
    expect(summary.differences['MIND − popularity']['recall@50'].mean).toBeCloseTo((diffs[0] + diffs[1]) / 2, 12);
    expect(summary.spreads.popularity['recall@50'].mean).toBeCloseTo((metric(3, 'popularity') + metric(5, 'popularity')) / 2, 12);
    // Validation users only: the test users are never read.
    expect(summary.part).toBe('validation');
    expect(summary.userNames['3']).toHaveLength(summary.users[0]);
    for (const r of summary.runs) {
      // Per-user recall averages to the reported recall@50 (every held-out user has targets).
      const mean = r.perUserRecall.reduce((a: number, x: number) => a + x, 0) / r.perUserRecall.length;
      expect(mean).toBeCloseTo(r.metrics['recall@50'], 12);
      // The model evaluated is the kept epoch's: its metrics are the trainer's validation metrics.
      if (r.variant !== 'popularity') expect(r.metrics).toEqual(r.validation);
    }
  }, 600_000);

  test('a variants file runs exactly its variants; a bad file is named', () => {
    const variants = join(dir, 'variants.json');
    writeFileSync(variants, JSON.stringify([{ name: 'hard', config: { attentionPower: 'Infinity' } }, { name: 'pop', kind: 'popularity' }]));
    const json = join(dir, 'variants-summary.json');
    const run = mind(['experiment', '--seeds', '2', '--part', 'validation', ...tiny, '--variants', variants, '--json', json]);
    expect(run.status).toBe(0);
    const summary = JSON.parse(readFileSync(json, 'utf8'));
    expect(summary.runs.map((r: { variant: string }) => r.variant)).toEqual(['hard', 'pop']);
    expect(summary.variants[0].config.attentionPower).toBe(null); // JSON writes Infinity as null
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '[{"config": {}}]');
    const refused = mind(['experiment', '--seeds', '2', ...tiny, '--variants', bad]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`--variants ${bad}: entry 0 needs a non-empty "name"`);
    const repeated = mind(['experiment', '--seeds', '2,2', ...tiny]);
    expect(repeated.stderr).toContain('seeds: 2,2 repeats a seed');
  }, 600_000);
});
