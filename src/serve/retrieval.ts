/**
 * Serving: user interest vectors, per-interest GPU top-k over all item vectors, pooled per
 * SPEC §5; the popularity baseline; and evaluation of a model on held-out users.
 */
import type { Tensor } from '../autograd/tensor.js';
import type { HeldOutSet } from '../data/batches.js';
import type { MindModel, UserBatch } from '../mind/model.js';
import { poolInterests, rankingMetrics, type RankingMetrics } from './metrics.js';
import { topKInnerProduct } from './topk.js';

export interface Recommendation {
  ids: number[];
  scores: number[];
  /** Index of the interest that retrieved each item. */
  interest: number[];
}

export interface RetrievalOptions {
  /** Remove items of the user's history from the results. */
  excludeHistory?: boolean;
  /** Users per GPU call (default 256); the results do not depend on it. */
  chunkSize?: number;
  /** Item vectors `[N, d]` already computed (allItemVectors); computed per call otherwise. */
  items?: Tensor;
}

/**
 * Item vectors of every id `[N, d]` f32 (SPEC §4 item tower; row 0, the padding id, is zeros and
 * never returned). A row table (Context.table): past one storage binding (about 500k items at
 * d = 64 on a 128 MiB limit) it is built and kept shard by shard, never as one buffer, and
 * topKInnerProduct scores it shard by shard; each row is bitwise what one buffer would hold.
 */
export function allItemVectors(model: MindModel): Tensor {
  const { ctx } = model;
  const N = model.shape.numItems;
  const perShard = ctx.rowsPerShard([N, model.config.dim], 'item vectors');
  return ctx.noGrad(() => {
    const parts: Tensor[] = [];
    for (let first = 0; first < N; first += perShard) {
      parts.push(model.itemVectors(Int32Array.from({ length: Math.min(perShard, N - first) }, (_, i) => first + i)));
    }
    return ctx.stackShards(parts, { label: 'item vectors' });
  });
}

/** Rows [from, to) of a user batch, as views of its arrays (no copy). */
export function sliceBatch(users: UserBatch, from: number, to: number): UserBatch {
  const L = users.histories.length / Math.max(users.lengths.length, 1);
  const cu = users.profileCategorical.length / Math.max(users.lengths.length, 1);
  const du = users.profileDense.length / Math.max(users.lengths.length, 1);
  return {
    histories: users.histories.subarray(from * L, to * L),
    lengths: users.lengths.subarray(from, to),
    profileCategorical: users.profileCategorical.subarray(from * cu, to * cu),
    profileDense: users.profileDense.subarray(from * du, to * du),
  };
}

/** One user's retrieval before pooling: each active interest's ranked ids and scores. */
export type InterestLists = { ids: Int32Array; scores: Float32Array }[];

/**
 * Each active interest's top `n` items, for every user of `users` (SPEC §5, before pooling):
 * per user, K_b lists of `n` ids (i32, -1 past the eligible items) and their f32 scores, best
 * first. `users.histories` is `[U, L]` i32 with L the model's window; each row's interests use
 * the serving draw (MindModel.userInterests without training draws), so a user's lists are the
 * same in any batch, order or chunk. Throws when `options.chunkSize` is not an integer ≥ 1,
 * when `n` is not an integer in [1, 256] (topKInnerProduct), and when a length is outside
 * [0, L] (the model).
 */
export async function retrievePerInterest(model: MindModel, users: UserBatch, n: number, options: RetrievalOptions = {}): Promise<InterestLists[]> {
  const { ctx } = model;
  const chunk = options.chunkSize ?? 256;
  if (!Number.isInteger(chunk) || chunk < 1) throw new RangeError(`retrievePerInterest: chunkSize must be an integer ≥ 1, got ${chunk}`);
  const count = users.lengths.length;
  const L = users.histories.length / Math.max(count, 1);
  const K = model.numInterests;
  const out: InterestLists[] = [];
  await ctx.tidy(async () => {
    const items = options.items ?? allItemVectors(model);
    for (let from = 0; from < count; from += chunk) {
      const to = Math.min(count, from + chunk);
      const batch = sliceBatch(users, from, to);
      const size = to - from;
      const { interests, activeK } = ctx.noGrad(() => model.userInterests(batch));
      const exclude = options.excludeHistory
        ? Array.from({ length: size * K }, (_, q) => {
            const b = Math.floor(q / K);
            return batch.histories.subarray(b * L, b * L + batch.lengths[b]);
          })
        : undefined;
      const queries = ctx.view(interests, [size * K, model.config.dim]);
      const top = await topKInnerProduct(queries, items, n, { firstItem: 1, exclude });
      for (let b = 0; b < size; b++) {
        out.push(
          Array.from({ length: activeK[b] }, (_, j) => {
            const q = b * K + j;
            return { ids: top.ids.subarray(q * n, (q + 1) * n), scores: top.scores.subarray(q * n, (q + 1) * n) };
          }),
        );
      }
      interests.dispose();
      queries.dispose();
    }
  });
  return out;
}

/** Top `n` items for each user of `users`, SPEC §5 retrieval: per-interest top-n, pooled. */
export async function recommendForUsers(model: MindModel, users: UserBatch, n: number, options: RetrievalOptions = {}): Promise<Recommendation[]> {
  const lists = await retrievePerInterest(model, users, n, options);
  return lists.map((perInterest) => poolInterests(perInterest, n));
}

/** Most frequent training items, best first, optionally without each user's history. */
export function popularityRecommendations(itemCounts: Float64Array, users: HeldOutSet, n: number, excludeHistory = false): number[][] {
  const ranked = Array.from({ length: itemCounts.length - 1 }, (_, i) => i + 1).sort(
    (a, b) => itemCounts[b] - itemCounts[a] || a - b,
  );
  const L = users.histories.length / Math.max(users.lengths.length, 1);
  return Array.from(users.lengths, (len, u) => {
    if (!excludeHistory) return ranked.slice(0, n);
    const seen = new Set(users.histories.subarray(u * L, u * L + len));
    const list: number[] = [];
    for (const id of ranked) {
      if (list.length === n) break;
      if (!seen.has(id)) list.push(id);
    }
    return list;
  });
}

/** Target sets of a held-out set, one per user. */
export function targetSets(users: HeldOutSet): Set<number>[] {
  return Array.from(users.lengths, (_, u) => new Set(users.targets.subarray(users.targetOffsets[u], users.targetOffsets[u + 1])));
}

/** SPEC §5 metrics of `model` on held-out users at each N of `ns`. */
export async function evaluateModel(model: MindModel, users: HeldOutSet, ns: readonly number[] = [20, 50], options: RetrievalOptions = {}): Promise<RankingMetrics> {
  const recs = await recommendForUsers(model, users, Math.max(...ns), options);
  return rankingMetrics(
    recs.map((r) => r.ids),
    targetSets(users),
    ns,
  );
}
