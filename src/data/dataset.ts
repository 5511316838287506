/**
 * The assembled data set every later stage consumes (model, trainer, evaluation).
 *
 * Conventions:
 * - Item ids: 0 is padding; 1..numItems-1 are real items in descending order of their
 *   frequency among TRAINING users (ties: first appearance, reading training users in order
 *   and each one's items oldest first), then items seen only in held-out users' sequences,
 *   with count 0. So itemCounts never sees a held-out target, and the id order
 *   is the one the log-uniform sampler assumes.
 * - Users: every user with at least `minSequence` interactions, in order of first appearance
 *   in the interaction file; `split` holds indices into `users`.
 */

import type { FeatureSpace, ItemFeatures, ItemFeatureOptions, UserFeatureOptions } from './features.js';
import { parseItemFeatures, parseUserFeatures } from './features.js';
import type { InteractionOptions } from './interactions.js';
import { parseInteractions } from './interactions.js';
import { DEFAULT_MIN_SEQUENCE, groupByUser, type UserSequence } from './sequences.js';
import { splitUsers, type UserSplit } from './split.js';
import type { SyntheticTruth } from './synthetic.js';
import type { TextSource } from './text.js';
import { buildItemVocabulary, type ItemVocabulary } from './vocabulary.js';

export interface DatasetUser {
  /** The user's id as written in the source. */
  name: string;
  /** `[len]` i32 item ids, oldest first, never 0. */
  items: Int32Array;
  /** `[userFeatures.categorical.length]` i32 value ids, 0 = unknown; empty without user features. */
  profileCategorical: Int32Array;
  /** `[userFeatures.dense.length]` f32 raw values (0 for a user missing from the profile file). */
  profileDense: Float32Array;
}

export interface DatasetStats {
  /** Interactions kept in users' sequences. */
  interactions: number;
  /** Users dropped for having fewer than `minSequence` interactions. */
  droppedUsers: number;
  /** Interactions repeating an earlier one of the same user (same item and time), kept. */
  duplicateRows: number;
  /** Bad interaction rows skipped (onBadRow 'skip'). */
  skippedRows: number;
  /** Interaction rows dropped by minRating. */
  belowMinRating: number;
  /** Users with user features configured but no row in the profile file. */
  usersWithoutProfile: number;
}

export interface Dataset {
  /** Number of item ids including the padding id 0; real items are 1..numItems-1. */
  numItems: number;
  /** `[numItems]`, the item's name in the source; itemNames[0] = '<pad>'. */
  itemNames: string[];
  /** `[numItems]` occurrences of each item in training users' sequences (popularity, unigram). */
  itemCounts: Float64Array;
  /** Item side features; bags hold global rows of one shared feature table (see features.ts). */
  itemFeatures?: ItemFeatures;
  /** User profile columns; users' profile arrays follow this order. */
  userFeatures?: { categorical: FeatureSpace[]; dense: string[] };
  users: DatasetUser[];
  /** Indices into `users`, each list ascending. */
  split: UserSplit;
  /** L: histories are the last L items before the target, right-padded with 0 to L. */
  maxLength: number;
  /** Only for synthetic data: what was planted. */
  groundTruth?: SyntheticTruth;
  stats: DatasetStats;
}

/** Split and indexing settings shared by every way of building a Dataset. */
export interface DatasetShape {
  /** L, the history window; a positive integer. */
  maxLength: number;
  /** Seeds the user split (and nothing else here). */
  seed: number;
  /** train, validation, test; default [0.8, 0.1, 0.1]. */
  splitRatios?: readonly [number, number, number];
}

export interface LoadDatasetOptions extends DatasetShape {
  interactions: TextSource;
  /** Columns, delimiter, minRating, onBadRow; fileName defaults to 'interactions'. */
  interactionOptions?: Partial<InteractionOptions>;
  itemFeatures?: { source: TextSource } & Partial<Omit<ItemFeatureOptions, 'vocabulary'>>;
  userFeatures?: { source: TextSource } & Omit<UserFeatureOptions, 'fileName'> & { fileName?: string };
  /** Users with fewer interactions are dropped; default 2 (see DEFAULT_MIN_SEQUENCE). */
  minSequence?: number;
}

/** The result of splitting users and numbering items, before features are attached. */
export interface IndexedSequences {
  vocabulary: ItemVocabulary;
  split: UserSplit;
  /** Per user (same order as the input sequences), the item ids. */
  items: Int32Array[];
}

/** Checks L: a positive integer. */
function checkMaxLength(maxLength: number): void {
  if (!Number.isInteger(maxLength) || maxLength < 1) {
    throw new RangeError(`maxLength must be a positive integer, got ${maxLength}`);
  }
}

/**
 * Splits users by seed, then numbers items by their training-set frequency (held-out-only
 * items get ids after all trained ones, count 0) and encodes every sequence.
 */
export function indexSequences(
  sequences: readonly UserSequence[],
  shape: DatasetShape,
): IndexedSequences {
  checkMaxLength(shape.maxLength);
  if (sequences.length === 0) {
    throw new RangeError('no user has enough interactions to build a data set');
  }
  const split = splitUsers(
    sequences.map((_, index) => index),
    shape.seed,
    shape.splitRatios,
  );
  function* itemsOf(users: readonly number[]): Iterable<string> {
    for (const user of users) yield* sequences[user].items;
  }
  const everyone = sequences.map((_, index) => index);
  const vocabulary = buildItemVocabulary(itemsOf(split.train), itemsOf(everyone));
  const items = sequences.map((sequence) =>
    Int32Array.from(sequence.items, (name) => vocabulary.idOf.get(name)!),
  );
  return { vocabulary, split, items };
}

/**
 * Reads interactions (and optionally item and user features) from text and builds the Dataset.
 * Works in the browser and in Node: pass strings, or chunk streams from src/node/files.ts or
 * `textFromStream`.
 */
export async function loadDatasetFromText(options: LoadDatasetOptions): Promise<Dataset> {
  checkMaxLength(options.maxLength);
  const table = await parseInteractions(options.interactions, {
    ...options.interactionOptions,
    fileName: options.interactionOptions?.fileName ?? 'interactions',
  });
  const { sequences, droppedUsers, duplicateRows } = groupByUser(
    table.interactions,
    options.minSequence ?? DEFAULT_MIN_SEQUENCE,
  );
  const { vocabulary, split, items } = indexSequences(sequences, options);

  let itemFeatures: ItemFeatures | undefined;
  if (options.itemFeatures !== undefined) {
    const { source, fileName = 'item features', ...rest } = options.itemFeatures;
    const parsed = await parseItemFeatures(source, { ...rest, fileName, vocabulary });
    const { spaces, numRows, offsets, values } = parsed;
    itemFeatures = { spaces, numRows, offsets, values };
  }

  let userFeatures: Dataset['userFeatures'];
  let usersWithoutProfile = 0;
  type Profile = Pick<DatasetUser, 'profileCategorical' | 'profileDense'>;
  let lookUpProfile: (name: string) => Profile = () => ({
    profileCategorical: new Int32Array(0),
    profileDense: new Float32Array(0),
  });
  if (options.userFeatures !== undefined) {
    const { source, fileName = 'user features', ...rest } = options.userFeatures;
    const parsed = await parseUserFeatures(source, { ...rest, fileName });
    userFeatures = { categorical: parsed.categorical, dense: parsed.dense };
    lookUpProfile = (name) => {
      const profile = parsed.profiles.get(name);
      if (profile === undefined) usersWithoutProfile++;
      return {
        profileCategorical: profile?.categorical ?? new Int32Array(parsed.categorical.length),
        profileDense: profile?.dense ?? new Float32Array(parsed.dense.length),
      };
    };
  }

  const users = sequences.map((sequence, index) => ({
    name: sequence.name,
    items: items[index],
    ...lookUpProfile(sequence.name),
  }));
  return {
    numItems: vocabulary.size,
    itemNames: vocabulary.names,
    itemCounts: vocabulary.counts,
    itemFeatures,
    userFeatures,
    users,
    split,
    maxLength: options.maxLength,
    stats: {
      interactions: items.reduce((sum, sequence) => sum + sequence.length, 0),
      droppedUsers,
      duplicateRows,
      skippedRows: table.skipped,
      belowMinRating: table.belowMinRating,
      usersWithoutProfile,
    },
  };
}
