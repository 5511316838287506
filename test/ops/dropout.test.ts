/**
 * Dropout on the GPU (kernels/dropout.wgsl, src/autograd/ops/dropout.ts) against its float64
 * Philox reference: the mask and the values bit for bit, forward and backward; the keep rate and
 * the independence of the four words of a block measured over a large tensor; seeds and streams.
 */
import { describe, expect, test } from 'vitest';
import { dropout, dropoutThreshold } from '../../src/autograd/ops/dropout.js';
import { dropoutMaskReference, dropoutReference } from '../../src/reference/dropout.js';
import { randomArray, useContext } from '../helpers/gpu.js';

const getCtx = useContext();
const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** dropout(x) read back, its input uploaded from `x`. */
async function run(x: Float32Array, options: { rate: number; seed: number; stream?: number }): Promise<Float32Array> {
  const ctx = getCtx();
  return ctx.tidy(async () => (await dropout(ctx.tensor(x, [x.length]), options).read()) as Float32Array);
}

describe('dropout against the float64 Philox reference', () => {
  // 1024 elements per workgroup (256 threads × 4 words): partial blocks, one and several workgroups.
  test.each([
    [1, 0.5, 7, 0],
    [3, 0.1, 123, 1],
    [4, 0.9, 2 ** 40 + 5, 0],
    [1023, 0.3, 99, 2],
    [1025, 0.5, 2 ** 52 + 3, 7],
    [4099, 0.25, 31, 2 ** 32 - 1],
  ])('n = %i, rate %f, seed %i, stream %i: forward and backward equal the reference bit for bit', async (n, rate, seed, stream) => {
    const ctx = getCtx();
    const x = randomArray(n, n + 1, -3, 3);
    const g = randomArray(n, n + 2, -2, 2);
    const options = { rate, seed, stream };
    const { y, dx } = await ctx.tidy(async () => {
      const input = ctx.tensor(x, [n], { requiresGrad: true });
      const out = dropout(input, options);
      await out.backward(ctx.tensor(g, [n]));
      const grad = input.grad as import('../../src/autograd/tensor.js').Tensor;
      return { y: (await out.read()) as Float32Array, dx: (await grad.read()) as Float32Array };
    });
    expect(bytes(y)).toEqual(bytes(dropoutReference(x, options)));
    expect(bytes(dx)).toEqual(bytes(dropoutReference(g, options)));
    // Both use the same mask, and it is not all-kept or all-dropped (except by chance at n = 1).
    const mask = dropoutMaskReference({ n, ...options });
    y.forEach((v, i) => expect(v !== 0, `element ${i}`).toBe(mask[i] === 1));
    if (n > 100) expect(new Set(mask).size).toBe(2);
  });

  test('keep rate, unbiasedness and independence of the four words of a block over 2^20 elements', async () => {
    const n = 2 ** 20;
    const rate = 0.3;
    const keep = 1 - rate;
    const y = await run(new Float32Array(n).fill(1), { rate, seed: 2024, stream: 3 });
    const { scale } = dropoutThreshold(rate);
    let kept = 0;
    let allFour = 0;
    let offScale = 0;
    const perLane = [0, 0, 0, 0];
    for (let i = 0; i < n; i++) {
      if (y[i] === 0) continue;
      if (y[i] !== scale) offScale++;
      kept++;
      perLane[i % 4]++;
    }
    expect(offScale).toBe(0);
    for (let b = 0; b < n / 4; b++) if (y[4 * b] && y[4 * b + 1] && y[4 * b + 2] && y[4 * b + 3]) allFour++;
    // Binomial counts: within 5 standard deviations of their means.
    const within = (count: number, trials: number, p: number) => Math.abs(count - trials * p) / Math.sqrt(trials * p * (1 - p));
    expect(within(kept, n, keep)).toBeLessThan(5);
    for (const lane of perLane) expect(within(lane, n / 4, keep)).toBeLessThan(5);
    expect(within(allFour, n / 4, keep ** 4)).toBeLessThan(5);
    // Inverted dropout: E[y] = x, i.e. scale · P(keep) = 1.
    expect(Math.abs(scale * keep - 1)).toBeLessThan(1e-6);
    const mean = y.reduce((a, v) => a + v, 0) / n;
    expect(Math.abs(mean - 1)).toBeLessThan((5 * Math.sqrt(keep * (1 - keep) / n)) / keep);
  });

  test('same seed and stream: the same mask; another seed (low or high word) or stream: another mask', async () => {
    const n = 4096;
    const x = new Float32Array(n).fill(1);
    const base = { rate: 0.5, seed: 2 ** 33 + 17, stream: 1 };
    const a = await run(x, base);
    expect(bytes(await run(x, base))).toEqual(bytes(a));
    // Two independent masks at rate 1/2 disagree on half the elements.
    const disagreement = (b: Float32Array) => a.filter((v, i) => (v === 0) !== (b[i] === 0)).length / n;
    for (const other of [{ seed: 2 ** 33 + 18 }, { seed: 2 ** 34 + 17 }, { stream: 2 }]) {
      expect(Math.abs(disagreement(await run(x, { ...base, ...other })) - 0.5), JSON.stringify(other)).toBeLessThan(0.05);
    }
  });

  test('rejects bad arguments, naming them', () => {
    const ctx = getCtx();
    const x = ctx.zeros([4]);
    expect(() => dropout(x, { rate: 0, seed: 1 })).toThrow(/dropout: rate must be in \(0, 1\), got 0/);
    expect(() => dropout(x, { rate: 1, seed: 1 })).toThrow(/rate must be in \(0, 1\), got 1/);
    expect(() => dropout(x, { rate: NaN, seed: 1 })).toThrow(/rate must be in \(0, 1\), got NaN/);
    expect(() => dropout(x, { rate: 1 - 2 ** -40, seed: 1 })).toThrow(/keeps no element/);
    expect(() => dropout(x, { rate: 0.5, seed: -1 })).toThrow(/dropout: seed must be an integer in \[0, 2\^53\), got -1/);
    expect(() => dropout(x, { rate: 0.5, seed: 0.5 })).toThrow(/seed must be an integer/);
    expect(() => dropout(x, { rate: 0.5, seed: 1, stream: 2 ** 32 })).toThrow(/dropout: stream must be an integer in \[0, 2\^32\), got 4294967296/);
    expect(() => dropout(ctx.tensor(new Int32Array(4), [4]), { rate: 0.5, seed: 1 })).toThrow(/dropout: x must be f32, got i32/);
    // A tiny rate keeps all but the largest word: a threshold a u32 holds.
    expect(dropoutThreshold(2 ** -40).threshold).toBe(2 ** 32 - 1);
    x.dispose();
  });
});
