/**
 * Seeded host-side pseudo-random numbers: xoshiro128** seeded through splitmix32.
 *
 * Why these two: xoshiro128** passes BigCrush, needs only 32-bit integer arithmetic (exact in
 * JavaScript through `Math.imul` and `>>>`), and has a 2^128 - 1 period; splitmix32 turns any
 * 32-bit key into a well-mixed, non-zero state. Every draw is a pure function of the seed, the
 * fork path and the number of draws before it, so runs are reproducible on every platform.
 */

/** Any indexable, writable sequence: plain arrays and typed arrays alike. */
export interface MutableArrayLike<T> {
  readonly length: number;
  [index: number]: T;
}

const TWO_POW_32 = 4294967296;

/** One step of splitmix32 on `x`; a bijection of 32-bit integers with good avalanche. */
function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a over UTF-16 code units, so string stream names fork deterministically. */
function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

function keyOfSeed(seed: number): number {
  if (!Number.isSafeInteger(seed)) {
    throw new RangeError(`seed must be a safe integer, got ${seed}`);
  }
  // Both halves of a seed up to 2^53 take part, so seeds differing only above bit 31 differ.
  const low = seed >>> 0;
  const high = Math.floor(seed / TWO_POW_32) >>> 0;
  return mix32(low ^ mix32(high));
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

export class Random {
  /** 32-bit key this generator was built from; forks derive their keys from it. */
  private readonly key: number;
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** `seed`: any safe integer (negative values and values above 2^32 are fine). */
  constructor(seed: number) {
    const key = keyOfSeed(seed);
    this.key = key;
    this.s0 = mix32(key);
    this.s1 = mix32(key + 1);
    this.s2 = mix32(key + 2);
    this.s3 = mix32(key + 3);
    // xoshiro's all-zero state is a fixed point; splitmix32 makes it astronomically unlikely,
    // but one branch makes it impossible.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /**
   * An independent generator for a named or numbered sub-stream (an epoch, a user, 'split').
   * The child depends only on this generator's seed path and `stream`, not on how many numbers
   * this generator has drawn, so `new Random(s).fork(e)` is the same wherever it is called.
   */
  fork(stream: number | string): Random {
    let streamKey: number;
    if (typeof stream === 'string') {
      streamKey = hashString(stream);
    } else if (Number.isSafeInteger(stream)) {
      streamKey = keyOfSeed(stream);
    } else {
      throw new RangeError(`stream must be a safe integer or a string, got ${stream}`);
    }
    // The child's seed is a 32-bit mix of the parent's key and the stream, fed through the
    // ordinary constructor, so a fork is just another seeded generator.
    return new Random(mix32(this.key ^ mix32(streamKey ^ 0x632be5ab)));
  }

  /** A uniform 32-bit unsigned integer in [0, 2^32). */
  uint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** A uniform number in [0, 1) with 32 random bits (spacing 2^-32). */
  next(): number {
    return this.uint32() / TWO_POW_32;
  }

  /**
   * A uniform integer in [0, n), exactly unbiased: draws at or above the largest multiple of
   * `n` below 2^32 are rejected (at most one in two draws, usually far fewer).
   */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new RangeError(`n must be an integer in [1, 2^32], got ${n}`);
    }
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let draw = this.uint32();
    while (draw >= limit) draw = this.uint32();
    return draw % n;
  }

  /**
   * A standard normal draw by Box-Muller. One of the pair is discarded so that the generator's
   * state stays the four xoshiro words and nothing else.
   */
  normal(): number {
    // 1 - next() lies in (0, 1], so the logarithm is finite.
    const radius = Math.sqrt(-2 * Math.log(1 - this.next()));
    return radius * Math.cos(2 * Math.PI * this.next());
  }

  /** Shuffles `array` in place (Fisher-Yates) and returns it. */
  shuffle<A extends MutableArrayLike<unknown>>(array: A): A {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const held = array[i];
      array[i] = array[j];
      array[j] = held;
    }
    return array;
  }
}
