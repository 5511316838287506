/**
 * `--extractor`: the ComiRec extractors train and evaluate from the CLI, and checkpoints written
 * before the extractor registry (config.json saying `encoder: 'routing' | 'meanPool'`, no
 * `shape.historyLength`) still load and evaluate to the same numbers.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { mind, readRunFile } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'mind-extractors-'));
const tiny = ['--dim', '8', '--k', '2', '--hidden', '8', '--batch-size', '64', '--num-sampled', '16', '--epochs', '1', '--max-steps', '3'];

/** Rewrites one file of a checkpoint's run in place, keeping its pointer's size and hash valid. */
function rewriteRunFile(model: string, name: string, text: string): void {
  const pointerPath = join(model, 'checkpoint.json');
  const pointer = JSON.parse(readFileSync(pointerPath, 'utf8'));
  const bytes = Buffer.from(text, 'utf8');
  writeFileSync(join(model, pointer.version, name), bytes);
  pointer.files[name] = { bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
  writeFileSync(pointerPath, JSON.stringify(pointer));
}

/** A manifest as the code before the registry wrote it: `encoder`, no selfAttentionRatio, no shape.historyLength. */
function legacyManifest(text: string): string {
  const manifest = JSON.parse(text);
  const { extractor, selfAttentionRatio: _ratio, ...rest } = manifest.config;
  manifest.config = { encoder: extractor === 'mind' ? 'routing' : extractor, ...rest };
  delete manifest.shape.historyLength;
  return JSON.stringify(manifest);
}

describe('mind train --extractor', () => {
  test.each([
    ['comirec-sa', 'comirec-dr'],
    ['comirec-dr', null],
  ])('%s (baseline %s) trains, is saved under its name and evaluates', (extractor, baseline) => {
    const model = join(dir, extractor);
    const run = mind(['train', ...tiny, '--extractor', extractor, ...(baseline ? ['--baseline', baseline] : ['--no-baseline']), '--out', model]);
    expect(run.status, run.stderr.slice(-3000)).toBe(0);
    const manifest = JSON.parse(readRunFile(model, 'config.json'));
    expect(manifest.config.extractor).toBe(extractor);
    expect(manifest.shape.historyLength).toBe(manifest.maxLength);
    if (baseline) {
      // The baseline differs from the model in its extractor only (not meanPool: no tuned settings).
      const base = JSON.parse(readRunFile(model, 'baseline.json')).config;
      expect(base).toEqual({ ...manifest.config, extractor: baseline });
    }
    const evaluated = mind(['eval', '--model', model, '--json']);
    expect(evaluated.status, evaluated.stderr).toBe(0);
    const metrics = JSON.parse(evaluated.stdout).metrics;
    expect(Object.keys(metrics)).toEqual(baseline ? ['mind', 'youtubednn', 'popularity'] : ['mind', 'popularity']);
    for (const m of Object.values(metrics) as Record<string, number>[]) {
      expect(m['recall@50']).toBeGreaterThanOrEqual(0);
      expect(m['recall@50']).toBeLessThanOrEqual(1);
    }
  }, 600_000);

  test('an unknown extractor is refused, naming the choices', () => {
    const run = mind(['train', ...tiny, '--extractor', 'sasrec', '--out', join(dir, 'bad')]);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/--extractor.*sasrec/);
    expect(run.stderr).toContain('comirec-dr');
  }, 120_000);
});

describe('checkpoints written before the extractor registry', () => {
  test('config.json with encoder routing/meanPool loads and evaluates to the same metrics', () => {
    const model = join(dir, 'legacy');
    const run = mind(['train', ...tiny, '--out', model]);
    expect(run.status, run.stderr.slice(-3000)).toBe(0);
    const before = mind(['eval', '--model', model, '--json']);
    expect(before.status, before.stderr).toBe(0);
    for (const name of ['config.json', 'baseline.json']) {
      const legacy = legacyManifest(readRunFile(model, name));
      expect(legacy).toMatch(/"encoder":"(routing|meanPool)"/);
      expect(legacy).not.toContain('extractor');
      rewriteRunFile(model, name, legacy);
    }
    const after = mind(['eval', '--model', model, '--json']);
    expect(after.status, after.stderr).toBe(0);
    const metrics = (out: string) => JSON.parse(out).metrics;
    expect(metrics(after.stdout)).toEqual(metrics(before.stdout));
    expect(Object.keys(metrics(after.stdout))).toEqual(expect.arrayContaining(['mind', 'youtubednn']));
  }, 600_000);
});
