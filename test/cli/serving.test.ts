/**
 * Serving equals evaluation through the `mind` command (SPEC §5): `mind recommend` given a
 * held-out user's whole history (longer than the window L) returns exactly the list `mind eval`
 * scores for that user. The data is a small interaction CSV without user features, so the
 * recommend command (which takes no profile) sees the same inputs as evaluation.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createContext } from '../../src/autograd/context.js';
import { heldOutUsers } from '../../src/data/batches.js';
import { heldOutHistoryLength } from '../../src/data/sequences.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { MindModel } from '../../src/mind/model.js';
import { loadCheckpoint } from '../../src/node/checkpoint-io.js';
import { loadData, type DataSpec } from '../../src/node/datasets.js';
import { recommendForUsers } from '../../src/serve/retrieval.js';
import { mind } from './run.js';

const L = 20;
const dir = mkdtempSync(join(tmpdir(), 'mind-serving-'));
const model = join(dir, 'model');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('mind recommend equals mind eval for a held-out user', () => {
  beforeAll(() => {
    const source = generateSynthetic({ seed: 4, numItems: 400, numCategories: 10, numUsers: 150, minSequenceLength: 10, maxSequenceLength: 45 });
    const rows = ['userId,itemId,timestamp'];
    source.users.forEach((user) => user.items.forEach((id, t) => rows.push(`${user.name},${source.itemNames[id]},${t}`)));
    writeFileSync(join(dir, 'ratings.csv'), `${rows.join('\n')}\n`);
    const run = mind([
      'train', '--data', join(dir, 'ratings.csv'), '--seq-len', String(L), '--dim', '16', '--k', '4', '--hidden', '16',
      '--num-sampled', '32', '--batch-size', '64', '--epochs', '1', '--max-steps', '3', '--no-baseline', '--out', model,
    ]);
    expect(run.status, run.stderr.slice(-4000)).toBe(0);
  }, 600_000);

  test.each([false, true])('excludeHistory %s', async (excludeHistory) => {
    const { manifest, weights } = await loadCheckpoint(model);
    expect(manifest.maxLength).toBe(L);
    const dataset = await loadData(manifest.data as unknown as DataSpec);
    const users = heldOutUsers(dataset, 'test');
    // The first test user (past row 0, where a row-keyed draw would go unnoticed) whose
    // history is longer than the window.
    const row = Array.from(users.users).findIndex((u, r) => r > 0 && heldOutHistoryLength(dataset.users[u].items.length) > L);
    expect(row).toBeGreaterThan(0);
    const items = dataset.users[users.users[row]].items;
    const history = Array.from(items.subarray(0, heldOutHistoryLength(items.length)), (id) => manifest.itemNames[id]);
    // What `mind eval` scores: evaluateModel retrieves max(20, 50) items per user.
    const ctx = await createContext();
    let evaluated: string[];
    try {
      const m = new MindModel(ctx, manifest.config, manifest.shape, manifest.itemFeatures, weights);
      const lists = await recommendForUsers(m, users, 50, { excludeHistory });
      evaluated = lists[row].ids.map((id) => manifest.itemNames[id]);
      m.dispose();
    } finally {
      ctx.destroy();
    }
    const run = mind(['recommend', '--model', model, '--history', history.join(','), '--n', '50', '--json', ...(excludeHistory ? [] : ['--include-history'])]);
    expect(run.status, run.stderr).toBe(0);
    const served = JSON.parse(run.stdout).items.map((r: { item: string }) => r.item);
    expect(served).toEqual(evaluated);
  });
});
