/**
 * Exact top-k over a catalogue scored in blocks keeps one block's buffers on the device, not one
 * per block (issue 14: evaluation's device memory must not grow by Q × N scores with the
 * catalogue). Measured with the buffer pool's byte count around one call.
 */
import { describe, expect, test } from 'vitest';
import { topKInnerProduct } from '../../src/serve/topk.js';
import { randomArray, useContext } from '../helpers/gpu.js';

const getCtx = useContext();

describe('top-k device memory', () => {
  test('12 score blocks use about the memory of one, and give the unblocked result', async () => {
    const ctx = getCtx();
    const Q = 64;
    const d = 4;
    const blockRows = 256;
    const blocks = 12;
    const N = blocks * blockRows;
    const queries = ctx.tensor(randomArray(Q * d, 1), [Q, d]);
    const items = ctx.tensor(randomArray(N * d, 2), [N, d]);
    const whole = await topKInnerProduct(queries, items, 3);
    const before = ctx.gpu.pool.stats().allocatedBytes;
    const blocked = await topKInnerProduct(queries, items, 3, { blockRows });
    const grown = ctx.gpu.pool.stats().allocatedBytes - before;
    // One block's scores are Q · blockRows f32 = 64 KiB; all 12 kept alive would be 768 KiB.
    const blockBytes = Q * blockRows * 4;
    expect(grown).toBeLessThanOrEqual(4 * blockBytes);
    expect(Array.from(blocked.ids)).toEqual(Array.from(whole.ids));
    expect(Array.from(blocked.scores)).toEqual(Array.from(whole.scores));
    queries.dispose();
    items.dispose();
  });
});
