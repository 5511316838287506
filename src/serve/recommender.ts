/**
 * Online recommendation for one user at a time. Item vectors are computed once; a new
 * interaction only re-runs the user tower (routing + DNN), as the paper's real-time serving.
 * A served list equals the list evaluation computes for the same user (SPEC §5): the same
 * window of the last L items, padded to the same width, and the same row-independent routing
 * draw as batch retrieval.
 */
import type { Tensor } from '../autograd/tensor.js';
import type { MindModel, UserBatch } from '../mind/model.js';
import { poolInterests } from './metrics.js';
import { type Recommendation, allItemVectors, retrievePerInterest } from './retrieval.js';

export interface UserProfileInput {
  /** `[Cu]` categorical value ids (0 = unknown). */
  categorical?: Int32Array;
  /** `[Du]` dense values. */
  dense?: Float32Array;
}

export class Recommender {
  private readonly items: Tensor;

  /**
   * `historyWindow` is L, the window the model was trained with (Dataset.maxLength, the
   * checkpoint manifest's `maxLength`): training and evaluation only ever see a history's last
   * L items, so serving sees the same (SPEC §5). Throws a RangeError naming `historyWindow` when
   * it is not an integer ≥ 1.
   */
  constructor(
    readonly model: MindModel,
    readonly historyWindow: number,
  ) {
    if (!Number.isInteger(historyWindow) || historyWindow < 1) {
      throw new RangeError(`Recommender: historyWindow must be an integer ≥ 1, got ${historyWindow}`);
    }
    this.items = allItemVectors(model).keep();
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

  /**
   * Top `n` items (1 ≤ n ≤ 256) for a user with this history (item ids, oldest first; only the
   * last `historyWindow` are used), each with its score and the interest that retrieved it, and
   * the user's number of active interests. Items of that window are excluded when
   * `excludeHistory` (default true). Equal to `recommendForUsers` for the same user (SPEC §5).
   * Throws a RangeError naming the id when a windowed history item is outside [1, numItems), an
   * Error when the profile's widths differ from the model's, and a RangeError for a bad `n`.
   */
  async recommend(history: ArrayLike<number>, n: number, profile: UserProfileInput = {}, excludeHistory = true): Promise<Recommendation & { activeK: number }> {
    const [perInterest] = await retrievePerInterest(this.model, this.userBatch(history, profile), n, { excludeHistory, items: this.items });
    return { ...poolInterests(perInterest, n), activeK: perInterest.length };
  }

  /**
   * The interest vectors `recommend` retrieves with for this user: `vectors` `[activeK, d]` f32,
   * row j the interest that `Recommendation.interest` calls j. Same window, inputs and errors
   * as `recommend`.
   */
  async interests(history: ArrayLike<number>, profile: UserProfileInput = {}): Promise<{ vectors: Float32Array; activeK: number }> {
    const { ctx, config } = this.model;
    const batch = this.userBatch(history, profile);
    return ctx.tidy(async () => {
      const { interests, activeK } = ctx.noGrad(() => this.model.userInterests(batch));
      const all = (await interests.read()) as Float32Array;
      return { vectors: all.slice(0, activeK[0] * config.dim), activeK: activeK[0] };
    });
  }

  dispose(): void {
    this.items.dispose();
  }
}
