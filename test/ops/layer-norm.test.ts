import { describe, expect, test } from 'vitest';
import { gradCheck } from '../../src/autograd/grad-check.js';
import { layerNorm } from '../../src/autograd/layers/layer-norm.js';
import { maxRelativeError, randomArray, useContext } from '../helpers/gpu.js';

const getCtx = useContext();

/** Float64 layer norm, written directly from the definition (Ba et al. 2016, eq. 4). */
function reference(x: Float64Array, gain: Float64Array, bias: Float64Array, n: number, eps = 1e-5): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length / n; r++) {
    const row = x.subarray(r * n, (r + 1) * n);
    const mu = row.reduce((a, b) => a + b, 0) / n;
    const variance = row.reduce((a, b) => a + (b - mu) ** 2, 0) / n;
    for (let c = 0; c < n; c++) out[r * n + c] = (gain[c] * (row[c] - mu)) / Math.sqrt(variance + eps) + bias[c];
  }
  return out;
}

describe('layer norm as a composition of primitives', () => {
  test.each([[3, 7], [257, 16], [2, 300]])('forward, %i rows of %i', async (rows, n) => {
    const ctx = getCtx();
    const x = randomArray(rows * n, rows, -3, 3);
    const gain = randomArray(n, 5, 0.5, 1.5);
    const bias = randomArray(n, 6);
    const y = ctx.tidy(() => layerNorm(ctx.tensor(x, [rows, n]), ctx.tensor(gain, [n]), ctx.tensor(bias, [n])));
    const want = reference(Float64Array.from(x), Float64Array.from(gain), Float64Array.from(bias), n);
    expect(maxRelativeError(await y.read(), want, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
    y.dispose();
  });

  test('gradients of x, gain and bias', async () => {
    const [B, T, n] = [2, 3, 5];
    const result = await gradCheck({
      ctx: getCtx(),
      inputs: [
        { data: randomArray(B * T * n, 21, -2, 2), shape: [B, T, n], check: true },
        { data: randomArray(n, 22, 0.5, 1.5), shape: [n], check: true },
        { data: randomArray(n, 23), shape: [n], check: true },
      ],
      gpu: ([x, g, b]) => layerNorm(x, g, b),
      reference: ([x, g, b]) => reference(x, g, b, n),
    });
    for (const err of result.maxError) expect(err).toBeLessThan(3e-3);
  });
});
