/**
 * The item tower's host side: which embedding rows make up each item vector.
 *
 * SPEC §4: e_i = mean(W_item[i], W_f[f(i)] for each side feature f). Items and feature values
 * share one table: rows 0..numItems-1 are items, then the feature rows (each feature space at
 * its offset). A multi-valued field (MovieLens genres) contributes the mean of its values as
 * that field's vector, so item i's bag weights are 1/(F_i+1) for its own row and
 * 1/((F_i+1)·m_f) for each of the m_f values of field f, F_i being the fields it has values for.
 */
import type { Bags } from '../autograd/ops/embedding.js';
import type { ItemFeatures } from '../data/features.js';

export class ItemBags {
  private readonly offsets: Int32Array;
  private readonly rows: Int32Array;
  private readonly weights: Float32Array;

  /** `numItems` item ids (0 = padding, an empty bag); `features` optional side features. */
  constructor(readonly numItems: number, features?: ItemFeatures) {
    const offsets = new Int32Array(numItems + 1);
    const rows: number[] = [];
    const weights: number[] = [];
    for (let item = 0; item < numItems; item++) {
      if (item !== 0) {
        const values = features ? Array.from(features.values.subarray(features.offsets[item], features.offsets[item + 1])) : [];
        // Group this item's feature rows by the space (field) they belong to.
        const byField = new Map<number, number[]>();
        for (const row of values) {
          const field = features!.spaces.findIndex((s) => row >= s.offset && row < s.offset + s.size);
          const list = byField.get(field) ?? [];
          list.push(row);
          byField.set(field, list);
        }
        const parts = byField.size + 1;
        rows.push(item);
        weights.push(1 / parts);
        for (const fieldRows of byField.values()) {
          for (const row of fieldRows) {
            rows.push(numItems + row);
            weights.push(1 / (parts * fieldRows.length));
          }
        }
      }
      offsets[item + 1] = rows.length;
    }
    this.offsets = offsets;
    this.rows = Int32Array.from(rows);
    this.weights = Float32Array.from(weights);
  }

  /** One bag per id, each the item's rows with their weights (SPEC §4's item-vector mean). */
  bagsFor(ids: ArrayLike<number>): Bags {
    const offsets = new Int32Array(ids.length + 1);
    let total = 0;
    for (let r = 0; r < ids.length; r++) {
      total += this.offsets[ids[r] + 1] - this.offsets[ids[r]];
      offsets[r + 1] = total;
    }
    const indices = new Int32Array(total);
    const weights = new Float32Array(total);
    for (let r = 0; r < ids.length; r++) {
      const from = this.offsets[ids[r]];
      const to = this.offsets[ids[r] + 1];
      indices.set(this.rows.subarray(from, to), offsets[r]);
      weights.set(this.weights.subarray(from, to), offsets[r]);
    }
    return { offsets, indices, weights };
  }
}
