/**
 * Per-user behaviour sequences and the two ways SPEC section 5 turns them into examples:
 * every prefix of a training user's sequence, and an 80/20 history/target cut for held-out users.
 */

import type { Interaction } from './interactions.js';

/** One user's items by name, oldest first. */
export interface UserSequence {
  name: string;
  items: string[];
}

/**
 * Users with fewer interactions are dropped. 2 is the least that gives a training user one
 * (history, target) sample and a held-out user one history item and one target.
 */
export const DEFAULT_MIN_SEQUENCE = 2;

/**
 * Groups interactions by user, each user's items sorted by time; equal times keep file order
 * (the sort is stable). Users come in order of first appearance in `interactions`.
 * `duplicateRows` counts interactions repeating an earlier one of the same user (same item and
 * time); they are kept, since a log may record a real repeat that way, but counted so that a
 * file concatenated twice does not pass unnoticed.
 */
export function groupByUser(
  interactions: readonly Interaction[],
  minSequence: number = DEFAULT_MIN_SEQUENCE,
): { sequences: UserSequence[]; droppedUsers: number; duplicateRows: number } {
  if (!Number.isInteger(minSequence) || minSequence < 1) {
    throw new RangeError(`minSequence must be a positive integer, got ${minSequence}`);
  }
  const byUser = new Map<string, Interaction[]>();
  for (const interaction of interactions) {
    const list = byUser.get(interaction.user);
    if (list === undefined) byUser.set(interaction.user, [interaction]);
    else list.push(interaction);
  }
  const sequences: UserSequence[] = [];
  let droppedUsers = 0;
  let duplicateRows = 0;
  for (const [name, list] of byUser) {
    const seen = new Set<string>();
    for (const { item, time } of list) {
      const key = `${time}\u0000${item}`;
      if (seen.has(key)) duplicateRows++;
      else seen.add(key);
    }
    if (list.length < minSequence) {
      droppedUsers++;
      continue;
    }
    list.sort((a, b) => a.time - b.time);
    sequences.push({ name, items: list.map((interaction) => interaction.item) });
  }
  return { sequences, droppedUsers, duplicateRows };
}

/**
 * How many of a held-out user's `length` items form the history: floor(4·length/5), i.e. the
 * first 80% rounded down (integer arithmetic, so 0.8·5 cannot become 3.9999), then clamped to
 * [1, length-1] so there is at least one history item and one target. Lengths 2..4 thus give
 * 1, 2, 3 history items and one target; 10 gives 8 and 2. `length` must be ≥ 2.
 */
export function heldOutHistoryLength(length: number): number {
  if (!Number.isInteger(length) || length < 2) {
    throw new RangeError(`a held-out sequence needs at least 2 items, got ${length}`);
  }
  return Math.min(length - 1, Math.max(1, Math.floor((4 * length) / 5)));
}

/**
 * Writes the window of at most `maxLength` items ending just before position `end` of
 * `sequence` into `out` at `offset`, right-padded with the padding id 0 up to `maxLength`.
 * Returns the number of real items written (min(end, maxLength)).
 */
export function writeHistory(
  sequence: Int32Array,
  end: number,
  maxLength: number,
  out: Int32Array,
  offset: number,
): number {
  const begin = Math.max(0, end - maxLength);
  const length = end - begin;
  out.set(sequence.subarray(begin, end), offset);
  out.fill(0, offset + length, offset + maxLength);
  return length;
}
