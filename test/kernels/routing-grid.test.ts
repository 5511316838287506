/**
 * Routing's projections (Ê = E·S, dE = dÊ·Sᵀ, dS = Eᵀ·dÊ, on the GEMM family) fold their
 * workgroup tiles over the grid's x, y and z, so B·L beyond 65,535 row tiles runs (issue 14:
 * B·L = 4096·512 failed with "workgroup count 65536 is out of range"). A context whose workgroups
 * per dimension are capped at 4 (RuntimeOptions.maxWorkgroupsPerDimension) reaches the fold at
 * 26 row tiles of 16; the result must match the float64 reference and be bitwise the result of
 * the unfolded grid.
 */
import { describe, expect, test } from 'vitest';
import type { Context } from '../../src/autograd/context.js';
import type { Tensor } from '../../src/autograd/tensor.js';
import { gemmPlan } from '../../src/autograd/ops/matmul.js';
import { b2iRouting } from '../../src/mind/ops/routing.js';
import { routingForwardReference, routingStopGradientReference } from '../../src/reference/routing.js';
import { maxRelativeError, randomArray, useContext } from '../helpers/gpu.js';

const CAP = 4;
const getCapped = useContext({ maxWorkgroupsPerDimension: CAP });
const getFull = useContext();

// B·L = 13·31 = 403 rows: 26 row tiles of 16, more than CAP² (the last tile partial);
// lengths cover full, partial, 1 and 0.
const B = 13;
const L = 31;
const dIn = 12;
const d = 8;
const kMax = 3;
const lengths = Int32Array.from({ length: B }, (_, b) => [31, 17, 1, 0, 9, 31, 4][b % 7]);
const E = randomArray(B * L * dIn, 5);
const S = randomArray(dIn * d, 6);
const b0 = randomArray(B * kMax * L, 7);
const dU = randomArray(B * kMax * d, 8);

async function run(ctx: Context) {
  return ctx.tidy(async () => {
    const e = ctx.tensor(E, [B, L, dIn], { requiresGrad: true });
    const s = ctx.tensor(S, [dIn, d], { requiresGrad: true });
    const U = b2iRouting(e, ctx.tensor(lengths, [B]), s, { kMax, iterations: 3, initLogits: ctx.tensor(b0, [B, kMax, L]) });
    const u = await U.read();
    await U.backward(ctx.tensor(dU, U.shape));
    return { U: u as Float32Array, dE: (await (e.grad as Tensor).read()) as Float32Array, dS: (await (s.grad as Tensor).read()) as Float32Array };
  });
}

describe('routing projections with a split grid', () => {
  test('the capped context really folds the tiles over x, y and z', () => {
    expect(getCapped().gpu.maxWorkgroupsPerDimension).toBe(CAP);
    // Ê = E·S: 403 rows of d = 8 (one column tile), and dE = dÊ·Sᵀ: 403 rows of dIn = 12.
    expect(gemmPlan({ m: B * L, k: dIn, ldc: d }, CAP)).toMatchObject({ rowTiles: 26, colTiles: 1, parts: 1, grid: [4, 4, 2] });
    expect(gemmPlan({ m: B * L, k: d, ldc: dIn }, CAP).grid).toEqual([4, 4, 2]);
    expect(gemmPlan({ m: B * L, k: dIn, ldc: d }, 65535).grid).toEqual([26, 1, 1]);
    // The case: 4096·512 rows are 65,536 row tiles of 32, one more than a dimension holds.
    const plan = gemmPlan({ m: 4096 * 512, k: 64, ldc: 64 }, 65535);
    expect(plan.rowTiles).toBe(65536);
    const [x, y, z] = plan.grid;
    expect([x <= 65535, y <= 65535, z <= 65535, x * y * z >= 65536]).toEqual([true, true, true, true]);
  });

  test('forward and stop-gradient backward match the float64 reference', async () => {
    const got = await run(getCapped());
    const args = { E, lengths, S, b0, B, L, dIn, d, kMax, iterations: 3 };
    expect(maxRelativeError(got.U, routingForwardReference(args), 1e-4, 1e-5)).toBeLessThanOrEqual(1);
    const ref = routingStopGradientReference(args, dU);
    expect(maxRelativeError(got.dE, ref.dE, 5e-4, 1e-5)).toBeLessThanOrEqual(1);
    expect(maxRelativeError(got.dS, ref.dS, 5e-4, 1e-5)).toBeLessThanOrEqual(1);
  });

  test('bitwise the result of the unsplit grid', async () => {
    const split = await run(getCapped());
    const whole = await run(getFull());
    expect(Buffer.from(split.U.buffer).equals(Buffer.from(whole.U.buffer))).toBe(true);
    expect(Buffer.from(split.dE.buffer).equals(Buffer.from(whole.dE.buffer))).toBe(true);
    expect(Buffer.from(split.dS.buffer).equals(Buffer.from(whole.dS.buffer))).toBe(true);
  });
});
