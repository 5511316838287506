/**
 * The benchmark harness: the statistics and the alternating schedule on fake runners, and one
 * tiny case end to end through `npm run bench -- --quick` (ours and tfjs on webgpu, wasm, cpu).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { BenchResults } from '../../bench/bench.js';
import { type Runner, summarize, timeAlternating } from '../../bench/harness.js';

describe('summarize', () => {
  test('median and interpolated p10 / p90', () => {
    const s = summarize([5, 1, 4, 2, 3, 6, 7, 8, 9, 10, 11]);
    expect(s).toEqual({ median: 6, p10: 2, p90: 10, n: 11 });
  });
});

describe('timeAlternating', () => {
  test('warms up, rotates the order every round and does not repeat a runner over the limit', async () => {
    const order: string[] = [];
    const runner = (label: string, ms: number): Runner => ({
      label,
      iterate: async () => {
        order.push(label);
        const until = performance.now() + ms;
        while (performance.now() < until);
      },
    });
    const budget = { warmup: 2, iterations: 3, minIterations: 2, perRunnerMs: 1_000, singleAboveMs: 30 };
    const timings = await timeAlternating([runner('a', 0), runner('b', 0), runner('slow', 40)], budget);
    // Warm-up: a, a, b, b, slow (too slow to repeat); then rounds a b / b a / a b.
    expect(order).toEqual(['a', 'a', 'b', 'b', 'slow', 'a', 'b', 'b', 'a', 'a', 'b']);
    expect(timings.map((t) => t.samples.length)).toEqual([3, 3, 1]);
    expect(timings[2].samples[0]).toBeGreaterThanOrEqual(40);
    expect(timings[2].note).toMatch(/one iteration .* not repeated/);
  });
});

describe('npm run bench -- --quick', () => {
  test('runs one tiny case for every implementation and writes the reports', () => {
    const out = mkdtempSync(join(tmpdir(), 'mind-bench-'));
    try {
      const run = spawnSync(
        process.execPath,
        ['--import', 'tsx', '--import', './scripts/wgsl-loader.mjs', 'bench/run.ts', '--quick', '--cases', 'attention.forward+backward', '--out', out],
        { encoding: 'utf8', timeout: 120_000 },
      );
      expect(run.status, run.stderr).toBe(0);
      const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as BenchResults;
      expect(results.adapter.vendor).toBeTruthy();
      expect(results.cases.map((c) => `${c.impl}/${c.backend}`)).toEqual(['ours/webgpu', 'tfjs/webgpu', 'tfjs/wasm', 'tfjs/cpu']);
      for (const row of results.cases) {
        expect(row).toMatchObject({ name: 'attention.forward+backward', shape: 'tiny' });
        expect(row.median_ms).toBeGreaterThan(0);
        expect(row.p10_ms).toBeLessThanOrEqual(row.median_ms!);
        expect(row.p90_ms).toBeGreaterThanOrEqual(row.median_ms!);
        expect(row.ratio_vs_ours).toBeGreaterThan(0);
      }
      // One agreement row per other implementation: an empty list would make the check below vacuous.
      expect(results.agreement.map((a) => a.backend).sort()).toEqual(['cpu', 'wasm', 'webgpu']);
      expect(results.agreement.every((a) => a.agrees)).toBe(true);
      expect(results.peak.gflops).toBeGreaterThan(0);
      expect(results.peak.gbps).toBeGreaterThan(0);
      const markdown = readFileSync(join(out, 'results.md'), 'utf8');
      expect(markdown).toContain('| attention.forward+backward | tiny | ours | webgpu |');
      expect(run.stdout).toBe(markdown + '\n');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
