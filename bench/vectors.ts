/**
 * Synthetic item and interest vectors for the serving benchmarks and tests: clustered, like the
 * item vectors a trained MIND model produces (items of one category sit together, interests
 * point at categories). Uniform random vectors in 64 dimensions would have no neighbourhood
 * structure at all, which no trained embedding has and which would measure an ANN index at its
 * theoretical worst rather than at its use.
 */
import { Random } from '../src/data/random.js';

export interface SyntheticCatalogue {
  /** `[numItems, d]` f32 row-major; row 0 is the padding item (zeros), as in a model's table. */
  items: Float32Array;
  /** `[users, K, d]` f32: each user's K interest vectors, one per distinct cluster. */
  interests: Float32Array;
  numItems: number;
  dim: number;
}

/**
 * `numItems - 1` real items in `round(sqrt(numItems))` clusters: item = (centre + 0.5·noise) ×
 * a per-item scale in [0.8, 1.2] (popular items have longer vectors under a softmax loss, so
 * inner product, not cosine, ranks them). Each of `users` users has `K` interests, each a
 * cluster's centre plus 0.5·noise. Throws a RangeError naming the argument when a size is not a
 * positive integer. Deterministic in `seed`.
 */
export function syntheticCatalogue(numItems: number, dim: number, users: number, K: number, seed = 1): SyntheticCatalogue {
  for (const [name, value] of Object.entries({ numItems, dim, users, K })) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`syntheticCatalogue: ${name} must be an integer ≥ 1, got ${value}`);
  }
  const random = new Random(seed);
  const clusters = Math.max(2, Math.round(Math.sqrt(numItems)));
  const centres = new Float32Array(clusters * dim);
  for (let i = 0; i < centres.length; i++) centres[i] = random.normal();
  const items = new Float32Array(numItems * dim);
  for (let id = 1; id < numItems; id++) {
    const c = random.int(clusters);
    const scale = 0.8 + 0.4 * random.next();
    for (let x = 0; x < dim; x++) items[id * dim + x] = (centres[c * dim + x] + 0.5 * random.normal()) * scale;
  }
  const interests = new Float32Array(users * K * dim);
  for (let u = 0; u < users; u++) {
    for (let j = 0; j < K; j++) {
      const c = random.int(clusters);
      for (let x = 0; x < dim; x++) interests[(u * K + j) * dim + x] = centres[c * dim + x] + 0.5 * random.normal();
    }
  }
  return { items, interests, numItems, dim };
}
