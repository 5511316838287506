/**
 * The interest extractors: ComiRec-SA and ComiRec-DR (compositions of the primitives) against
 * their float64 references, forward and gradient; the registry; every extractor inside the model.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, test } from 'vitest';
import { gradCheck } from '../../src/autograd/grad-check.js';
import { batchedMatmul } from '../../src/autograd/ops/matmul.js';
import { batches } from '../../src/data/batches.js';
import { Random } from '../../src/data/random.js';
import { createSampler } from '../../src/data/samplers.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { resolveConfig } from '../../src/mind/config.js';
import { dynamicRouting, mappedBehaviors } from '../../src/mind/extractors/comirec-dr.js';
import { selfAttention } from '../../src/mind/extractors/comirec-sa.js';
import { extractorNames, getExtractor } from '../../src/mind/extractors/registry.js';
import { MindModel, modelShapeOf } from '../../src/mind/model.js';
import * as ref from '../../src/reference/comirec.js';
import { maxRelativeError, randomArray, useContext } from '../helpers/gpu.js';

const getCtx = useContext();
const f64 = (a: Float32Array) => Float64Array.from(a);

describe('ComiRec-SA (self-attention as a composition)', () => {
  // L below, at and above one 256-wide workgroup; an empty and a full history among the rows.
  test.each([[3, 7], [2, 256], [2, 300]])('B = %i, L = %i: attention and interests against the float64 reference', async (B, L) => {
    const ctx = getCtx();
    const [d, da, K] = [8, 12, 3];
    const H = randomArray(B * L * d, L, -1, 1);
    const W1 = randomArray(da * d, 2, -0.5, 0.5);
    const W2 = randomArray(K * da, 3, -1, 1);
    const lengths = Int32Array.from({ length: B }, (_, b) => (b === 0 ? 0 : b === 1 ? L : Math.max(1, (L >> 1) + b)));
    const [attention, interests] = ctx.tidy(() => {
      const h = ctx.tensor(H, [B, L, d]);
      const a = selfAttention(h, ctx.tensor(lengths, [B]), ctx.tensor(W1, [da, d]), ctx.tensor(W2, [K, da]));
      return [a, batchedMatmul(a, h)];
    });
    const want = ref.comirecSa(f64(H), f64(W1), f64(W2), lengths, B, L, d, da, K);
    expect(maxRelativeError(await attention.read(), want.attention, 1e-4, 1e-6)).toBeLessThanOrEqual(1);
    expect(maxRelativeError(await interests.read(), want.interests, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
    attention.dispose();
    interests.dispose();
  });

  test('gradients of the history, W1 and W2', async () => {
    const [B, L, d, da, K] = [3, 5, 4, 6, 2];
    const lengths = Int32Array.of(5, 2, 0);
    const result = await gradCheck({
      ctx: getCtx(),
      inputs: [
        { data: randomArray(B * L * d, 30), shape: [B, L, d], check: true },
        { data: randomArray(da * d, 31, -0.7, 0.7), shape: [da, d], check: true },
        { data: randomArray(K * da, 32), shape: [K, da], check: true },
        { data: lengths, shape: [B] },
      ],
      gpu: ([h, w1, w2, lens]) => batchedMatmul(selfAttention(h, lens, w1, w2), h),
      reference: ([h, w1, w2]) => ref.comirecSa(h, w1, w2, lengths, B, L, d, da, K).interests,
    });
    for (const err of result.maxError) expect(err).toBeLessThan(2e-3);
  });
});

describe('ComiRec-DR (dynamic routing as a composition)', () => {
  test.each([[3, 6, 1], [2, 9, 3], [2, 257, 3]])('B = %i, L = %i, %i iterations: interests against the float64 reference', async (B, L, R) => {
    const ctx = getCtx();
    const [d, K] = [4, 3];
    const E = randomArray(B * L * d, L + R, -1, 1);
    const W = randomArray(L * d * K * d, L * 7, -0.8, 0.8);
    const lengths = Int32Array.from({ length: B }, (_, b) => (b === 0 ? 0 : b === 1 ? L : 2));
    const out = ctx.tidy(() => dynamicRouting(ctx, mappedBehaviors(ctx.tensor(E, [B, L, d]), ctx.tensor(W, [L, d, K * d]), K), lengths, K, R));
    expect(out.shape).toEqual([B, K, d]);
    const got = await out.read();
    out.dispose();
    expect(maxRelativeError(got, ref.comirecDr(f64(E), f64(W), lengths, B, L, d, K, R), 1e-4, 1e-5)).toBeLessThanOrEqual(1);
    // An empty history: zero interests (not NaN).
    expect(Array.from(got.subarray(0, K * d))).toEqual(new Array(K * d).fill(0));
  });

  test('gradients of the history and the maps, the routing weights held at their value (stop gradient)', async () => {
    const [B, L, d, K, R] = [2, 4, 3, 2, 3];
    const lengths = Int32Array.of(4, 3);
    const E0 = randomArray(B * L * d, 40);
    const W0 = randomArray(L * d * K * d, 41, -0.8, 0.8);
    // The implementation's gradient treats the weights of the last round as constants (the
    // logit updates see no gradient), so the finite differences perturb only the final sum.
    const frozen = ref.comirecDrWeights(ref.comirecDrMapped(f64(E0), f64(W0), B, L, d, K), lengths, B, L, d, K, R);
    const result = await gradCheck({
      ctx: getCtx(),
      inputs: [
        { data: E0, shape: [B, L, d], check: true },
        { data: W0, shape: [L, d, K * d], check: true },
      ],
      gpu: ([e, w]) => dynamicRouting(getCtx(), mappedBehaviors(e, w, K), lengths, K, R),
      reference: ([e, w]) => ref.comirecDrCapsules(ref.comirecDrMapped(e, w, B, L, d, K), frozen, B, L, d, K),
    });
    for (const err of result.maxError) expect(err).toBeLessThan(2e-3);
  });
});

describe('the extractor registry inside the model', () => {
  const dataset = generateSynthetic({ seed: 3, numItems: 120, numCategories: 6, numUsers: 80, minSequenceLength: 4, maxSequenceLength: 14, maxLength: 8 });
  const small = { dim: 8, kMax: 3, hiddenUnits: [8], profileDim: 4, numSampled: 16, learningRate: 0.01, seed: 5 };

  test('names, lookups and errors', () => {
    expect(extractorNames()).toEqual(['mind', 'meanPool', 'comirec-sa', 'comirec-dr']);
    expect(getExtractor('comirec-sa').name).toBe('comirec-sa');
    expect(() => getExtractor('sasrec')).toThrow(/extractor must be one of mind, meanPool, comirec-sa, comirec-dr, got "sasrec"/);
    expect(() => resolveConfig({ extractor: 'nope' })).toThrow(/extractor must be one of .*got "nope"/);
  });

  test("the web demo's extractor menu offers exactly the registry's extractors", () => {
    const html = readFileSync(resolve(import.meta.dirname, '../../web/index.html'), 'utf8');
    const select = html.match(/<select name="extractor">([\s\S]*?)<\/select>/);
    expect(select).not.toBeNull();
    expect([...select![1].matchAll(/<option value="([^"]+)"/g)].map((m) => m[1])).toEqual(extractorNames());
  });

  test('configurations written before the registry: encoder routing/meanPool read as the extractor', () => {
    expect(resolveConfig({ encoder: 'routing' }).extractor).toBe('mind');
    expect(resolveConfig({ encoder: 'meanPool' }).extractor).toBe('meanPool');
    expect('encoder' in resolveConfig({ encoder: 'meanPool' })).toBe(false);
    expect(() => resolveConfig({ encoder: 'attention' })).toThrow(/encoder must be one of routing, meanPool .*got "attention"/);
    expect(() => resolveConfig({ encoder: 'routing', extractor: 'comirec-sa' })).toThrow(/contradicts extractor "comirec-sa"/);
  });

  test.each([
    ['mind', true, 4],
    ['mind', false, 3],
    ['meanPool', true, 1],
    ['comirec-sa', false, 3],
    ['comirec-sa', true, 4],
    ['comirec-dr', false, 3],
  ] as const)('%s (global interest %s): K = %i, interests finite, loss gradients reach every parameter', async (extractor, globalInterest, K) => {
    const ctx = getCtx();
    const config = resolveConfig({ ...small, extractor, globalInterest });
    const model = new MindModel(ctx, config, modelShapeOf(dataset), dataset.itemFeatures);
    try {
      expect(model.numInterests).toBe(K);
      const batch = batches(dataset, { batchSize: 16, seed: 1, epoch: 1 }).next().value!;
      const sampler = createSampler(config.sampler, { numItems: dataset.numItems, counts: dataset.itemCounts });
      const negatives = sampler.sample(config.numSampled, new Random(1));
      const { interests, activeK } = ctx.tidy(() => ctx.noGrad(() => model.userInterests(batch)));
      expect(interests.shape).toEqual([16, K, 8]);
      const values = await interests.read();
      interests.dispose();
      expect(values.every(Number.isFinite)).toBe(true);
      for (const k of activeK) expect(k).toBeGreaterThanOrEqual(1);
      await ctx.tidy(async () => {
        const loss = model.loss(batch, { negatives, logExpectedCount: (ids) => sampler.logExpectedCount(ids, config.numSampled) }, 0);
        expect(Number.isFinite((await loss.read())[0])).toBe(true);
        await loss.backward();
        for (const [name, p] of model.params) {
          if (name === 'profile_embedding') continue;
          expect(p.grad, name).toBeTruthy();
        }
      });
    } finally {
      for (const p of model.params.values()) p.grad = null;
      model.dispose();
    }
  });
});
