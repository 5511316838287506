/**
 * Gathers what the per-interest diagnostics (src/serve/diagnostics.ts) read, for a model on a
 * set of held-out users, from the serving path itself: the serving interests, each interest's
 * own top-N list, the pooled list (SPEC §5), and, for routing models, the routing weights of the
 * last iteration, recomputed in float64 (src/reference/routing.ts) from the GPU's own inputs and
 * checked against the GPU's capsules.
 */
import { sampleInitialLogits } from '../mind/ops/routing.js';
import type { HeldOutSet } from '../data/batches.js';
import type { MindModel, UserBatch } from '../mind/model.js';
import { routingStatesReference } from '../reference/routing.js';
import {
  type Contributions,
  type InterestNorms,
  type InterestRecall,
  type RoutingEntropy,
  type UserRoutingWeights,
  interestNorms,
  interestOverlap,
  interestRecall,
  pooledContributions,
  routingEntropy,
} from './diagnostics.js';
import { poolInterests } from './metrics.js';
import { retrievePerInterest, sliceBatch, targetSets } from './retrieval.js';

/** Users per GPU call, as retrievePerInterest's default. */
const CHUNK = 256;

/**
 * The largest capsule difference between the float64 reference and the GPU at which the
 * reference's weights are taken to be the served model's: f32 routing agrees with the reference
 * to about 1e-7 on the capsules of trained checkpoints (norms < 1), while a wrong input or draw
 * moves them by O(0.1).
 */
export const REFERENCE_TOLERANCE = 1e-3;

export interface RoutingDiagnostics extends RoutingEntropy {
  /** max |U_gpu − U_reference| over every capsule entry of every user checked. */
  referenceMaxAbsDiff: number;
}

export interface ModelDiagnostics {
  users: number;
  n: number;
  kMax: number;
  meanActiveInterests: number;
  norms: InterestNorms;
  recall: InterestRecall;
  contributions: Contributions;
  overlap: { jaccard: number | null; users: number };
  /** Null for a model without routing (the mean-pooling baseline). */
  routing: RoutingDiagnostics | null;
}

/** Serving interests V `[U, K, d]` f32 and activeK `[U]` of every user, in chunks. */
async function servingInterests(model: MindModel, users: UserBatch): Promise<{ vectors: Float32Array; activeK: Int32Array }> {
  const { ctx, config } = model;
  const count = users.lengths.length;
  const K = model.numInterests;
  const vectors = new Float32Array(count * K * config.dim);
  const activeK = new Int32Array(count);
  for (let from = 0; from < count; from += CHUNK) {
    const to = Math.min(count, from + CHUNK);
    await ctx.tidy(async () => {
      const out = ctx.noGrad(() => model.userInterests(sliceBatch(users, from, to)));
      vectors.set((await out.interests.read()) as Float32Array, from * K * config.dim);
      activeK.set(out.activeK, from);
    });
  }
  return { vectors, activeK };
}

/**
 * The last routing iteration's weights of every user, from the float64 reference run on the
 * serving path's own inputs: the history item vectors E the GPU routes, the bilinear map S and
 * the 'shared' serving draw of initial logits (config.seed, initStd). `maxAbsDiff` compares the
 * reference's capsules with the GPU's for the same users (active interests).
 */
async function servingRoutingWeights(model: MindModel, users: UserBatch): Promise<{ weights: UserRoutingWeights[]; maxAbsDiff: number }> {
  const { ctx, config } = model;
  const count = users.lengths.length;
  const L = users.histories.length / Math.max(count, 1);
  // The routed capsules only: a global interest (config.globalInterest) is not routed.
  const K = config.kMax;
  const d = config.dim;
  const S = model.params.get('routing.bilinear');
  if (!S) throw new Error('servingRoutingWeights: the model has no routing.bilinear parameter');
  const bilinear = (await S.read()) as Float32Array;
  const draw = await ctx.tidy(() => sampleInitialLogits(ctx, { batch: 1, kMax: K, length: L, seed: config.seed, initStd: config.initStd, initDraw: 'shared' }).read());
  const weights: UserRoutingWeights[] = [];
  let maxAbsDiff = 0;
  for (let from = 0; from < count; from += CHUNK) {
    const to = Math.min(count, from + CHUNK);
    const size = to - from;
    const batch = sliceBatch(users, from, to);
    const [E, U] = await ctx.tidy(async () => {
      const out = ctx.noGrad(() => model.routing(batch));
      return [(await out.behaviors.read()) as Float32Array, (await out.capsules.read()) as Float32Array];
    });
    // 'shared': every row's initial logits are the same [K, L] draw.
    const b0 = new Float32Array(size * K * L);
    for (let b = 0; b < size; b++) b0.set(draw as Float32Array, b * K * L);
    const states = routingStatesReference({
      E, lengths: batch.lengths, S: bilinear, b0, B: size, L, dIn: d, d, kMax: K,
      iterations: config.iterations, softmaxOver: config.softmaxOver, dynamicK: config.dynamicK,
    });
    states.forEach((s, b) => {
      if (s.len > 0) {
        for (let j = 0; j < s.activeK; j++) {
          for (let c = 0; c < d; c++) maxAbsDiff = Math.max(maxAbsDiff, Math.abs(U[(b * K + j) * d + c] - s.u[j][c]));
        }
      }
      weights.push({ length: s.len, activeK: s.activeK, w: s.w });
    });
  }
  return { weights, maxAbsDiff };
}

/**
 * Per-interest diagnostics of `model` on the held-out `users` at cut-off `n` (1 ≤ n ≤ 256, the
 * top-k limit): interest norms, each interest's own recall@n against the pooled (SPEC §5,
 * what evaluation scores) and oracle recall, each interest's share of the pooled items and
 * hits, the overlap of the interests' lists and, for a routing model, routing-weight entropies.
 * Retrieval does not exclude the history, as `mind eval` by default. Throws a RangeError for a
 * bad n, and an Error naming the difference when the float64 reference routing does not
 * reproduce the GPU capsules within REFERENCE_TOLERANCE (its weights would then describe some
 * other model).
 */
export async function diagnoseModel(model: MindModel, users: HeldOutSet, n: number): Promise<ModelDiagnostics> {
  const K = model.numInterests;
  const targets = targetSets(users);
  const lists = await retrievePerInterest(model, users, n);
  const ids = lists.map((perInterest) => perInterest.map((l) => l.ids));
  const pooled = lists.map((perInterest) => poolInterests(perInterest, n));
  const { vectors, activeK } = await servingInterests(model, users);
  let routing: RoutingDiagnostics | null = null;
  if (model.extractor.routing) {
    const { weights, maxAbsDiff } = await servingRoutingWeights(model, users);
    if (!(maxAbsDiff <= REFERENCE_TOLERANCE)) {
      throw new Error(`diagnoseModel: the float64 reference routing differs from the GPU capsules by ${maxAbsDiff} (more than ${REFERENCE_TOLERANCE}); its routing weights would not be the served model's`);
    }
    routing = { referenceMaxAbsDiff: maxAbsDiff, ...routingEntropy(weights) };
  }
  return {
    users: users.lengths.length,
    n,
    kMax: K,
    meanActiveInterests: activeK.length === 0 ? 0 : activeK.reduce((a, k) => a + k, 0) / activeK.length,
    norms: interestNorms(vectors, activeK, K, model.config.dim),
    recall: interestRecall(ids, pooled.map((p) => p.ids), targets, n, K),
    contributions: pooledContributions(pooled, targets, n, K),
    overlap: interestOverlap(ids, n),
    routing,
  };
}
