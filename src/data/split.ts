/** The user-level split of SPEC section 5: train / validation / test by a seeded shuffle. */

import { Random } from './random.js';

export interface UserSplit {
  /** Each list is sorted ascending; together they are a partition of the input ids. */
  train: number[];
  validation: number[];
  test: number[];
}

/**
 * Splits `userIds` by `ratios` (train, validation, test; normalised by their sum). Sizes:
 * test = round(n·r_test), validation = round(n·r_validation) (capped at what is left), train
 * gets the rest, so rounding never loses a user. The shuffle uses the stream 'split' of `seed`:
 * the same ids and seed always give the same split.
 */
export function splitUsers(
  userIds: readonly number[],
  seed: number,
  ratios: readonly [number, number, number] = [0.8, 0.1, 0.1],
): UserSplit {
  if (ratios.length !== 3 || ratios.some((r) => !Number.isFinite(r) || r < 0)) {
    throw new RangeError(`ratios must be three finite non-negative numbers, got [${ratios.join(', ')}]`);
  }
  const total = ratios[0] + ratios[1] + ratios[2];
  if (total <= 0) throw new RangeError(`ratios must not all be 0, got [${ratios.join(', ')}]`);
  const n = userIds.length;
  const testSize = Math.round((n * ratios[2]) / total);
  const validationSize = Math.min(n - testSize, Math.round((n * ratios[1]) / total));
  const trainSize = n - testSize - validationSize;
  const order = new Random(seed).fork('split').shuffle([...userIds]);
  const ascending = (ids: number[]) => ids.sort((a, b) => a - b);
  return {
    train: ascending(order.slice(0, trainSize)),
    validation: ascending(order.slice(trainSize, trainSize + validationSize)),
    test: ascending(order.slice(trainSize + validationSize)),
  };
}
