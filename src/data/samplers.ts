/**
 * Negative samplers for the sampled softmax (SPEC section 3), drawing with replacement over the
 * real item ids 1..numItems-1; the padding id 0 has probability 0 and is never drawn.
 * `logExpectedCount` is the logQ correction: log of the expected number of times an id occurs
 * among S draws, log(S·P(k)).
 *
 * With N_real = numItems - 1 real items:
 * - uniform:     P(k) = 1 / N_real.
 * - logUniform:  item k has rank r = k - 1 in SPEC's P(r) = log((r+2)/(r+1)) / log(N_real+1),
 *                i.e. P(k) = log((k+1)/k) / log(numItems). Meant for ids sorted by descending
 *                frequency, which the data pipeline guarantees.
 * - unigram:     P(k) ∝ counts[k]^α (α default 0.75); items with count 0 are never drawn
 *                (also for α = 0, where 0^0 would otherwise give them weight 1).
 */

import type { Random } from './random.js';

export type SamplerKind = 'uniform' | 'logUniform' | 'unigram';

export interface SamplerOptions {
  /** Number of ids including the padding id 0 (Dataset.numItems); at least 2. */
  numItems: number;
  /** `[numItems]` non-negative counts (Dataset.itemCounts), for 'unigram'; counts[0] is ignored. */
  counts?: ArrayLike<number>;
  /** Unigram exponent; default 0.75. */
  alpha?: number;
}

export interface Sampler {
  readonly kind: SamplerKind;
  readonly numItems: number;
  /** P(id) of one draw; 0 for the padding id. */
  probability(id: number): number;
  /** `[numSampled]` i32 ids in 1..numItems-1, drawn independently with replacement. */
  sample(numSampled: number, rng: Random): Int32Array;
  /** `[ids.length]` f32 log(numSampled · P(id)); -Infinity where P is 0 (e.g. the padding id). */
  logExpectedCount(ids: Int32Array, numSampled: number): Float32Array;
}

function checkNumSampled(numSampled: number): void {
  if (!Number.isInteger(numSampled) || numSampled < 1) {
    throw new RangeError(`numSampled must be a positive integer, got ${numSampled}`);
  }
}

/** Shared argument checks and the log(S·P) loop; subclasses give P and one draw. */
abstract class BaseSampler implements Sampler {
  abstract readonly kind: SamplerKind;

  constructor(readonly numItems: number) {}

  abstract probability(id: number): number;
  protected abstract draw(rng: Random): number;

  sample(numSampled: number, rng: Random): Int32Array {
    checkNumSampled(numSampled);
    const ids = new Int32Array(numSampled);
    for (let s = 0; s < numSampled; s++) ids[s] = this.draw(rng);
    return ids;
  }

  logExpectedCount(ids: Int32Array, numSampled: number): Float32Array {
    checkNumSampled(numSampled);
    const logS = Math.log(numSampled);
    const out = new Float32Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id < 0 || id >= this.numItems) {
        throw new RangeError(`ids[${i}] must be an item id in [0, ${this.numItems}), got ${id}`);
      }
      out[i] = logS + Math.log(this.probability(id));
    }
    return out;
  }
}

class UniformSampler extends BaseSampler {
  readonly kind = 'uniform';

  probability(id: number): number {
    return id === 0 ? 0 : 1 / (this.numItems - 1);
  }

  protected draw(rng: Random): number {
    return 1 + rng.int(this.numItems - 1);
  }
}

class LogUniformSampler extends BaseSampler {
  readonly kind = 'logUniform';
  private readonly logNumItems = Math.log(this.numItems);

  probability(id: number): number {
    // log((k+1)/k) as log1p(1/k) stays accurate for large k, where (k+1)/k rounds towards 1.
    return id === 0 ? 0 : Math.log1p(1 / id) / this.logNumItems;
  }

  /**
   * Inverse CDF: x = numItems^u is log-uniform on [1, numItems), and floor(x) = k with
   * probability log((k+1)/k) / log(numItems), exactly P(k). The clamp only guards rounding.
   */
  protected draw(rng: Random): number {
    const k = Math.floor(Math.exp(rng.next() * this.logNumItems));
    return Math.min(this.numItems - 1, Math.max(1, k));
  }
}

/** Walker's alias method (Vose's construction): O(N) set-up, O(1) per draw. */
class UnigramSampler extends BaseSampler {
  readonly kind = 'unigram';
  /** P(k) per id, probabilities[0] = 0. */
  private readonly probabilities: Float64Array;
  /** Per slot i = id - 1: keep the slot with chance threshold[i], else take alias[i]. */
  private readonly threshold: Float64Array;
  private readonly alias: Int32Array;

  constructor(numItems: number, counts: ArrayLike<number>, alpha: number) {
    super(numItems);
    const slots = numItems - 1;
    const weights = new Float64Array(numItems);
    let total = 0;
    for (let id = 1; id < numItems; id++) {
      const count = counts[id];
      if (!Number.isFinite(count) || count < 0) {
        throw new RangeError(`counts[${id}] must be a finite non-negative number, got ${count}`);
      }
      weights[id] = count === 0 ? 0 : count ** alpha;
      total += weights[id];
    }
    if (!(total > 0) || !Number.isFinite(total)) {
      throw new RangeError(
        `unigram sampling needs a positive finite total weight over ids 1..${slots}, got ${total}`,
      );
    }
    this.probabilities = weights.map((weight) => weight / total);
    this.threshold = new Float64Array(slots);
    this.alias = new Int32Array(slots);
    const scaled = this.probabilities.slice(1).map((p) => p * slots);
    const small: number[] = [];
    const large: number[] = [];
    scaled.forEach((value, slot) => (value < 1 ? small : large).push(slot));
    while (small.length > 0 && large.length > 0) {
      const less = small.pop()!;
      const more = large.pop()!;
      this.threshold[less] = scaled[less];
      this.alias[less] = more;
      scaled[more] += scaled[less] - 1;
      (scaled[more] < 1 ? small : large).push(more);
    }
    // What is left is 1 up to rounding: those slots always keep themselves.
    for (const slot of [...small, ...large]) {
      this.threshold[slot] = 1;
      this.alias[slot] = slot;
    }
  }

  probability(id: number): number {
    return this.probabilities[id];
  }

  protected draw(rng: Random): number {
    const slot = rng.int(this.numItems - 1);
    return 1 + (rng.next() < this.threshold[slot] ? slot : this.alias[slot]);
  }
}

/** Builds a sampler; arguments are checked and errors name the argument and its value. */
export function createSampler(kind: SamplerKind, options: SamplerOptions): Sampler {
  const { numItems, counts, alpha = 0.75 } = options;
  if (!Number.isInteger(numItems) || numItems < 2 || numItems > 2 ** 31 - 1) {
    throw new RangeError(
      `numItems must be an integer in [2, 2^31) (padding id 0 plus real items), got ${numItems}`,
    );
  }
  switch (kind) {
    case 'uniform':
      return new UniformSampler(numItems);
    case 'logUniform':
      return new LogUniformSampler(numItems);
    case 'unigram':
      if (counts === undefined) throw new RangeError("counts is required by the 'unigram' sampler");
      if (counts.length !== numItems) {
        throw new RangeError(`counts must have numItems = ${numItems} entries, got ${counts.length}`);
      }
      if (!Number.isFinite(alpha) || alpha < 0) {
        throw new RangeError(`alpha must be a finite non-negative number, got ${alpha}`);
      }
      return new UnigramSampler(numItems, counts, alpha);
    default:
      throw new RangeError(`kind must be 'uniform', 'logUniform' or 'unigram', got ${String(kind)}`);
  }
}
