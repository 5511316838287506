/**
 * The product path on the synthetic default, through the `mind` command: train MIND and the
 * single-vector baseline, evaluate both against popularity, check that multi-interest
 * retrieval wins by the margin the issue asks for, that capsule purity is reported, and that
 * recommend and export work on the checkpoint. Seeds are the defaults, so the run is fixed.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mind, readRunFile } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'mind-synthetic-'));
const model = join(dir, 'model');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mind train / eval / recommend / export on the synthetic default', () => {
  let trainLog = '';
  beforeAll(() => {
    const run = mind(['train', '--out', model]);
    trainLog = run.stderr;
    expect(run.status, run.stderr.slice(-4000)).toBe(0);
  }, 1_200_000);

  test('training reports progress with loss and samples/s and saves both models', () => {
    expect(trainLog).toMatch(/MIND epoch 1\/3 step \d+\/\d+ loss \d+\.\d+ \d+ samples\/s/);
    expect(trainLog).toContain('validation recall@20');
    const manifest = JSON.parse(readRunFile(model, 'config.json'));
    expect(manifest.format).toBe('mind-webgpu/1');
    expect(manifest.config.kMax).toBe(4);
    expect(manifest.config.candidateScore).toBe('maxInterest');
    expect(manifest.config.globalInterest).toBe(true);
    expect(JSON.parse(readRunFile(model, 'baseline.json')).config.extractor).toBe('meanPool');
  });

  test('MIND beats the single-vector baseline on recall@50 by 20% and reports capsule purity', () => {
    const run = mind(['eval', '--model', model, '--json']);
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    for (const name of ['mind', 'youtubednn', 'popularity']) {
      for (const metric of ['recall@20', 'recall@50', 'ndcg@20', 'ndcg@50', 'hitrate@20', 'hitrate@50']) {
        expect(report.metrics[name][metric], `${name} ${metric}`).toBeGreaterThanOrEqual(0);
        expect(report.metrics[name][metric], `${name} ${metric}`).toBeLessThanOrEqual(1);
      }
    }
    expect(report.split.test).toBeGreaterThan(0);
    const mindRecall = report.metrics.mind['recall@50'];
    const baselineRecall = report.metrics.youtubednn['recall@50'];
    expect(mindRecall).toBeGreaterThanOrEqual(1.2 * baselineRecall);
    expect(mindRecall).toBeGreaterThan(report.metrics.popularity['recall@50']);
    // Capsules recover the planted interests better than one vector can.
    expect(report.capsules.mind.purity).toBeGreaterThan(0);
    expect(report.capsules.mind.purity).toBeLessThanOrEqual(1);
    expect(report.capsules.mind.coverage).toBeGreaterThan(report.capsules.youtubednn.coverage);
    expect(report.capsules.mind.meanActiveInterests).toBeGreaterThan(1);
  });

  test('recommend returns N items with the interest that retrieved each, none from the history', () => {
    const manifest = JSON.parse(readRunFile(model, 'config.json'));
    const history = manifest.itemNames.slice(1, 9) as string[];
    const run = mind(['recommend', '--model', model, '--history', history.join(','), '--n', '20', '--json']);
    expect(run.status, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout);
    expect(out.items).toHaveLength(20);
    expect(out.activeInterests).toBe(4); // floor(log2(8)) = 3 capsules with dynamic K, and the global interest
    for (const item of out.items) {
      expect(history).not.toContain(item.item);
      expect(item.interest).toBeGreaterThanOrEqual(0);
      expect(item.interest).toBeLessThan(out.activeInterests);
    }
    const scores = out.items.map((i: { score: number }) => i.score);
    expect(scores).toEqual([...scores].sort((a, b) => b - a));
    const unknown = mind(['recommend', '--model', model, '--history', 'not-an-item']);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('item "not-an-item" is not in the model\'s catalogue');
  });

  test('export writes one vector per item', () => {
    const out = join(dir, 'items.jsonl');
    const run = mind(['export', '--model', model, '--out', out]);
    expect(run.status, run.stderr).toBe(0);
    const lines = readFileSync(out, 'utf8').trim().split('\n');
    const manifest = JSON.parse(readRunFile(model, 'config.json'));
    expect(lines).toHaveLength(manifest.itemNames.length - 1);
    const first = JSON.parse(lines[0]);
    expect(first.vector).toHaveLength(64);
    expect(first.id).toBe(manifest.itemNames[1]);
  });
});
