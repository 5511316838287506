/** The MIND model and trainer on a tiny synthetic data set: shapes, masking, gradients, engine rules, determinism. */
import { describe, expect, test } from 'vitest';
import { batches } from '../../src/data/batches.js';
import { Random } from '../../src/data/random.js';
import { createSampler } from '../../src/data/samplers.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { RowGrad } from '../../src/autograd/tensor.js';
import { resolveConfig } from '../../src/mind/config.js';
import { MindModel, modelShapeOf, stepDraws } from '../../src/mind/model.js';
import * as candRef from '../../src/reference/candidate-softmax.js';
import * as maxRef from '../../src/reference/interest-max.js';
import { Adam } from '../../src/train/adam.js';
import { snapshotWeights } from '../../src/train/trainer.js';
import { train } from '../../src/train/trainer.js';
import { useContext } from '../helpers/gpu.js';

const dataset = generateSynthetic({ seed: 3, numItems: 120, numCategories: 6, numUsers: 80, minSequenceLength: 4, maxSequenceLength: 14, maxLength: 8 });
const small = { dim: 8, kMax: 4, hiddenUnits: [8], profileDim: 4, numSampled: 16, learningRate: 0.01, seed: 5 };

function firstBatch(size: number) {
  return batches(dataset, { batchSize: size, seed: 1, epoch: 1 }).next().value!;
}

function candidates(config: ReturnType<typeof resolveConfig>) {
  const sampler = createSampler(config.sampler, { numItems: dataset.numItems, counts: dataset.itemCounts });
  return {
    negatives: sampler.sample(config.numSampled, new Random(1)),
    logExpectedCount: (ids: Int32Array) => sampler.logExpectedCount(ids, config.numSampled),
  };
}

describe('MIND model', () => {
  const getCtx = useContext();

  test.each([
    ['routing', false],
    ['routing', true],
    ['meanPool', false],
  ] as const)('%s (global interest %s): interests are [B, K, d], inactive ones exact zeros, finite', async (encoder, globalInterest) => {
    const ctx = getCtx();
    const config = resolveConfig({ ...small, encoder, globalInterest });
    const model = new MindModel(ctx, config, modelShapeOf(dataset), dataset.itemFeatures);
    const batch = firstBatch(12);
    await ctx.tidy(async () => {
      const { interests, activeK } = ctx.noGrad(() => model.userInterests(batch));
      const K = model.numInterests;
      expect(K).toBe(encoder === 'meanPool' ? 1 : globalInterest ? 5 : 4);
      expect(interests.shape).toEqual([12, K, 8]);
      const v = (await interests.read()) as Float32Array;
      expect(v.every(Number.isFinite)).toBe(true);
      for (let b = 0; b < 12; b++) {
        const routed = Math.max(1, Math.min(4, Math.floor(Math.log2(batch.lengths[b]))));
        const expectedK = encoder === 'routing' ? routed + (globalInterest ? 1 : 0) : 1;
        expect(activeK[b]).toBe(expectedK);
        for (let j = 0; j < K; j++) {
          const row = v.subarray((b * K + j) * 8, (b * K + j + 1) * 8);
          if (j >= activeK[b]) expect(row.every((x) => x === 0)).toBe(true);
          else expect(row.some((x) => x !== 0)).toBe(true);
        }
      }
    });
    model.dispose();
  });

  test('every parameter gets a gradient; embeddings get row gradients; one step is one submit', async () => {
    const ctx = getCtx();
    const config = resolveConfig(small);
    const model = new MindModel(ctx, config, modelShapeOf(dataset), dataset.itemFeatures);
    const params = [...model.params.values()];
    const adam = new Adam(ctx, params, { lr: 0.01 });
    const batch = firstBatch(16);
    await ctx.sync();
    const before = ctx.gpu.stats.submits;
    await ctx.tidy(async () => {
      const loss = model.loss(batch, candidates(config), 0);
      await loss.backward();
      for (const [name, p] of model.params) {
        expect(p.grad, name).not.toBeNull();
        if (name.endsWith('embedding')) expect(p.grad, name).toBeInstanceOf(RowGrad);
      }
      adam.step();
      ctx.submit();
    });
    expect(ctx.gpu.stats.submits - before).toBe(1);
    adam.dispose();
    model.dispose();
  });

  test('training is deterministic for a seed and the loss falls', async () => {
    const ctx = getCtx();
    const run = () => train(ctx, dataset, small, { epochs: 3, batchSize: 32, logEvery: 5, validate: false });
    const a = await run();
    const b = await run();
    expect(a.losses.length).toBeGreaterThan(3);
    expect(b.losses).toEqual(a.losses);
    for (const [name, w] of a.bestWeights) expect(Array.from(b.bestWeights.get(name)!), name).toEqual(Array.from(w));
    const first = a.losses[0].loss;
    const last = a.losses[a.losses.length - 1].loss;
    expect(last).toBeLessThan(first);
    a.model.dispose();
    b.model.dispose();
  });

  test.each([false, true])('maxInterest loss (globalInterest %s) equals its float64 composition from the model\'s own interests and item vectors', async (globalInterest) => {
    const ctx = getCtx();
    const config = resolveConfig({ ...small, candidateScore: 'maxInterest', globalInterest, hardNegativeBeta: 0.5 });
    const model = new MindModel(ctx, config, modelShapeOf(dataset), dataset.itemFeatures);
    const batch = firstBatch(10);
    const cands = candidates(config);
    const step = 3;
    await ctx.tidy(async () => {
      const loss = (await ctx.noGrad(() => model.loss(batch, cands, step)).read())[0];
      // The same per-sample draws the loss makes for this step (model.loss's seeding).
      const { interests, activeK } = ctx.noGrad(() => model.userInterests(batch, stepDraws(config.seed, step)));
      const K = model.numInterests;
      expect(K).toBe(globalInterest ? 5 : 4);
      const unique = Int32Array.from(new Set([...batch.targets, ...cands.negatives])).sort();
      const column = (id: number) => unique.indexOf(id);
      const V = await interests.read();
      const E = await ctx.noGrad(() => model.itemVectors(unique)).read();
      const [B, C, d] = [10, unique.length, 8];
      const scores = new Float64Array(B * K * C);
      for (let q = 0; q < B * K; q++) {
        for (let c = 0; c < C; c++) {
          let dot = 0;
          for (let k = 0; k < d; k++) dot += V[q * d + k] * E[c * d + k];
          scores[q * C + c] = dot;
        }
      }
      const expected = candRef.candidateSoftmaxLoss(
        maxRef.interestMax(scores, B, K, C, activeK).out,
        B,
        C,
        Array.from(batch.targets, column),
        Array.from(cands.negatives, column),
        { logQ: cands.logExpectedCount(unique), hardNegativeBeta: 0.5 },
      );
      expect(Math.abs(loss - expected)).toBeLessThan(1e-4 * Math.abs(expected));
    });
    model.dispose();
  });

  test('the global interest is interest 0, the mean-pooling user vector of the same weights, and counts as active', async () => {
    const ctx = getCtx();
    const config = resolveConfig({ ...small, globalInterest: true });
    const model = new MindModel(ctx, config, modelShapeOf(dataset), dataset.itemFeatures);
    const weights = await snapshotWeights(model);
    weights.delete('routing.bilinear');
    const pooled = new MindModel(ctx, resolveConfig({ ...small, encoder: 'meanPool' }), modelShapeOf(dataset), dataset.itemFeatures, weights);
    const batch = firstBatch(12);
    await ctx.tidy(async () => {
      const withGlobal = ctx.noGrad(() => model.userInterests(batch));
      const single = ctx.noGrad(() => pooled.userInterests(batch));
      const V = await withGlobal.interests.read();
      const U = await single.interests.read();
      for (let b = 0; b < 12; b++) {
        expect(withGlobal.activeK[b]).toBe(1 + Math.max(1, Math.min(4, Math.floor(Math.log2(batch.lengths[b])))));
        expect(Array.from(V.subarray(b * 5 * 8, b * 5 * 8 + 8))).toEqual(Array.from(U.subarray(b * 8, b * 8 + 8)));
      }
    });
    pooled.dispose();
    model.dispose();
  });
});
