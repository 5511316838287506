/**
 * Host-side batches in the layouts the GPU model uploads directly.
 *
 * Histories are `[B, L]` i32 row-major, right-padded with the padding id 0: position i of row b
 * is a real item iff i < lengths[b]. Items are oldest first within the window, so the last real
 * position holds the item just before the target.
 */

import type { Dataset } from './dataset.js';
import { Random } from './random.js';
import { heldOutHistoryLength, writeHistory } from './sequences.js';

/** Profile features gathered per row, so the model need not look users up. */
export interface ProfileColumns {
  /** `[B, Cu]` i32, Cu = userFeatures.categorical.length (0 without user features). */
  profileCategorical: Int32Array;
  /** `[B, Du]` f32, Du = userFeatures.dense.length. */
  profileDense: Float32Array;
}

export interface TrainingBatch extends ProfileColumns {
  /** `[B, L]` i32 item ids, right-padded with 0. */
  histories: Int32Array;
  /** `[B]` i32, 1..L. */
  lengths: Int32Array;
  /** `[B]` i32 item id to predict. */
  targets: Int32Array;
  /** `[B]` i32 indices into dataset.users. */
  users: Int32Array;
}

export interface BatchOptions {
  /** Rows per batch (the last batch of an epoch may be smaller); a positive integer. */
  batchSize: number;
  seed: number;
  /** Each epoch has its own order, a function of (seed, epoch) only. */
  epoch: number;
}

/** Number of training samples per epoch: Σ (len - 1) over training users. */
export function trainingSampleCount(dataset: Dataset): number {
  let count = 0;
  for (const user of dataset.split.train) count += Math.max(0, dataset.users[user].items.length - 1);
  return count;
}

function profileColumns(dataset: Dataset, users: ArrayLike<number>): ProfileColumns {
  const categoricalWidth = dataset.userFeatures?.categorical.length ?? 0;
  const denseWidth = dataset.userFeatures?.dense.length ?? 0;
  const profileCategorical = new Int32Array(users.length * categoricalWidth);
  const profileDense = new Float32Array(users.length * denseWidth);
  for (let row = 0; row < users.length; row++) {
    const user = dataset.users[users[row]];
    profileCategorical.set(user.profileCategorical, row * categoricalWidth);
    profileDense.set(user.profileDense, row * denseWidth);
  }
  return { profileCategorical, profileDense };
}

/**
 * One epoch of training samples in a seeded random order. A training user with sequence s
 * contributes, for t = 1..len-1, history s[max(0, t-L) .. t) and target s[t]. Every sample
 * appears exactly once per epoch; the last batch keeps the remainder (B < batchSize).
 */
export function batches(dataset: Dataset, options: BatchOptions): Generator<TrainingBatch> {
  const { batchSize } = options;
  const maxLength = dataset.maxLength;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  }
  const total = trainingSampleCount(dataset);
  // Sample k is (sampleUser[k], samplePosition[k]): the target's position in that sequence.
  const sampleUser = new Int32Array(total);
  const samplePosition = new Int32Array(total);
  let k = 0;
  for (const user of dataset.split.train) {
    const length = dataset.users[user].items.length;
    for (let t = 1; t < length; t++, k++) {
      sampleUser[k] = user;
      samplePosition[k] = t;
    }
  }
  const order = new Random(options.seed).fork('batches').fork(options.epoch).shuffle(
    Int32Array.from({ length: total }, (_, index) => index),
  );
  // Arguments are checked above, when batches() is called, not at the first next().
  function* epoch(): Generator<TrainingBatch> {
    for (let begin = 0; begin < total; begin += batchSize) {
      const size = Math.min(batchSize, total - begin);
      const histories = new Int32Array(size * maxLength);
      const lengths = new Int32Array(size);
      const targets = new Int32Array(size);
      const users = new Int32Array(size);
      for (let row = 0; row < size; row++) {
        const sample = order[begin + row];
        const user = sampleUser[sample];
        const t = samplePosition[sample];
        const items = dataset.users[user].items;
        lengths[row] = writeHistory(items, t, maxLength, histories, row * maxLength);
        targets[row] = items[t];
        users[row] = user;
      }
      yield { histories, lengths, targets, users, ...profileColumns(dataset, users) };
    }
  }
  return epoch();
}

export interface HeldOutSet extends ProfileColumns {
  /** `[U]` i32 indices into dataset.users, ascending. */
  users: Int32Array;
  /** `[U, L]` i32: the last L items of the first 80% of each sequence, right-padded with 0. */
  histories: Int32Array;
  /** `[U]` i32, 1..L. */
  lengths: Int32Array;
  /** `[U + 1]` i32: user u's targets are targets[targetOffsets[u] .. targetOffsets[u+1]). */
  targetOffsets: Int32Array;
  /**
   * The remaining 20% of each sequence, as a set: distinct ids in order of first occurrence,
   * so Recall@N = hits / (distinct targets) can reach 1.
   */
  targets: Int32Array;
}

/** A seeded uniform sample of the held-out users, for catalogues where scoring them all takes hours. */
export interface HeldOutSample {
  /** How many users to keep: an integer ≥ 1; the whole part when it has no more than this. */
  count: number;
  /** Which sample: the same (seed, part, count) always gives the same users. */
  seed: number;
}

/**
 * `count` of `users` drawn uniformly without replacement (a partial Fisher-Yates shuffle on the
 * stream 'held-out sample <part>' of `seed`), returned ascending. Throws a RangeError when
 * `count` is not an integer ≥ 1.
 */
function sampleUsers(users: readonly number[], part: string, sample: HeldOutSample): Int32Array {
  const { count, seed } = sample;
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`heldOutUsers: sample count must be an integer ≥ 1, got ${count}`);
  if (count >= users.length) return Int32Array.from(users);
  const pool = Int32Array.from(users);
  const rng = new Random(seed).fork(`held-out sample ${part}`);
  for (let i = 0; i < count; i++) {
    const j = i + rng.int(pool.length - i);
    const held = pool[i];
    pool[i] = pool[j];
    pool[j] = held;
  }
  return pool.subarray(0, count).sort();
}

/**
 * The validation or test users in evaluation form (SPEC section 5): history = the first
 * heldOutHistoryLength(len) items (80% rounded down, at least 1, at most len-1) truncated to
 * the last L, targets = the rest. With `sample`, only a seeded uniform sample of that part's
 * users (see HeldOutSample); throws a RangeError for a sample count that is not an integer ≥ 1.
 */
export function heldOutUsers(dataset: Dataset, part: 'validation' | 'test', sample?: HeldOutSample): HeldOutSet {
  const selected = dataset.split[part];
  const maxLength = dataset.maxLength;
  const users = sample ? sampleUsers(selected, part, sample) : Int32Array.from(selected);
  const histories = new Int32Array(users.length * maxLength);
  const lengths = new Int32Array(users.length);
  const targetOffsets = new Int32Array(users.length + 1);
  const targets: number[] = [];
  users.forEach((user, row) => {
    const items = dataset.users[user].items;
    const cut = heldOutHistoryLength(items.length);
    lengths[row] = writeHistory(items, cut, maxLength, histories, row * maxLength);
    const distinct = new Set<number>(items.subarray(cut));
    targets.push(...distinct);
    targetOffsets[row + 1] = targets.length;
  });
  return {
    users,
    histories,
    lengths,
    targetOffsets,
    targets: Int32Array.from(targets),
    ...profileColumns(dataset, users),
  };
}
