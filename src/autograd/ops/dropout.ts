/**
 * Inverted dropout (Srivastava et al., JMLR 2014, §10 "scaled at training time") with its mask
 * drawn on the GPU from the Philox4x32-10 stream of kernels/rng.wgsl (kernels/dropout.wgsl):
 * no mask is built on the host or uploaded. The mask is a pure function of (seed, stream,
 * element index), so a seed reproduces it bit for bit on any adapter, and the backward redraws
 * it instead of keeping it.
 */
import indexWgsl from '../../../kernels/common/index.wgsl?raw';
import rngWgsl from '../../../kernels/rng.wgsl?raw';
import dropoutWgsl from '../../../kernels/dropout.wgsl?raw';
import { kernelModule } from '../../gpu/kernel.js';
import type { Tensor } from '../tensor.js';
import { expectTensor, flatGrid } from './common.js';

const kernels = kernelModule('dropout', indexWgsl, rngWgsl, dropoutWgsl);

/** Elements per thread: one Philox block gives four 32-bit words. */
const WORDS_PER_BLOCK = 4;

export interface DropoutOptions {
  /** Probability of dropping an element, in (0, 1). */
  rate: number;
  /** Key of the Philox stream: an integer in [0, 2^53). */
  seed: number;
  /** Which draw under one seed (e.g. the layer), an integer in [0, 2^32); default 0. */
  stream?: number;
}

/**
 * The integer threshold and the f32 scale of a dropout rate (the contract of
 * kernels/dropout.wgsl): an element is kept iff its 32-bit Philox word is below
 * `threshold = round((1 − rate) · 2^32)`, so it is kept with probability threshold / 2^32, and
 * kept values are multiplied by `scale = 2^32 / threshold` (rounded to f32), which makes the
 * expected output equal the input. Throws when rate is not in (0, 1) or so close to 1 that
 * nothing would be kept.
 */
export function dropoutThreshold(rate: number): { threshold: number; scale: number } {
  if (!(Number.isFinite(rate) && rate > 0 && rate < 1)) throw new Error(`dropout: rate must be in (0, 1), got ${rate}`);
  const threshold = Math.round((1 - rate) * 2 ** 32);
  // rate ≤ 2^-33 rounds to 2^32, which a u32 cannot hold: keep all but the largest word.
  const clamped = Math.min(threshold, 2 ** 32 - 1);
  if (clamped === 0) throw new Error(`dropout: rate ${rate} keeps no element (1 − rate < 2^-33)`);
  return { threshold: clamped, scale: Math.fround(2 ** 32 / clamped) };
}

/**
 * `x · mask / keep`, any shape, f32: each element kept with probability keep = 1 − rate (see
 * dropoutThreshold for the exact rounding) by a Philox draw keyed by (seed, stream, element
 * index); dropped elements become x·0. Its gradient multiplies by the same mask and scale.
 * Same (seed, stream) and shape, same mask; another stream or seed, an independent one.
 * Throws naming the argument when x is not a live f32 tensor, rate is not in (0, 1), seed is
 * not an integer in [0, 2^53) or stream not an integer in [0, 2^32).
 */
export function dropout(x: Tensor, options: DropoutOptions): Tensor {
  expectTensor('dropout', 'x', x, 'f32');
  const { rate, seed, stream = 0 } = options;
  const { threshold, scale } = dropoutThreshold(rate);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`dropout: seed must be an integer in [0, 2^53), got ${seed}`);
  if (!Number.isInteger(stream) || stream < 0 || stream >= 2 ** 32) {
    throw new Error(`dropout: stream must be an integer in [0, 2^32), got ${stream}`);
  }
  const params = { seed_lo: seed % 2 ** 32, seed_hi: Math.floor(seed / 2 ** 32), stream, threshold, scale };
  const apply = (input: Tensor, label: string): Tensor => {
    const out = input.ctx.empty(input.shape, 'f32', label);
    kernels.entry('dropout').run(input.ctx, { params: { n: input.size, ...params }, x: input, out }, flatGrid(Math.ceil(input.size / WORDS_PER_BLOCK)));
    return out;
  };
  const out = apply(x, 'dropout');
  x.ctx.tape.record('dropout', [x], [out], ([g]) => [apply(g!, 'dropout.grad')]);
  return out;
}
