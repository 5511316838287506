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

  test('history exclusion costs memory per excluded item, not a Q × N bitmap, and still excludes', async () => {
    const ctx = getCtx();
    const Q = 64;
    const d = 4;
    const N = 256 * 1024;
    const queries = ctx.tensor(randomArray(Q * d, 3), [Q, d]);
    const items = ctx.tensor(randomArray(N * d, 4), [N, d]);
    const plain = await topKInnerProduct(queries, items, 5);
    // Each query excludes its own best two items and one id past the end (ignored).
    const exclude = Array.from({ length: Q }, (_, q) => [plain.ids[q * 5], plain.ids[q * 5 + 1], N + 7]);
    const before = ctx.gpu.pool.stats().allocatedBytes;
    const excluded = await topKInnerProduct(queries, items, 5, { exclude });
    const grown = ctx.gpu.pool.stats().allocatedBytes - before;
    // A bitmap would be Q · N / 8 = 2 MiB; the pairs are Q · 2 · 8 bytes (1 KiB, one small pool buffer).
    expect(grown).toBeLessThanOrEqual(64 * 1024);
    for (let q = 0; q < Q; q++) {
      // The list is the plain list without the two excluded items, then the next best.
      expect(Array.from(excluded.ids.subarray(q * 5, q * 5 + 3))).toEqual(Array.from(plain.ids.subarray(q * 5 + 2, q * 5 + 5)));
      for (const id of exclude[q]) expect(Array.from(excluded.ids.subarray(q * 5, q * 5 + 5))).not.toContain(id);
    }
    queries.dispose();
    items.dispose();
  });
});
