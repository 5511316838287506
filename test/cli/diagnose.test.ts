/**
 * `mind diagnose` on a tiny model trained on the synthetic default: the JSON report's structure
 * and the invariants its numbers obey whatever the training did (recalls in [0, 1], each
 * interest below the oracle on the same users, shares summing to 1, normalised entropies in
 * [0, 1]), the pooled recall equal to `mind eval`'s, and the float64 reference routing
 * reproducing the GPU's capsules (the routing entropies are computed from it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { mind } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'mind-diagnose-'));
const model = join(dir, 'model');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface SlotRecall { users: number; recall: number | null; oracle: number | null }
interface Diagnostics {
  users: number;
  n: number;
  kMax: number;
  meanActiveInterests: number;
  norms: { perInterest: { count: number; mean: number | null; std: number | null }[]; overall: { count: number; mean: number; std: number }; maxMinRatio: number | null; ratioUsers: number };
  recall: { users: number; perInterest: SlotRecall[]; meanInterest: number; pooled: number; oracle: number };
  contributions: { items: number[]; hits: number[] | null; itemCount: number; hitCount: number };
  overlap: { jaccard: number | null; users: number };
  routing: null | { referenceMaxAbsDiff: number; behaviour: number; behaviourUsers: number; interest: number; effectiveBehaviours: number; meanLength: number; interestUsers: number };
}

const sum = (xs: number[]) => xs.reduce((a, x) => a + x, 0);

function expectUnit(value: number | null, what: string): void {
  expect(value, what).not.toBeNull();
  expect(value!, what).toBeGreaterThanOrEqual(0);
  expect(value!, what).toBeLessThanOrEqual(1);
}

describe('mind diagnose', () => {
  beforeAll(() => {
    const run = mind(['train', '--dim', '8', '--k', '2', '--no-global-interest', '--batch-size', '32', '--num-sampled', '16', '--epochs', '1', '--max-steps', '5', '--out', model]);
    expect(run.status, run.stderr.slice(-4000)).toBe(0);
  }, 600_000);

  test('--json: per-interest diagnostics of MIND and the baseline obey their invariants', () => {
    const run = mind(['diagnose', '--model', model, '--json']);
    expect(run.status, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout) as { split: { evaluated: string; evaluatedUsers: number }; n: number; models: Record<string, Diagnostics> };
    expect(report.n).toBe(50);
    expect(report.split.evaluated).toBe('test');
    expect(Object.keys(report.models)).toEqual(['mind', 'youtubednn']);
    for (const [name, m] of Object.entries(report.models)) {
      expect(m.users, name).toBe(report.split.evaluatedUsers);
      expect(m.norms.perInterest, name).toHaveLength(m.kMax);
      expect(m.norms.overall.count, name).toBe(Math.round(m.meanActiveInterests * m.users));
      expect(m.norms.overall.mean, name).toBeGreaterThan(0);
      const { recall } = m;
      expect(recall.perInterest, name).toHaveLength(m.kMax);
      for (const value of [recall.pooled, recall.oracle, recall.meanInterest]) expectUnit(value, `${name} recall`);
      expect(recall.oracle, name).toBeGreaterThanOrEqual(recall.meanInterest - 1e-12);
      recall.perInterest.forEach((slot, j) => {
        expectUnit(slot.recall, `${name} slot ${j} recall`);
        // The best interest of each user is at least as good as slot j's for the same users,
        // and, when slot j is active for every user, as good as slot j over all users.
        expect(slot.oracle!, `${name} slot ${j}`).toBeGreaterThanOrEqual(slot.recall! - 1e-12);
        if (slot.users === recall.users) expect(recall.oracle, `${name} slot ${j}`).toBeGreaterThanOrEqual(slot.recall! - 1e-12);
      });
      expect(m.contributions.items, name).toHaveLength(m.kMax);
      expect(sum(m.contributions.items), name).toBeCloseTo(1, 12);
      expect(m.contributions.itemCount, name).toBe(m.users * m.n);
      expect(m.contributions.hits, `${name}: a model this small still hits some of 200 users' targets`).not.toBeNull();
      expect(sum(m.contributions.hits!), name).toBeCloseTo(1, 12);
    }

    const mindReport = report.models.mind;
    expect(mindReport.kMax).toBe(2);
    // Synthetic held-out histories are long enough for both interests (K_b = floor(log2 len)).
    expect(mindReport.recall.perInterest.map((s) => s.users)).toEqual([mindReport.users, mindReport.users]);
    expectUnit(mindReport.overlap.jaccard, 'mind jaccard');
    expect(mindReport.norms.maxMinRatio).toBeGreaterThanOrEqual(1);
    // Two distinct interest vectors of 200 users: max-score pooling takes items from both (this
    // run: 0.57 / 0.43); a slot with no share at all would be a mislabelled pooled list.
    for (const share of mindReport.contributions.items) expect(share).toBeGreaterThan(0.05);
    const routing = mindReport.routing!;
    expect(routing).not.toBeNull();
    // The reference's capsules are the GPU's: its routing weights are the served model's.
    expect(routing.referenceMaxAbsDiff).toBeLessThan(1e-4);
    expectUnit(routing.behaviour, 'behaviour entropy');
    expectUnit(routing.interest, 'interest entropy');
    expect(routing.behaviourUsers).toBe(mindReport.users);
    expect(routing.effectiveBehaviours).toBeGreaterThanOrEqual(1);
    expect(routing.effectiveBehaviours).toBeLessThanOrEqual(routing.meanLength);

    // One interest: its list is the pooled list and the oracle's.
    const baseline = report.models.youtubednn;
    expect(baseline.kMax).toBe(1);
    expect(baseline.routing).toBeNull();
    expect(baseline.overlap).toEqual({ jaccard: null, users: 0 });
    expect(baseline.norms.maxMinRatio).toBeNull();
    expect(baseline.contributions.items).toEqual([1]);
    expect(baseline.recall.perInterest[0].recall).toBeCloseTo(baseline.recall.pooled, 12);
    expect(baseline.recall.oracle).toBeCloseTo(baseline.recall.pooled, 12);

    // The pooled list is the list `mind eval` scores.
    const evaluated = mind(['eval', '--model', model, '--json']);
    expect(evaluated.status, evaluated.stderr).toBe(0);
    const metrics = JSON.parse(evaluated.stdout).metrics;
    expect(mindReport.recall.pooled).toBeCloseTo(metrics.mind['recall@50'], 12);
    expect(baseline.recall.pooled).toBeCloseTo(metrics.youtubednn['recall@50'], 12);
  });

  test('text table by default; --n and --part are honoured and checked', () => {
    const run = mind(['diagnose', '--model', model, '--part', 'validation', '--n', '20']);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^diagnosed 200 validation users\n/);
    expect(run.stdout).toMatch(/^mind: 200 users, [\d.]+ active interests of 2 on average, N = 20$/m);
    expect(run.stdout).toMatch(/recall@20: pooled [\d.]+ {2}oracle \(best single interest\) [\d.]+/);
    expect(run.stdout).toContain('routing weights (float64 reference');
    expect(run.stdout).toMatch(/^youtubednn: 200 users/m);
    const bad = mind(['diagnose', '--model', model, '--n', '300']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('--n must be in 1..256 (the top-k limit), got 300');
  });
});
