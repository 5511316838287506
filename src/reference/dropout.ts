/**
 * Float64 reference of kernels/dropout.wgsl: the keep mask drawn from Philox4x32-10 (the BigInt
 * twin in rng.ts) and the inverted-dropout output. Element i takes word i % 4 of
 * Philox(counter (⌊i/4⌋, stream, 0, 2), key (seed mod 2^32, ⌊seed / 2^32⌋)) and is kept iff the
 * word is below min(round((1 − rate)·2^32), 2^32 − 1); kept values are scaled by 2^32 / that
 * threshold, rounded to f32 as the kernel receives it.
 */
import { philox4x32_10 } from './rng.js';

/** The fourth counter word of dropout draws (routing's logits use 0 and 1). */
const DROPOUT_TAG = 2;

/** `[n]` keep mask (1 kept, 0 dropped) of dropout(rate, seed, stream) over n elements. */
export function dropoutMaskReference(args: { n: number; rate: number; seed: number; stream?: number }): Uint8Array {
  const { n, rate, seed, stream = 0 } = args;
  const threshold = Math.min(Math.round((1 - rate) * 2 ** 32), 2 ** 32 - 1);
  const key = [seed % 2 ** 32, Math.floor(seed / 2 ** 32)];
  const mask = new Uint8Array(n);
  for (let block = 0; block * 4 < n; block++) {
    const words = philox4x32_10([block, stream, 0, DROPOUT_TAG], key);
    for (let k = 0; k < 4 && block * 4 + k < n; k++) mask[block * 4 + k] = words[k] < threshold ? 1 : 0;
  }
  return mask;
}

/**
 * dropout(x) as the kernel computes it: x·scale where kept, x·0 where dropped, each product of
 * two f32 values rounded once to f32 (exact in float64, then Math.fround), so the GPU result
 * matches bit for bit.
 */
export function dropoutReference(x: ArrayLike<number>, args: { rate: number; seed: number; stream?: number }): Float32Array {
  const mask = dropoutMaskReference({ ...args, n: x.length });
  const threshold = Math.min(Math.round((1 - args.rate) * 2 ** 32), 2 ** 32 - 1);
  const scale = Math.fround(2 ** 32 / threshold);
  return Float32Array.from(x, (v, i) => Math.fround(Math.fround(v) * (mask[i] ? scale : 0)));
}
