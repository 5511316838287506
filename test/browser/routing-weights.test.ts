/**
 * The capsule view's routing weights (web/routing-weights.ts) are a float64 replay of the served
 * routing: its capsules must equal the capsules the GPU routing computes for the same history
 * with the serving draw (MindModel.routing without training draws), for several history lengths
 * (so several K_b), with and without dynamic K and for both softmax axes; and the weights must be
 * SPEC §1's masked softmax (each history item's weights sum to 1 over the active capsules when
 * the softmax runs over interests).
 */
import { describe, expect, test } from 'vitest';
import { resolveConfig } from '../../src/mind/config.js';
import { MindModel } from '../../src/mind/model.js';
import { maxRelativeError, useContext } from '../helpers/gpu.js';
import { RoutingReplayer } from '../../web/routing-weights.js';

const getCtx = useContext();
const NUM_ITEMS = 40;
const L = 12;

describe.each([
  { dynamicK: true, softmaxOver: 'interests' as const },
  { dynamicK: false, softmaxOver: 'interests' as const },
  { dynamicK: false, softmaxOver: 'behaviors' as const },
])('routing replay, dynamicK $dynamicK, softmax over $softmaxOver', ({ dynamicK, softmaxOver }) => {
  test('capsules equal the GPU routing of the same history; weights are the masked softmax', async () => {
    const ctx = getCtx();
    const config = resolveConfig({ dim: 8, kMax: 3, hiddenUnits: [8], dynamicK, softmaxOver, seed: 7 });
    const model = new MindModel(ctx, config, { numItems: NUM_ITEMS, numFeatureRows: 0, profileSpaces: [], profileDense: 0 });
    try {
      const replayer = await RoutingReplayer.create(model, L);
      const d = config.dim;
      for (const history of [[5], [3, 9, 17, 4], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], [30, 30, 2, 39, 8, 13, 21]]) {
        const len = history.length;
        const histories = new Int32Array(L);
        histories.set(history);
        const batch = { histories, lengths: Int32Array.of(len), profileCategorical: new Int32Array(0), profileDense: new Float32Array(0) };
        const { gpu, activeK, vectors } = await ctx.tidy(async () => {
          const routed = ctx.noGrad(() => model.routing(batch));
          return {
            gpu: (await routed.capsules.read()) as Float32Array,
            activeK: routed.activeK[0],
            vectors: (await ctx.noGrad(() => model.itemVectors(history)).read()) as Float32Array,
          };
        });
        const replay = replayer.replay(vectors);
        expect(replay.activeK, `history of ${len}`).toBe(activeK);
        const replayed = replay.capsules.flat();
        expect(maxRelativeError(gpu.subarray(0, activeK * d), replayed, 1e-3, 1e-5), `capsules, history of ${len}`).toBeLessThanOrEqual(1);
        expect(replay.weights).toHaveLength(activeK);
        for (const row of replay.weights) expect(row).toHaveLength(len);
        if (softmaxOver === 'interests') {
          for (let i = 0; i < len; i++) expect(replay.weights.reduce((sum, row) => sum + row[i], 0)).toBeCloseTo(1, 12);
        } else {
          for (const row of replay.weights) expect(row.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
        }
      }
      expect(() => replayer.replay(new Float32Array(d * (L + 1)))).toThrow(/historyVectors/);
    } finally {
      model.dispose();
    }
  });
});
