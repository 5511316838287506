/**
 * A 2-D picture of the item vectors: their first two principal components (PCA by ml-pca, on the
 * d×d covariance of every item vector, centred), fitted once per model. The user's interest
 * vectors live in the same space (an item's score is its inner product with an interest, SPEC
 * §4), so they are placed with the same map, live, on every update.
 *
 * The projection keeps directions, not inner products: two items close in the picture can
 * still differ in the components it leaves out; the explained variance says how much it shows.
 */
import { PCA } from 'ml-pca';

export class ItemProjection {
  /** `[numItems, 2]` each item's coordinates (row 0, the padding id, is the centre's). */
  readonly points: Float64Array;
  /** Share of the item vectors' variance the two components show, in [0, 1]. */
  readonly explained: number;
  private readonly pca: PCA;

  /**
   * Fits the projection to `items` `[numItems, d]` f32 (row 0, the padding id, left out of the
   * fit). Throws a RangeError naming `items` when its length is not a multiple of `d` or it holds
   * fewer than 2 real items.
   */
  constructor(
    items: Float32Array,
    readonly d: number,
  ) {
    const n = items.length / d;
    if (!Number.isInteger(n) || n < 3) throw new RangeError(`ItemProjection: items must be [numItems ≥ 3, ${d}], got ${items.length} values`);
    const rows = Array.from({ length: n - 1 }, (_, r) => Array.from(items.subarray((r + 1) * d, (r + 2) * d)));
    this.pca = new PCA(rows, { method: 'covarianceMatrix', center: true, scale: false });
    const variance = this.pca.getExplainedVariance();
    this.explained = (variance[0] ?? 0) + (variance[1] ?? 0);
    this.points = new Float64Array(n * 2);
    this.points.set(this.project(items.subarray(0, d)), 0);
    this.points.set(this.project(items.subarray(d)), 2);
  }

  /** `[rows, 2]` coordinates of `vectors` `[rows, d]` (items or interests) on the two components. */
  project(vectors: ArrayLike<number>): Float64Array {
    const rows = vectors.length / this.d;
    const out = new Float64Array(rows * 2);
    if (rows === 0) return out;
    const data = Array.from({ length: rows }, (_, r) => Array.from({ length: this.d }, (_, c) => vectors[r * this.d + c]));
    const projected = this.pca.predict(data, { nComponents: 2 });
    for (let r = 0; r < rows; r++) {
      out[2 * r] = projected.get(r, 0);
      out[2 * r + 1] = projected.columns > 1 ? projected.get(r, 1) : 0;
    }
    return out;
  }
}
