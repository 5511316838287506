/**
 * Distinct row ids and their places, on the host: a batch's touched rows are gathered once and
 * its indices rewritten to point into the gathered block (the model's history and candidate
 * items, a split table's touched rows). A typed-array sort and one pass rather than a Set and a
 * Map: a step's history has B·L ids (25,600 at B=512, L=50), where a Set and a Map of them were
 * the largest host cost of the step (bench/results.md, "Training step: host and GPU").
 */

/** The distinct values of `ids` (i32), ascending, as a new Int32Array. */
export function sortedDistinct(ids: ArrayLike<number>): Int32Array {
  const sorted = Int32Array.from(ids).sort();
  let count = 0;
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[count++] = sorted[i];
  return sorted.slice(0, count);
}

/** Position of `id` in the ascending `sorted`, which must hold it (binary search; no check). */
export function indexInSorted(sorted: Int32Array, id: number): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] < id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Each of `ids` replaced by its position in the ascending `sorted`, which holds them all. */
export function placesInSorted(sorted: Int32Array, ids: ArrayLike<number>): Int32Array {
  return Int32Array.from(ids, (id) => indexInSorted(sorted, id));
}
