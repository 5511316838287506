/**
 * Online recommendation. Item vectors are computed once; a new interaction only re-runs the user
 * tower (routing + DNN), as the paper's real-time serving. A served list equals the list
 * evaluation computes for the same user (SPEC §5): the same window of the last L items, padded
 * to the same width, and the same row-independent routing draw as batch retrieval.
 *
 * Requests that arrive while the GPU is busy are answered together: the next GPU call runs the
 * user tower for all of them at once (up to `maxBatch` users). That is what keeps a server's
 * throughput up under concurrent load, and it is also needed for correctness: a context's `tidy`
 * scopes must not interleave, so two requests must never be on the GPU at the same time. Because
 * a user's interests do not depend on the other rows of the batch, batching changes no result.
 */
import type { Tensor } from '../autograd/tensor.js';
import type { MindModel, UserBatch } from '../mind/model.js';
import { poolInterests } from './metrics.js';
import { type Recommendation, allItemVectors } from './retrieval.js';
import { MAX_TOP_K, topKInnerProduct } from './topk.js';
import { type VectorIndex, searchInterests } from './vector-index.js';

export interface UserProfileInput {
  /** `[Cu]` categorical value ids (0 = unknown). */
  categorical?: Int32Array;
  /** `[Du]` dense values. */
  dense?: Float32Array;
}

export interface RecommenderOptions {
  /**
   * Search the item vectors with this index (the embedded ANN index, pgvector) instead of the
   * exact GPU top-k. Its `dim` must be the model's. The Recommender does not close it.
   */
  index?: VectorIndex;
  /** Most users answered by one GPU call when requests queue up (default 64). */
  maxBatch?: number;
}

/** One interest's own list before pooling, best first. */
export interface InterestList {
  ids: number[];
  scores: number[];
}

export interface ServedRecommendation extends Recommendation {
  /** The user's number of active interests K_b. */
  activeK: number;
  /** Each active interest's own top n (history excluded when asked), the lists pooled into `ids`. */
  perInterest: InterestList[];
}

interface Pending {
  batch: UserBatch;
  n: number;
  excludeHistory: boolean;
  resolve: (value: ServedRecommendation) => void;
  reject: (reason: unknown) => void;
}

export class Recommender {
  private readonly items: Tensor;
  private readonly index?: VectorIndex;
  private readonly maxBatch: number;
  /** Host copy of the item vectors `[numItems, d]`, read once for rescoring index results. */
  private hostItems?: Float32Array;
  private pending: Pending[] = [];
  private drainScheduled = false;
  /** The end of the chain of GPU work: every GPU section runs after the one before. */
  private tail: Promise<unknown> = Promise.resolve();

  /**
   * `historyWindow` is L, the window the model was trained with (Dataset.maxLength, the
   * checkpoint manifest's `maxLength`): training and evaluation only ever see a history's last
   * L items, so serving sees the same (SPEC §5). Throws a RangeError naming `historyWindow` when
   * it is not an integer ≥ 1, naming `maxBatch` when it is not an integer ≥ 1, and an Error naming
   * `index` when the index's width differs from the model's.
   */
  constructor(
    readonly model: MindModel,
    readonly historyWindow: number,
    options: RecommenderOptions = {},
  ) {
    if (!Number.isInteger(historyWindow) || historyWindow < 1) {
      throw new RangeError(`Recommender: historyWindow must be an integer ≥ 1, got ${historyWindow}`);
    }
    const maxBatch = options.maxBatch ?? 64;
    if (!Number.isInteger(maxBatch) || maxBatch < 1) throw new RangeError(`Recommender: maxBatch must be an integer ≥ 1, got ${maxBatch}`);
    if (options.index && options.index.dim !== model.config.dim) {
      throw new Error(`Recommender: index (${options.index.kind}) holds vectors of width ${options.index.dim}, the model's are ${model.config.dim}`);
    }
    this.maxBatch = maxBatch;
    this.index = options.index;
    this.items = allItemVectors(model).keep();
  }

  /** What searches the item vectors: the index's kind, or 'exact-gpu'. */
  get searchKind(): string {
    return this.index?.kind ?? 'exact-gpu';
  }

  /**
   * The one-row batch of this user as evaluation builds it: the last L items, right-padded to
   * exactly L (the width of evaluation's rows, so the kernels do the same arithmetic).
   */
  private userBatch(history: ArrayLike<number>, profile: UserProfileInput): UserBatch {
    const { shape } = this.model;
    const recent = Int32Array.from(Array.from(history).slice(-this.historyWindow));
    for (const id of recent) {
      if (!Number.isInteger(id) || id < 1 || id >= shape.numItems) throw new RangeError(`history item id ${id} is outside [1, ${shape.numItems})`);
    }
    const categorical = profile.categorical ?? new Int32Array(shape.profileSpaces.length);
    const dense = profile.dense ?? new Float32Array(shape.profileDense);
    if (categorical.length !== shape.profileSpaces.length) throw new Error(`profile.categorical has ${categorical.length} values, the model has ${shape.profileSpaces.length} categorical features`);
    if (dense.length !== shape.profileDense) throw new Error(`profile.dense has ${dense.length} values, the model has ${shape.profileDense} dense features`);
    const histories = new Int32Array(this.historyWindow);
    histories.set(recent);
    return { histories, lengths: Int32Array.of(recent.length), profileCategorical: categorical, profileDense: dense };
  }

  /** Runs `fn` after every GPU section queued before it (tidy scopes must not interleave). */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /**
   * Top `n` items (1 ≤ n ≤ 256) for a user with this history (item ids, oldest first; only the
   * last `historyWindow` are used), each with its score and the interest that retrieved it, the
   * user's number of active interests and each interest's own list. Items of that window are
   * excluded when `excludeHistory` (default true). Without an index this equals
   * `recommendForUsers` for the same user (SPEC §5); with one, each interest's list comes from the
   * index, then pooled the same way. Rejects with a RangeError naming the id when a windowed
   * history item is outside [1, numItems), an Error when the profile's widths differ from the
   * model's, a RangeError naming `n` for a bad `n`, and with the index's error if its search fails.
   */
  async recommend(history: ArrayLike<number>, n: number, profile: UserProfileInput = {}, excludeHistory = true): Promise<ServedRecommendation> {
    if (!Number.isInteger(n) || n < 1 || n > MAX_TOP_K) throw new RangeError(`recommend: n must be an integer in [1, ${MAX_TOP_K}], got ${n}`);
    const batch = this.userBatch(history, profile);
    return new Promise((resolve, reject) => {
      this.pending.push({ batch, n, excludeHistory, resolve, reject });
      this.scheduleDrain();
    });
  }

  private scheduleDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    void this.exclusive(async () => {
      this.drainScheduled = false;
      const batch = this.pending.splice(0, this.maxBatch);
      if (this.pending.length > 0) this.scheduleDrain();
      try {
        const results = await this.answer(batch);
        batch.forEach((p, b) => p.resolve(results[b]));
      } catch (err) {
        for (const p of batch) p.reject(err);
      }
    });
  }

  /** One GPU call of the user tower for every request of `batch`, then retrieval and pooling. */
  private async answer(batch: Pending[]): Promise<ServedRecommendation[]> {
    const { ctx, config } = this.model;
    const L = this.historyWindow;
    const K = this.model.numInterests;
    const d = config.dim;
    const size = batch.length;
    const users: UserBatch = {
      histories: new Int32Array(size * L),
      lengths: Int32Array.from(batch, (p) => p.batch.lengths[0]),
      profileCategorical: new Int32Array(size * this.model.shape.profileSpaces.length),
      profileDense: new Float32Array(size * this.model.shape.profileDense),
    };
    batch.forEach((p, b) => {
      users.histories.set(p.batch.histories, b * L);
      users.profileCategorical.set(p.batch.profileCategorical, b * p.batch.profileCategorical.length);
      users.profileDense.set(p.batch.profileDense, b * p.batch.profileDense.length);
    });
    const windowOf = (b: number) => users.histories.subarray(b * L, b * L + users.lengths[b]);
    const lists = await ctx.tidy(async () => {
      const { interests, activeK } = ctx.noGrad(() => this.model.userInterests(users));
      if (this.index) {
        this.hostItems ??= (await this.items.read()) as Float32Array;
        const vectors = (await interests.read()) as Float32Array;
        return searchInterests(this.index, this.hostItems, vectors, K, batch.map((p, b) => ({ n: p.n, activeK: activeK[b], exclude: p.excludeHistory ? windowOf(b) : [] })));
      }
      // One top-k for the whole batch at the largest n: each interest's top n is a prefix of its
      // top k (ties go to the lower id), so every request gets exactly its own top n.
      const k = Math.max(...batch.map((p) => p.n));
      const excluding = batch.some((p) => p.excludeHistory);
      const exclude = excluding ? Array.from({ length: size * K }, (_, q) => (batch[Math.floor(q / K)].excludeHistory ? windowOf(Math.floor(q / K)) : [])) : undefined;
      const top = await topKInnerProduct(ctx.view(interests, [size * K, d]), this.items, k, { firstItem: 1, exclude });
      return batch.map((p, b) =>
        Array.from({ length: activeK[b] }, (_, j) => {
          const at = (b * K + j) * k;
          return { ids: top.ids.subarray(at, at + p.n), scores: top.scores.subarray(at, at + p.n) };
        }),
      );
    });
    return batch.map((p, b) => ({
      ...poolInterests(lists[b], p.n),
      activeK: lists[b].length,
      perInterest: lists[b].map((list) => {
        const ids = Array.from(list.ids).filter((id) => id >= 0);
        return { ids, scores: Array.from(list.scores.subarray(0, ids.length)) };
      }),
    }));
  }

  /**
   * The interest vectors `recommend` retrieves with for this user: `vectors` `[activeK, d]` f32,
   * row j the interest that `Recommendation.interest` calls j. Same window, inputs and errors
   * as `recommend`.
   */
  async interests(history: ArrayLike<number>, profile: UserProfileInput = {}): Promise<{ vectors: Float32Array; activeK: number }> {
    const { ctx, config } = this.model;
    const batch = this.userBatch(history, profile);
    return this.exclusive(() =>
      ctx.tidy(async () => {
        const { interests, activeK } = ctx.noGrad(() => this.model.userInterests(batch));
        const all = (await interests.read()) as Float32Array;
        return { vectors: all.slice(0, activeK[0] * config.dim), activeK: activeK[0] };
      }),
    );
  }

  /** Frees the item vectors; call it once every `recommend` has settled. */
  dispose(): void {
    this.items.dispose();
  }
}
