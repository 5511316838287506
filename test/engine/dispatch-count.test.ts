/**
 * Dispatches per MIND training step (issue 13: per-dispatch cost matters at these sizes, so the
 * count must not grow unnoticed). One step as the trainer runs it (the bench's `train.step`:
 * MindModel.loss, backward, both Adams, the loss read back) must take the same number of
 * dispatches whatever the catalogue, history or negative-sample sizes (no per-item or per-row
 * dispatch loops); the batch size only adds the passes of its tree reductions (one more per
 * 256-fold growth); and no step takes more than the ceiling below.
 */
import { describe, expect, test } from 'vitest';
import { type BenchShape, CASES, SHAPES } from '../../bench/cases.js';
import { useContext } from '../helpers/gpu.js';

/**
 * Dispatches of one default-configuration step, measured 2026-11-30: 69 at the tiny shape, 71 at
 * B = 40, 73 at B = 300 (one fewer than before routing's dE = dÊ·Sᵀ read S transposed in place
 * on the GEMM family instead of a transposed copy). Lower it when a fusion removes dispatches;
 * raising it needs a reason.
 */
const CEILING = 73;

const getCtx = useContext();

async function dispatchesPerStep(shape: BenchShape): Promise<{ total: number; submits: number }> {
  const ctx = getCtx();
  const stepCase = CASES.find((c) => c.name === 'train.step')!;
  const instance = (await stepCase.prepare(shape, ctx)).ours(ctx);
  try {
    await instance.iterate(); // the first step also uploads the weights
    const before = { dispatches: ctx.gpu.stats.dispatches, submits: ctx.gpu.stats.submits };
    await instance.iterate();
    return { total: ctx.gpu.stats.dispatches - before.dispatches, submits: ctx.gpu.stats.submits - before.submits };
  } finally {
    instance.dispose();
  }
}

describe('dispatches per training step', () => {
  test('independent of N, L and S, logarithmic in B, one submit, and under the ceiling', async () => {
    const base = await dispatchesPerStep(SHAPES.tiny);
    expect(base.total).toBeGreaterThan(20);
    expect(base.total).toBeLessThanOrEqual(CEILING);
    // The step is recorded into one submit; reading the loss back adds one.
    expect(base.submits).toBeLessThanOrEqual(2);
    for (const change of [{ N: 700 }, { L: 13 }, { S: 50 }]) {
      expect((await dispatchesPerStep({ ...SHAPES.tiny, ...change })).total, JSON.stringify(change)).toBe(base.total);
    }
    const b40 = (await dispatchesPerStep({ ...SHAPES.tiny, B: 40 })).total;
    const b300 = (await dispatchesPerStep({ ...SHAPES.tiny, B: 300 })).total;
    expect(b40).toBeGreaterThanOrEqual(base.total);
    expect(b300 - base.total).toBeLessThanOrEqual(4);
    expect(Math.max(b40, b300)).toBeLessThanOrEqual(CEILING);
  }, 300_000);
});
