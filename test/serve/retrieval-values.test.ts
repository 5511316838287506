/**
 * Serving lists against a brute force (SPEC §4 and §5): the score of item i is max_j V_j·e_i over
 * the user's active interests, the list is the top N by that score without the padding id (and
 * without the history when excluded). Checked for more than 256 users in one call (more than one
 * chunk), with item ids well past 31 and 63 in the histories (the exclusion bitmap's words), and
 * through Recommender.recommend.
 */
import { describe, expect, test } from 'vitest';
import { evaluateModel, MindModel, recommendForUsers, Recommender, resolveConfig, retrievePerInterest, snapshotWeights, type UserBatch } from '../../src/index.js';
import type { HeldOutSet } from '../../src/data/batches.js';
import { Random } from '../../src/data/random.js';
import { useContext } from '../helpers/gpu.js';

const NUM_ITEMS = 150;
const L = 8;
const USERS = 300;
const N = 12;
const shape = { numItems: NUM_ITEMS, numFeatureRows: 0, profileSpaces: [], profileDense: 0 };

/** 300 users whose histories mix low ids with ids around and past 31, 63 and 127. */
function users(): UserBatch {
  const rng = new Random(21);
  const histories = new Int32Array(USERS * L);
  const lengths = new Int32Array(USERS);
  for (let u = 0; u < USERS; u++) {
    lengths[u] = 1 + Math.floor(rng.next() * L);
    for (let i = 0; i < lengths[u]; i++) {
      const pick = rng.next();
      histories[u * L + i] = pick < 0.3 ? [31, 32, 63, 64, 95, 96, 127, 128, 149][Math.floor(rng.next() * 9)] : 1 + Math.floor(rng.next() * (NUM_ITEMS - 1));
    }
  }
  return { histories, lengths, profileCategorical: new Int32Array(0), profileDense: new Float32Array(0) };
}

/** Brute force: every item's score max over active interests in float64, top n, ties to the lower id. */
function bruteForce(V: Float32Array, activeK: Int32Array, E: Float32Array, K: number, d: number, n: number, exclude?: (u: number) => Set<number>) {
  return Array.from(activeK, (k, u) => {
    const skip = exclude?.(u) ?? new Set<number>();
    const scored: { id: number; score: number }[] = [];
    for (let id = 1; id < NUM_ITEMS; id++) {
      if (skip.has(id)) continue;
      let best = -Infinity;
      for (let j = 0; j < k; j++) {
        let dot = 0;
        for (let c = 0; c < d; c++) dot += V[(u * K + j) * d + c] * E[id * d + c];
        best = Math.max(best, dot);
      }
      scored.push({ id, score: best });
    }
    scored.sort((a, b) => b.score - a.score || a.id - b.id);
    return scored.slice(0, n);
  });
}

/**
 * The served list equals the brute force: scores within f32 rounding at every rank, and the ids
 * equal at every rank whose brute-force score is apart from its neighbours' (near-ties may swap).
 * Returns how many ranks were compared by id.
 */
function expectSameList(got: { ids: number[]; scores: number[] }, want: { id: number; score: number }[], label: string): number {
  expect(got.ids.length, label).toBe(want.length);
  let compared = 0;
  want.forEach((w, r) => {
    expect(Math.abs(got.scores[r] - w.score), `${label} rank ${r}`).toBeLessThan(1e-4);
    const gap = Math.min(r > 0 ? want[r - 1].score - w.score : Infinity, r + 1 < want.length ? w.score - want[r + 1].score : Infinity);
    if (gap > 1e-4) {
      expect(got.ids[r], `${label} rank ${r}`).toBe(w.id);
      compared++;
    }
  });
  return compared;
}

describe('recommendations against a brute-force max over interests', () => {
  const getCtx = useContext();

  async function setUp() {
    const ctx = getCtx();
    const config = resolveConfig({ dim: 8, kMax: 3, hiddenUnits: [8], seed: 9 });
    const fresh = new MindModel(ctx, config, shape);
    // Wider item vectors than the initialisation's, so that history items compete for the top N.
    const weights = await snapshotWeights(fresh);
    fresh.dispose();
    weights.set('item_embedding', weights.get('item_embedding')!.map((x) => x * 10));
    const model = new MindModel(ctx, config, shape, undefined, weights);
    const batch = users();
    const { V, activeK, E } = await ctx.tidy(async () => {
      const out = ctx.noGrad(() => model.userInterests(batch));
      const all = Int32Array.from({ length: NUM_ITEMS }, (_, i) => i);
      return { V: (await out.interests.read()) as Float32Array, activeK: out.activeK, E: (await ctx.noGrad(() => model.itemVectors(all)).read()) as Float32Array };
    });
    return { ctx, model, batch, V, activeK, E, K: model.numInterests, d: config.dim };
  }

  test('300 users in one call (two chunks), with and without history exclusion', async () => {
    const { model, batch, V, activeK, E, K, d } = await setUp();
    const history = (u: number) => new Set(batch.histories.subarray(u * L, u * L + batch.lengths[u]));
    for (const excludeHistory of [false, true]) {
      const recs = await recommendForUsers(model, batch, N, { excludeHistory });
      expect(recs).toHaveLength(USERS);
      const want = bruteForce(V, activeK, E, K, d, N, excludeHistory ? history : undefined);
      let compared = 0;
      recs.forEach((rec, u) => {
        compared += expectSameList(rec, want[u], `user ${u} exclude ${excludeHistory}`);
        if (excludeHistory) for (const id of rec.ids) expect(history(u).has(id), `user ${u} got history item ${id}`).toBe(false);
        // The interest named for each item is one whose inner product is the item's score.
        rec.ids.forEach((id, r) => {
          const j = rec.interest[r];
          expect(j).toBeLessThan(activeK[u]);
          let dot = 0;
          for (let c = 0; c < d; c++) dot += V[(u * K + j) * d + c] * E[id * d + c];
          expect(Math.abs(dot - rec.scores[r])).toBeLessThan(1e-4);
        });
      });
      expect(compared).toBeGreaterThan(0.9 * USERS * N);
    }
    // Exclusion matters here: many users' unexcluded lists hold history items, ids past 63 among them.
    const open = bruteForce(V, activeK, E, K, d, N);
    const withHistory = open.filter((list, u) => list.some((w) => history(u).has(w.id)));
    const highIds = open.flatMap((list, u) => list.filter((w) => history(u).has(w.id) && w.id > 63));
    expect(withHistory.length).toBeGreaterThan(50);
    expect(highIds.length).toBeGreaterThan(20);
    model.dispose();
  });

  test('Recommender.recommend equals the brute force, history ids past 31 and 63 excluded', async () => {
    const { model, batch, V, activeK, E, K, d } = await setUp();
    const recommender = new Recommender(model, L);
    const history = (u: number) => Array.from(batch.histories.subarray(u * L, u * L + batch.lengths[u]));
    const chosen = Array.from({ length: USERS }, (_, u) => u).filter((u) => history(u).some((id) => id > 63)).slice(0, 40);
    expect(chosen.length).toBe(40);
    const want = bruteForce(V, activeK, E, K, d, N, (u) => new Set(history(u)));
    const served = await Promise.all(chosen.map((u) => recommender.recommend(history(u), N)));
    let compared = 0;
    served.forEach((rec, i) => {
      const u = chosen[i];
      expect(rec.activeK).toBe(activeK[u]);
      compared += expectSameList(rec, want[u], `user ${u}`);
      for (const id of rec.ids) expect(history(u)).not.toContain(id);
    });
    expect(compared).toBeGreaterThan(0.9 * chosen.length * N);
    recommender.dispose();
    model.dispose();
  });

  test('evaluateModel scores the list of max(ns) items against each user\'s own targets (a hand-worked case)', async () => {
    const { model, batch } = await setUp();
    const U = 12;
    const first: HeldOutSet = {
      users: Int32Array.from({ length: U }, (_, u) => u),
      histories: batch.histories.slice(0, U * L),
      lengths: batch.lengths.slice(0, U),
      targets: new Int32Array(0),
      targetOffsets: new Int32Array(U + 1),
      profileCategorical: new Int32Array(0),
      profileDense: new Float32Array(0),
    };
    /**
     * User u's targets: the items at ranks u % 3 (inside the top 3) and 3 + u % 4 (inside the
     * top 7, past the top 3) of its list of `n`, and one item outside that list. Then per user
     * recall@3 = 1/3, recall@N = 2/3 for N ≥ 7, hitrate 1, and NDCG@N = the hits' 1/log2(rank + 2)
     * over the ideal DCG of 3 targets.
     */
    const withTargets = async (n: number): Promise<HeldOutSet> => {
      const lists = await recommendForUsers(model, first, n);
      const targets: number[] = [];
      const targetOffsets = new Int32Array(U + 1);
      lists.forEach(({ ids }, u) => {
        expect(ids.length).toBe(n);
        const outside = Array.from({ length: NUM_ITEMS - 1 }, (_, i) => i + 1).find((id) => !ids.includes(id))!;
        targets.push(ids[u % 3], outside, ids[3 + (u % 4)]);
        targetOffsets[u + 1] = targets.length;
      });
      return { ...first, targets: Int32Array.from(targets), targetOffsets };
    };
    const idcg = 1 + 1 / Math.log2(3) + 1 / Math.log2(4);
    const mean = (f: (u: number) => number) => Array.from({ length: U }, (_, u) => f(u)).reduce((a, b) => a + b, 0) / U;
    const ndcgTop3 = mean((u) => 1 / Math.log2((u % 3) + 2) / idcg);
    const ndcgBoth = mean((u) => (1 / Math.log2((u % 3) + 2) + 1 / Math.log2(3 + (u % 4) + 2)) / idcg);
    const expectMetrics = (got: Record<string, number>, want: Record<string, number>) => {
      expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
      for (const [key, value] of Object.entries(want)) expect(got[key], key).toBeCloseTo(value, 12);
    };

    const small = await withTargets(7);
    expectMetrics(await evaluateModel(model, small, [3, 7]), {
      'recall@3': 1 / 3, 'hitrate@3': 1, 'ndcg@3': ndcgTop3,
      'recall@7': 2 / 3, 'hitrate@7': 1, 'ndcg@7': ndcgBoth,
    });
    // The default cut-offs, 20 and 50.
    const large = await withTargets(50);
    expectMetrics(await evaluateModel(model, large), {
      'recall@20': 2 / 3, 'hitrate@20': 1, 'ndcg@20': ndcgBoth,
      'recall@50': 2 / 3, 'hitrate@50': 1, 'ndcg@50': ndcgBoth,
    });
    model.dispose();
  });

  test('chunkSize must be an integer >= 1: the error names it and the value', async () => {
    const { model } = await setUp();
    // No users: a chunk size let through returns at once (with users, a chunk of 0 loops forever).
    const none: UserBatch = { histories: new Int32Array(0), lengths: new Int32Array(0), profileCategorical: new Int32Array(0), profileDense: new Float32Array(0) };
    expect(await retrievePerInterest(model, none, N, { chunkSize: 1 })).toEqual([]);
    for (const chunkSize of [0, -3, 1.5, 0.5, Number.NaN]) {
      await expect(retrievePerInterest(model, none, N, { chunkSize })).rejects.toThrow(`retrievePerInterest: chunkSize must be an integer ≥ 1, got ${chunkSize}`);
    }
    model.dispose();
  });
});

describe('recommendations of a model with categorical and dense user profiles, in chunks', () => {
  const getCtx = useContext();

  test('7 users in chunks of 3 (the last one partial) equal the brute force over the whole batch\'s interests', async () => {
    const ctx = getCtx();
    const profiled = { ...shape, profileSpaces: [3], profileDense: 2 };
    const config = resolveConfig({ dim: 8, kMax: 3, hiddenUnits: [8], profileDim: 3, seed: 5 });
    const fresh = new MindModel(ctx, config, profiled);
    const weights = await snapshotWeights(fresh);
    fresh.dispose();
    weights.set('item_embedding', weights.get('item_embedding')!.map((x) => x * 10));
    const model = new MindModel(ctx, config, profiled, undefined, weights);
    const all = users();
    const U = 7;
    const batch: UserBatch = {
      histories: all.histories.slice(0, U * L),
      lengths: all.lengths.slice(0, U),
      profileCategorical: Int32Array.from({ length: U }, (_, u) => u % 3),
      // Each user's own dense values, far apart: a row read from another user changes the list.
      profileDense: Float32Array.from({ length: U * 2 }, (_, k) => (k % 2 === 0 ? 3 : -2) * ((k >> 1) - 3)),
    };
    const interestsOf = (b: UserBatch) =>
      ctx.tidy(async () => {
        const out = ctx.noGrad(() => model.userInterests(b));
        return { V: (await out.interests.read()) as Float32Array, activeK: out.activeK };
      });
    const { V, activeK } = await interestsOf(batch);
    const E = (await ctx.tidy(() => ctx.noGrad(() => model.itemVectors(Int32Array.from({ length: NUM_ITEMS }, (_, i) => i))).read())) as Float32Array;
    const K = model.numInterests;
    const want = bruteForce(V, activeK, E, K, config.dim, N);
    const recs = await recommendForUsers(model, batch, N, { chunkSize: 3 });
    expect(recs).toHaveLength(U);
    let compared = 0;
    recs.forEach((rec, u) => (compared += expectSameList(rec, want[u], `user ${u}`)));
    expect(compared).toBeGreaterThan(0.9 * U * N);
    // The dense values matter: with every user's set to zero, most lists change.
    const zeroed = await interestsOf({ ...batch, profileDense: new Float32Array(U * 2) });
    const other = bruteForce(zeroed.V, zeroed.activeK, E, K, config.dim, N);
    expect(other.filter((list, u) => list.map((w) => w.id).join() !== want[u].map((w) => w.id).join()).length).toBeGreaterThanOrEqual(5);
    model.dispose();
  });
});
