/**
 * Item id assignment. Id 0 is the padding id (histories are right-padded with it); real items
 * get ids 1..N-1 in DESCENDING order of frequency, ties broken by first appearance. The order is
 * what makes SPEC section 3's log-uniform sampler (P falls with the id) a sensible proposal.
 */

export const PADDING_ID = 0;
export const PADDING_NAME = '<pad>';

export interface ItemVocabulary {
  /** Number of ids including the padding id 0: real items are 1..size-1. */
  size: number;
  /** Item name (as in the file) → id ≥ 1. */
  idOf: Map<string, number>;
  /** `[size]`, names[id]; names[0] = '<pad>'. */
  names: string[];
  /** `[size]`, occurrences of each id among the counted items; counts[0] = 0. */
  counts: Float64Array;
}

/**
 * Numbers the distinct names in `items` by descending count (ties: first appearance first).
 * `alsoInclude` adds names that must have an id without being counted (count 0, so they come
 * last, in first-appearance order), e.g. items seen only in held-out users' sequences.
 */
export function buildItemVocabulary(
  items: Iterable<string>,
  alsoInclude: Iterable<string> = [],
): ItemVocabulary {
  // A Map iterates in insertion order, i.e. first appearance; the sort below is stable.
  const countOf = new Map<string, number>();
  for (const item of items) countOf.set(item, (countOf.get(item) ?? 0) + 1);
  for (const item of alsoInclude) if (!countOf.has(item)) countOf.set(item, 0);
  const ranked = [...countOf].sort((a, b) => b[1] - a[1]);
  const size = ranked.length + 1;
  const idOf = new Map<string, number>();
  const names = new Array<string>(size);
  const counts = new Float64Array(size);
  names[PADDING_ID] = PADDING_NAME;
  ranked.forEach(([name, count], index) => {
    const id = index + 1;
    idOf.set(name, id);
    names[id] = name;
    counts[id] = count;
  });
  return { size, idOf, names, counts };
}
