/**
 * The planted-interest generator: the default data set of `mind train`, built so that the
 * answer is known and a multi-interest model has something to find.
 *
 * - Items fall into C latent categories of near-equal size; within a category, popularity is
 *   Zipf-like: the item of rank r (0-based) has weight 1/(r+1)^itemZipf.
 * - Each user has minInterests..maxInterests distinct categories (chosen with weight
 *   1/(c+1)^categoryZipf, so some categories are more popular) with random weights
 *   (normalised Gamma(2) draws: uneven, but rarely negligible).
 * - Each next item: draw one of the user's interests by weight, independently of the past,
 *   then an item of that category by popularity, avoiding items the user already has (after a
 *   few tries a repeat is accepted, so tiny catalogues still work). Because the next interest
 *   is random, one vector per user has to average distinct categories; K vectors need not.
 * - Profile attributes correlated with the main (heaviest) interest: 'segment' is the main
 *   category mod numSegments, replaced by a random segment with chance segmentNoise; 'age' is
 *   the main category's planted age bucket, replaced by a random bucket with chance ageNoise.
 *
 * Defaults (2000 items, 40 categories, 3000 users, 10..60 items each) give ~100k interactions:
 * MovieLens-small's scale, small enough for a small model to train on a 2-core CPU in a minute.
 */

import type { Dataset } from './dataset.js';
import { indexSequences } from './dataset.js';
import type { FeatureSpace, ItemFeatures } from './features.js';
import { UNKNOWN_VALUE } from './features.js';
import { Random } from './random.js';
import type { UserSequence } from './sequences.js';

/** What was planted, for tests and for measuring whether interests were recovered. */
export interface SyntheticTruth {
  numCategories: number;
  /** `[dataset.numItems]` i32 category of each item id; -1 for the padding id 0. */
  itemCategory: Int32Array;
  /** Per dataset user (same index): interest categories by descending weight, weights summing to 1. */
  userInterests: { categories: Int32Array; weights: Float32Array }[];
}

export interface SyntheticOptions {
  seed: number;
  /** Catalogue size, default 2000; items nobody draws are left out: dataset.numItems - 1 ≤ this. */
  numItems?: number;
  /** Default 40. */
  numCategories?: number;
  /** Default 3000. */
  numUsers?: number;
  /** Sequence lengths are uniform in [minSequenceLength, maxSequenceLength]; defaults 10 and 60. */
  minSequenceLength?: number;
  maxSequenceLength?: number;
  /** Interests per user are uniform in [minInterests, maxInterests]; defaults 1 and 6. */
  minInterests?: number;
  maxInterests?: number;
  /** Zipf exponent of item popularity within a category; default 1. */
  itemZipf?: number;
  /** Zipf exponent of category popularity when choosing interests; default 0.5. */
  categoryZipf?: number;
  /** Number of 'segment' values; default 8. */
  numSegments?: number;
  /** Chance a user's segment is random instead of following the main interest; default 0.2. */
  segmentNoise?: number;
  /** Chance a user's age bucket is random instead of the main interest's; default 0.3. */
  ageNoise?: number;
  /**
   * L, the history window of the resulting Dataset; default 20: the window still spans every
   * interest of a typical user (the next interest is drawn afresh each step) at a third of the
   * cost of covering whole 60-item sequences.
   */
  maxLength?: number;
  /** Default [0.8, 0.1, 0.1]. */
  splitRatios?: readonly [number, number, number];
  /** Adds the item side feature 'category' (the planted truth); default false, so ids alone must do. */
  withCategoryFeature?: boolean;
}

const AGE_BUCKETS = ['<18', '18-24', '25-34', '35-44', '45-54', '55+'];
/** Tries to find an item the user does not have yet before accepting a repeat. */
const FRESH_ITEM_TRIES = 16;

function checkInteger(name: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}

function checkChance(name: string, value: number): void {
  if (!(value >= 0 && value <= 1)) throw new RangeError(`${name} must be in [0, 1], got ${value}`);
}

function checkExponent(name: string, value: number): void {
  if (!(Number.isFinite(value) && value >= 0)) {
    throw new RangeError(`${name} must be a finite number ≥ 0, got ${value}`);
  }
}

/** Draws index i with chance weight_i / total, given the weights' running sums; weight 0 never wins. */
function drawFromCumulative(cumulative: Float64Array, rng: Random): number {
  const target = rng.next() * cumulative[cumulative.length - 1];
  let low = 0;
  let high = cumulative.length - 1;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (cumulative[mid] > target) high = mid;
    else low = mid + 1;
  }
  return low;
}

function cumulativeOf(weights: ArrayLike<number>): Float64Array {
  const cumulative = new Float64Array(weights.length);
  let sum = 0;
  for (let i = 0; i < weights.length; i++) cumulative[i] = sum += weights[i];
  return cumulative;
}

/**
 * Draws a category with chance weight_c / (total of the categories not in `taken`), given the
 * running sums of all the weights: what drawFromCumulative would give over a copy of the
 * weights with the taken ones zeroed, in O(log C · |taken|) instead of O(C) per draw (users hold
 * at most a few interests; catalogues of millions of items have tens of thousands of
 * categories). The running sums of the remaining weights are the full ones minus the taken
 * weights at or before each index; float rounding can differ from a fresh sum in the last bit,
 * and should a taken category win through it, the next free one is drawn instead.
 */
function drawOmitting(cumulative: Float64Array, weights: Float64Array, taken: readonly number[], rng: Random): number {
  const removedUpTo = (index: number) => {
    let sum = 0;
    for (const c of taken) if (c <= index) sum += weights[c];
    return sum;
  };
  const last = cumulative.length - 1;
  const target = rng.next() * (cumulative[last] - removedUpTo(last));
  let low = 0;
  let high = last;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (cumulative[mid] - removedUpTo(mid) > target) high = mid;
    else low = mid + 1;
  }
  let pick = low;
  while (taken.includes(pick) && pick < last) pick++;
  while (taken.includes(pick)) pick--;
  return pick;
}

function zipfWeights(count: number, exponent: number): Float64Array {
  return Float64Array.from({ length: count }, (_, rank) => 1 / (rank + 1) ** exponent);
}

/** Generates the synthetic Dataset, with `groundTruth` and the user features 'segment' and 'age'. */
export function generateSynthetic(options: SyntheticOptions): Dataset {
  const {
    seed,
    numItems = 2000,
    numCategories = 40,
    numUsers = 3000,
    minSequenceLength = 10,
    maxSequenceLength = 60,
    minInterests = 1,
    maxInterests = 6,
    itemZipf = 1,
    categoryZipf = 0.5,
    numSegments = 8,
    segmentNoise = 0.2,
    ageNoise = 0.3,
    maxLength = 20,
    withCategoryFeature = false,
  } = options;
  checkInteger('numCategories', numCategories, 1);
  checkInteger('numItems', numItems, numCategories);
  checkInteger('numUsers', numUsers, 1);
  checkInteger('minSequenceLength', minSequenceLength, 2);
  checkInteger('maxSequenceLength', maxSequenceLength, minSequenceLength);
  checkInteger('minInterests', minInterests, 1, numCategories);
  checkInteger('maxInterests', maxInterests, minInterests, numCategories);
  checkInteger('numSegments', numSegments, 1);
  checkExponent('itemZipf', itemZipf);
  checkExponent('categoryZipf', categoryZipf);
  checkChance('segmentNoise', segmentNoise);
  checkChance('ageNoise', ageNoise);

  const root = new Random(seed);

  // Catalogue: a random permutation dealt round-robin gives balanced categories with a
  // random popularity order inside each.
  const catalogueRng = root.fork('catalogue');
  const dealt = catalogueRng.shuffle(Int32Array.from({ length: numItems }, (_, item) => item));
  // Item k is named `i{k+1}`; names are made only for the items users draw (a requested
  // catalogue of millions holds many that nobody draws).
  const categoryOfItem = new Int32Array(numItems);
  const membersOf: number[][] = Array.from({ length: numCategories }, () => []);
  dealt.forEach((item, position) => {
    const category = position % numCategories;
    categoryOfItem[item] = category;
    membersOf[category].push(item);
  });
  const memberCumulative = membersOf.map((members) =>
    cumulativeOf(zipfWeights(members.length, itemZipf)),
  );
  const categoryAge = Int32Array.from({ length: numCategories }, () =>
    catalogueRng.int(AGE_BUCKETS.length),
  );
  const categoryWeights = zipfWeights(numCategories, categoryZipf);
  const categoryCumulative = cumulativeOf(categoryWeights);

  const userRng = root.fork('users');
  const sequences: UserSequence[] = [];
  const userInterests: SyntheticTruth['userInterests'] = [];
  const profiles: Int32Array[] = [];
  for (let u = 0; u < numUsers; u++) {
    const interestCount = minInterests + userRng.int(maxInterests - minInterests + 1);
    // Distinct categories by popularity: draw, then leave the drawn one out.
    const taken: number[] = [];
    const chosen: { category: number; weight: number }[] = [];
    for (let j = 0; j < interestCount; j++) {
      const category = drawOmitting(categoryCumulative, categoryWeights, taken, userRng);
      taken.push(category);
      const gamma2 = -Math.log(1 - userRng.next()) - Math.log(1 - userRng.next());
      chosen.push({ category, weight: gamma2 });
    }
    chosen.sort((a, b) => b.weight - a.weight);
    const weightSum = chosen.reduce((sum, interest) => sum + interest.weight, 0);
    const categories = Int32Array.from(chosen, (interest) => interest.category);
    const weights = Float32Array.from(chosen, (interest) => interest.weight / weightSum);
    const interestCumulative = cumulativeOf(chosen.map((interest) => interest.weight));

    const length = minSequenceLength + userRng.int(maxSequenceLength - minSequenceLength + 1);
    const seen = new Set<number>();
    const items: string[] = [];
    for (let t = 0; t < length; t++) {
      let item = -1;
      for (let attempt = 0; attempt < FRESH_ITEM_TRIES && (item < 0 || seen.has(item)); attempt++) {
        const category = categories[drawFromCumulative(interestCumulative, userRng)];
        item = membersOf[category][drawFromCumulative(memberCumulative[category], userRng)];
      }
      seen.add(item);
      items.push(`i${item + 1}`);
    }

    const main = categories[0];
    const segment = userRng.next() < segmentNoise ? userRng.int(numSegments) : main % numSegments;
    const age = userRng.next() < ageNoise ? userRng.int(AGE_BUCKETS.length) : categoryAge[main];
    sequences.push({ name: `u${u + 1}`, items });
    userInterests.push({ categories, weights });
    // Value ids start at 1: 0 is the unknown value of every user categorical space.
    profiles.push(Int32Array.of(segment + 1, age + 1));
  }

  const { splitRatios } = options;
  const { vocabulary, split, items } = indexSequences(sequences, { maxLength, seed, splitRatios });
  const itemCategory = Int32Array.from(vocabulary.names, (name, id) =>
    id === 0 ? -1 : categoryOfItem[Number(name.slice(1)) - 1],
  );

  const categoryNames = Array.from({ length: numCategories }, (_, c) => `c${c}`);
  let itemFeatures: ItemFeatures | undefined;
  if (withCategoryFeature) {
    itemFeatures = {
      spaces: [{ name: 'category', size: numCategories, values: categoryNames, offset: 0 }],
      numRows: numCategories,
      // Every real item has exactly one value; the padding id has none.
      offsets: Int32Array.from({ length: vocabulary.size + 1 }, (_, i) => Math.max(0, i - 1)),
      values: itemCategory.subarray(1).slice(),
    };
  }
  const segmentSpace: FeatureSpace = {
    name: 'segment',
    size: numSegments + 1,
    values: [UNKNOWN_VALUE, ...Array.from({ length: numSegments }, (_, s) => `segment-${s}`)],
  };
  const ageSpace: FeatureSpace = {
    name: 'age',
    size: AGE_BUCKETS.length + 1,
    values: [UNKNOWN_VALUE, ...AGE_BUCKETS],
  };

  return {
    numItems: vocabulary.size,
    itemNames: vocabulary.names,
    itemCounts: vocabulary.counts,
    itemFeatures,
    userFeatures: { categorical: [segmentSpace, ageSpace], dense: [] },
    users: sequences.map((sequence, u) => ({
      name: sequence.name,
      items: items[u],
      profileCategorical: profiles[u],
      profileDense: new Float32Array(0),
    })),
    split,
    maxLength,
    groundTruth: { numCategories, itemCategory, userInterests },
    stats: {
      interactions: items.reduce((sum, sequence) => sum + sequence.length, 0),
      droppedUsers: 0,
      duplicateRows: 0,
      skippedRows: 0,
      belowMinRating: 0,
      usersWithoutProfile: 0,
    },
  };
}
