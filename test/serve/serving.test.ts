/**
 * Serving equals evaluation (SPEC §1.3, §5): a user's interests and list are a pure function of
 * the model and that user's own inputs, whatever batch, batch order, chunk size or call the user
 * arrives in; the history seen is the last L items; Recommender agrees with batch retrieval.
 */
import { describe, expect, test } from 'vitest';
import { type HeldOutSet, heldOutUsers } from '../../src/data/batches.js';
import { heldOutHistoryLength } from '../../src/data/sequences.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { resolveConfig } from '../../src/mind/config.js';
import { MindModel, modelShapeOf } from '../../src/mind/model.js';
import { Recommender } from '../../src/serve/recommender.js';
import { evaluateModel, recommendForUsers, retrievePerInterest } from '../../src/serve/retrieval.js';
import { useContext } from '../helpers/gpu.js';

const L = 20;
// Sequences up to 45 items: most held-out histories (80%) are longer than the window L = 20.
const dataset = generateSynthetic({ seed: 11, numItems: 300, numCategories: 8, numUsers: 120, minSequenceLength: 8, maxSequenceLength: 45, maxLength: L });
const config = resolveConfig({ dim: 16, kMax: 4, hiddenUnits: [16], profileDim: 4, seed: 7 });
const N = 20;

/** The held-out users in the order `order` (row q of the result is row order[q] of `users`). */
function reorder(users: HeldOutSet, order: number[]): HeldOutSet {
  const count = users.lengths.length;
  const rows = <T extends Int32Array | Float32Array>(a: T): T => {
    const width = a.length / count;
    const out = new (a.constructor as new (n: number) => T)(a.length);
    order.forEach((from, to) => out.set(a.subarray(from * width, (from + 1) * width), to * width));
    return out;
  };
  const targets: number[] = [];
  const targetOffsets = new Int32Array(count + 1);
  order.forEach((from, to) => {
    targets.push(...users.targets.subarray(users.targetOffsets[from], users.targetOffsets[from + 1]));
    targetOffsets[to + 1] = targets.length;
  });
  return {
    users: rows(users.users),
    histories: rows(users.histories),
    lengths: rows(users.lengths),
    profileCategorical: rows(users.profileCategorical),
    profileDense: rows(users.profileDense),
    targets: Int32Array.from(targets),
    targetOffsets,
  };
}

describe('serving equals evaluation', () => {
  const getCtx = useContext();
  const users = heldOutUsers(dataset, 'test');
  const count = users.lengths.length;
  const model = () => new MindModel(getCtx(), config, modelShapeOf(dataset), dataset.itemFeatures);

  test('the fixture has several held-out users, some with histories longer than L', () => {
    expect(count).toBeGreaterThanOrEqual(8);
    const longer = Array.from(users.users).filter((u) => heldOutHistoryLength(dataset.users[u].items.length) > L);
    expect(longer.length).toBeGreaterThanOrEqual(3);
  });

  test('reordering the users leaves every user’s interests and list unchanged', async () => {
    const m = model();
    const order = Array.from({ length: count }, (_, q) => (q * 5 + 3) % count);
    expect(new Set(order).size).toBe(count);
    const shuffled = reorder(users, order);
    const lists = await recommendForUsers(m, users, N);
    const again = await recommendForUsers(m, shuffled, N);
    order.forEach((from, to) => expect(again[to], `user row ${from}`).toEqual(lists[from]));
    const perInterest = await retrievePerInterest(m, users, N);
    const perInterestAgain = await retrievePerInterest(m, shuffled, N);
    order.forEach((from, to) => expect(perInterestAgain[to], `user row ${from}`).toEqual(perInterest[from]));
    m.dispose();
  });

  test('chunk size 1 and 256 give identical lists and metrics', async () => {
    const m = model();
    for (const excludeHistory of [false, true]) {
      const one = await recommendForUsers(m, users, N, { chunkSize: 1, excludeHistory });
      const all = await recommendForUsers(m, users, N, { chunkSize: 256, excludeHistory });
      expect(one).toEqual(all);
      const metricsOne = await evaluateModel(m, users, [10, 20], { chunkSize: 1, excludeHistory });
      expect(metricsOne).toEqual(await evaluateModel(m, users, [10, 20], { chunkSize: 256, excludeHistory }));
    }
    m.dispose();
  });

  test('Recommender.recommend on a user’s whole history equals that user’s batch list', async () => {
    const m = model();
    const recommender = new Recommender(m, L);
    const cu = users.profileCategorical.length / count;
    for (const excludeHistory of [false, true]) {
      const batch = await recommendForUsers(m, users, N, { excludeHistory });
      for (let u = 0; u < count; u++) {
        const items = dataset.users[users.users[u]].items;
        // The whole history before the held-out targets, not just the window eval was given.
        const history = items.subarray(0, heldOutHistoryLength(items.length));
        const profile = { categorical: users.profileCategorical.slice(u * cu, (u + 1) * cu) };
        const served = await recommender.recommend(history, N, profile, excludeHistory);
        expect({ ids: served.ids, scores: served.scores, interest: served.interest }, `user row ${u}, excludeHistory ${excludeHistory}`).toEqual(batch[u]);
      }
    }
    recommender.dispose();
    m.dispose();
  });

  test('an L = 20 model serves a 21-item history exactly as its last 20 items', async () => {
    const m = model();
    const recommender = new Recommender(m, L);
    const history = Int32Array.from({ length: L + 1 }, (_, i) => 1 + ((i * 37 + 11) % (dataset.numItems - 1)));
    for (const excludeHistory of [false, true]) {
      const whole = await recommender.recommend(history, N, {}, excludeHistory);
      const window = await recommender.recommend(history.slice(1), N, {}, excludeHistory);
      expect(whole, `excludeHistory ${excludeHistory}`).toEqual(window);
    }
    recommender.dispose();
    m.dispose();
  });

  test('Recommender names a bad window', () => {
    const m = model();
    for (const bad of [0, -1, 2.5, NaN]) expect(() => new Recommender(m, bad)).toThrow(new RegExp(`historyWindow must be an integer ≥ 1, got ${bad}`));
    m.dispose();
  });
});
