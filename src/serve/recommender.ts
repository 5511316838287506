/**
 * Online recommendation for one user at a time. Item vectors are computed once; a new
 * interaction only re-runs the user tower (routing + DNN), as the paper's real-time serving.
 */
import type { Tensor } from '../autograd/tensor.js';
import type { MindModel } from '../mind/model.js';
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

  constructor(readonly model: MindModel) {
    this.items = allItemVectors(model).keep();
  }

  /**
   * Top `n` items for a user with this history (item ids, oldest first; the last L are used),
   * each with the interest that retrieved it. Items of the history are excluded when asked.
   */
  async recommend(history: ArrayLike<number>, n: number, profile: UserProfileInput = {}, excludeHistory = true): Promise<Recommendation & { activeK: number }> {
    const { model } = this;
    const { shape } = model;
    const L = Math.max(1, Math.min(history.length, 256));
    const recent = Int32Array.from(Array.from(history).slice(-L));
    for (const id of recent) {
      if (!Number.isInteger(id) || id < 1 || id >= shape.numItems) throw new RangeError(`history item id ${id} is outside [1, ${shape.numItems})`);
    }
    const categorical = profile.categorical ?? new Int32Array(shape.profileSpaces.length);
    const dense = profile.dense ?? new Float32Array(shape.profileDense);
    if (categorical.length !== shape.profileSpaces.length) throw new Error(`profile.categorical has ${categorical.length} values, the model has ${shape.profileSpaces.length} categorical features`);
    if (dense.length !== shape.profileDense) throw new Error(`profile.dense has ${dense.length} values, the model has ${shape.profileDense} dense features`);
    const histories = new Int32Array(L);
    histories.set(recent);
    const [perInterest] = await retrievePerInterest(
      model,
      { histories, lengths: Int32Array.of(recent.length), profileCategorical: categorical, profileDense: dense },
      n,
      { excludeHistory, items: this.items },
    );
    return { ...poolInterests(perInterest, n), activeK: perInterest.length };
  }

  dispose(): void {
    this.items.dispose();
  }
}
