/**
 * The model's wiring (SPEC §4) checked value by value against a float64 composition written here
 * from the SPEC alone: item vectors with side features of several fields, the user profile
 * (two categorical spaces at their offsets, dense values), routing with the serving and the
 * training draws, the global interest, the per-interest DNN, the active-interest masks, and the
 * training loss through label-aware attention (with each sample's K_b) and the sampled softmax
 * with the logQ of the sampler that drew the negatives.
 */
import { describe, expect, test } from 'vitest';
import { createSampler, MindModel, Random, resolveConfig, snapshotWeights, train, modelShapeOf, type ItemFeatures, type MindConfig, type ModelShape, type UserBatch } from '../../src/index.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { batches } from '../../src/data/batches.js';
import { candidateSoftmaxLoss as candidateSoftmaxRef } from '../../src/reference/candidate-softmax.js';
import { labelAwareAttention as attentionRef } from '../../src/reference/label-attention.js';
import { dropoutMaskReference } from '../../src/reference/dropout.js';
import { initialLogitsReference } from '../../src/reference/rng.js';
import { routingForwardReference } from '../../src/reference/routing.js';
import { sampledSoftmaxLoss as sampledSoftmaxRef } from '../../src/reference/sampled-softmax.js';
import { maxRelativeError, useContext } from '../helpers/gpu.js';

const NUM_ITEMS = 12;
/** Three item fields: 'genre' (rows 0..3), 'studio' (rows 4..6) and 'decade' (rows 7..8). */
const FIELDS = [
  { name: 'genre', size: 4, offset: 0, values: ['a', 'b', 'c', 'd'] },
  { name: 'studio', size: 3, offset: 4, values: ['x', 'y', 'z'] },
  { name: 'decade', size: 2, offset: 7, values: ['80s', '90s'] },
];
/** Each item's feature rows (global rows of the feature table), by field; item 0 is padding. */
const ITEM_BAGS: number[][][] = [
  [],
  [[0], [4], [7]],
  [[1, 2, 3], [], []],
  [[], [6], [8]],
  [[], [], []],
  [[0, 3], [5], []],
  [[2], [], [7, 8]],
  [[1], [4], []],
  [[0, 1, 2, 3], [6], [8]],
  [[3], [5], []],
  [[], [], [7]],
  [[2, 0], [4], []],
];

function itemFeatures(): ItemFeatures {
  const offsets = new Int32Array(NUM_ITEMS + 1);
  const values: number[] = [];
  ITEM_BAGS.forEach((fields, item) => {
    for (const rows of fields) values.push(...rows);
    offsets[item + 1] = values.length;
  });
  return { spaces: FIELDS, numRows: 9, offsets, values: Int32Array.from(values) };
}

const SHAPE: ModelShape = { numItems: NUM_ITEMS, numFeatureRows: 9, profileSpaces: [3, 5], profileDense: 2 };

/** Six users, L = 7: lengths 1 (K_b 1), 2, 3, 4 (K_b 2), 7, and a full window with repeats. */
const L = 7;
const HISTORIES = [[5], [2, 8], [1, 3, 11], [4, 6, 9, 10], [1, 2, 3, 5, 7, 8, 9], [8, 8, 2, 11, 11, 6, 5]];
function userBatch(): UserBatch {
  const B = HISTORIES.length;
  const histories = new Int32Array(B * L);
  HISTORIES.forEach((h, b) => histories.set(h, b * L));
  return {
    histories,
    lengths: Int32Array.from(HISTORIES, (h) => h.length),
    // Space 0 has 3 values, space 1 has 5: the last ids of each reach the end of its block.
    profileCategorical: Int32Array.from([0, 4, 1, 0, 2, 3, 1, 1, 2, 4, 0, 2]),
    profileDense: Float32Array.from([0.5, -1, 2, 0.25, -0.75, 1.5, 0, 0, 1, 1, -2, 0.5]),
  };
}

/** SPEC §4 item vector, computed from the item and feature rows of the table. */
function itemVector(W: Float32Array, d: number, item: number): Float64Array {
  const out = new Float64Array(d);
  if (item === 0) return out;
  const fields = ITEM_BAGS[item].filter((rows) => rows.length > 0);
  const add = (row: number, w: number) => {
    for (let c = 0; c < d; c++) out[c] += w * W[row * d + c];
  };
  add(item, 1 / (fields.length + 1));
  for (const rows of fields) for (const r of rows) add(NUM_ITEMS + r, 1 / ((fields.length + 1) * rows.length));
  return out;
}

/** Every item's vector `[NUM_ITEMS, d]` (itemVector) and the rows of `targets` `[B, d]`, float64. */
function itemVectorsFor(W: Float32Array, d: number, targets: Int32Array): { table: Float64Array; targetVectors: Float64Array } {
  const table = new Float64Array(NUM_ITEMS * d);
  for (let i = 0; i < NUM_ITEMS; i++) table.set(itemVector(W, d, i), i * d);
  const targetVectors = new Float64Array(targets.length * d);
  targets.forEach((t, b) => targetVectors.set(table.subarray(t * d, (t + 1) * d), b * d));
  return { table, targetVectors };
}

/**
 * The whole user tower in float64. `dropout` gives, per hidden layer, the keep mask over all
 * `[B·K, units]` rows (inactive interests included) and the keep probability.
 */
function userTowerReference(config: MindConfig, weights: Map<string, Float32Array>, batch: UserBatch, draw: { seed: number; kind: 'shared' | 'perSample' }, dropout?: { masks: Float32Array[]; keep: number }, shape: ModelShape = SHAPE) {
  const d = config.dim;
  const B = batch.lengths.length;
  const W = weights.get('item_embedding')!;
  const E = new Float64Array(B * L * d);
  for (let b = 0; b < B; b++) for (let i = 0; i < L; i++) E.set(itemVector(W, d, batch.histories[b * L + i]), (b * L + i) * d);
  const kMax = config.kMax;
  const capsules = routingForwardReference({
    E, lengths: batch.lengths, S: weights.get('routing.bilinear')!,
    b0: initialLogitsReference({ seed: draw.seed, B, K: kMax, L, initStd: config.initStd, draw: draw.kind }),
    B, L, dIn: d, d, kMax, iterations: config.iterations, softmaxOver: config.softmaxOver, dynamicK: config.dynamicK,
  });
  const K = kMax + (config.globalInterest ? 1 : 0);
  const routed = (len: number) => (config.dynamicK ? Math.max(1, Math.min(kMax, Math.floor(Math.log2(len)))) : kMax);
  const activeK = Array.from(batch.lengths, (len) => routed(len) + (config.globalInterest ? 1 : 0));
  // Interest rows before the DNN: [global mean;] capsules.
  const pooled: Float64Array[] = [];
  for (let b = 0; b < B; b++) {
    if (config.globalInterest) {
      const mean = new Float64Array(d);
      const len = batch.lengths[b];
      for (let i = 0; i < len; i++) for (let c = 0; c < d; c++) mean[c] += E[(b * L + i) * d + c] / len;
      pooled.push(mean);
    }
    for (let j = 0; j < kMax; j++) pooled.push(capsules.slice((b * kMax + j) * d, (b * kMax + j + 1) * d));
  }
  // p_u: each categorical value's embedding row (space c at the sum of the earlier spaces' sizes), then the dense values.
  const P = weights.get('profile_embedding')!;
  const pd = config.profileDim;
  const profile = (b: number) => {
    const out: number[] = [];
    let offset = 0;
    shape.profileSpaces.forEach((size, c) => {
      const row = offset + batch.profileCategorical[b * shape.profileSpaces.length + c];
      out.push(...P.subarray(row * pd, (row + 1) * pd));
      offset += size;
    });
    out.push(...batch.profileDense.subarray(b * shape.profileDense, (b + 1) * shape.profileDense));
    return out;
  };
  const layers = config.hiddenUnits.length + 1;
  const out = new Float64Array(B * K * d);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < activeK[b]; j++) {
      let x = [...pooled[b * K + j], ...profile(b)];
      for (let layer = 0; layer < layers; layer++) {
        const w = weights.get(`dnn.${layer}.weight`)!;
        const bias = weights.get(`dnn.${layer}.bias`)!;
        const units = bias.length;
        const y = Array.from(bias, Number);
        for (let r = 0; r < x.length; r++) for (let u = 0; u < units; u++) y[u] += x[r] * w[r * units + u];
        x = layer < layers - 1 && config.activation === 'relu' ? y.map((v) => Math.max(0, v)) : y;
        if (dropout && layer < layers - 1) x = x.map((v, u) => (v * dropout.masks[layer][(b * K + j) * units + u]) / dropout.keep);
      }
      out.set(x, (b * K + j) * d);
    }
  }
  return { interests: out, activeK, K };
}

/** Weights made less symmetric than the initialisation: zero DNN biases would hide a bias that is skipped. */
function perturbed(weights: Map<string, Float32Array>, seed: number): Map<string, Float32Array> {
  const rng = new Random(seed);
  return new Map([...weights].map(([name, w]) => [name, Float32Array.from(w, (v) => v + 0.3 * (rng.next() - 0.5))]));
}

describe('model wiring against a float64 composition of SPEC §4', () => {
  const getCtx = useContext();
  const base = { dim: 8, kMax: 3, hiddenUnits: [6], profileDim: 3, numSampled: 10, seed: 7 };

  async function modelWithWeights(partial: Partial<MindConfig>, shape: ModelShape = SHAPE) {
    const ctx = getCtx();
    const config = resolveConfig({ ...base, ...partial });
    const init = new MindModel(ctx, config, shape, itemFeatures());
    const weights = perturbed(await snapshotWeights(init), 11);
    init.dispose();
    return { ctx, config, weights, model: new MindModel(ctx, config, shape, itemFeatures(), weights) };
  }

  test('item vectors: each item\'s own row and the mean of each field\'s values, averaged (SPEC §4)', async () => {
    const { ctx, config, weights, model } = await modelWithWeights({});
    const ids = Int32Array.from({ length: NUM_ITEMS }, (_, i) => i);
    const got = await ctx.tidy(() => ctx.noGrad(() => model.itemVectors(ids)).read());
    const expected = new Float64Array(NUM_ITEMS * config.dim);
    ids.forEach((id) => expected.set(itemVector(weights.get('item_embedding')!, config.dim, id), id * config.dim));
    expect(maxRelativeError(got, expected, 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    model.dispose();
  });

  test.each([
    ['routing, global interest, dynamic K', {}],
    ['routing without global interest, softmax over behaviours', { globalInterest: false, softmaxOver: 'behaviors' as const }],
    ['routing with fixed K, linear DNN of two hidden layers', { dynamicK: false, activation: 'linear' as const, hiddenUnits: [5, 4] }],
  ])('serving interests (%s) equal the float64 tower, value by value', async (_name, partial) => {
    const { ctx, config, weights, model } = await modelWithWeights(partial);
    const batch = userBatch();
    const { interests, activeK } = await ctx.tidy(async () => {
      const out = ctx.noGrad(() => model.userInterests(batch));
      return { interests: await out.interests.read(), activeK: out.activeK };
    });
    const ref = userTowerReference(config, weights, batch, { seed: config.seed, kind: 'shared' });
    expect(Array.from(activeK)).toEqual(config.dynamicK ? ref.activeK : HISTORIES.map(() => config.kMax + (config.globalInterest ? 1 : 0)));
    expect(maxRelativeError(interests, ref.interests, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
    model.dispose();
  });

  test('a model without user profile features: the DNN reads the interests alone', async () => {
    const noProfile: ModelShape = { ...SHAPE, profileSpaces: [], profileDense: 0 };
    const { ctx, config, weights, model } = await modelWithWeights({}, noProfile);
    expect(weights.has('profile_embedding')).toBe(false);
    // The first layer's input is the interest alone: d rows.
    expect(weights.get('dnn.0.weight')!.length).toBe(config.dim * config.hiddenUnits[0]);
    const batch = { ...userBatch(), profileCategorical: new Int32Array(0), profileDense: new Float32Array(0) };
    const { interests, activeK } = await ctx.tidy(async () => {
      const out = ctx.noGrad(() => model.userInterests(batch));
      return { interests: await out.interests.read(), activeK: out.activeK };
    });
    const ref = userTowerReference(config, weights, batch, { seed: config.seed, kind: 'shared' }, undefined, noProfile);
    expect(Array.from(activeK)).toEqual(ref.activeK);
    expect(maxRelativeError(interests, ref.interests, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
    model.dispose();
  });

  test('a batch of no users: interests [0, K, d] and no active counts, for serving and for training draws', async () => {
    const { ctx, config, model } = await modelWithWeights({});
    const empty: UserBatch = { histories: new Int32Array(0), lengths: new Int32Array(0), profileCategorical: new Int32Array(0), profileDense: new Float32Array(0) };
    for (const training of [undefined, { seed: 5 }]) {
      const out = await ctx.tidy(async () => {
        const { interests, activeK } = ctx.noGrad(() => model.userInterests(empty, training));
        return { shape: interests.shape, values: await interests.read(), activeK };
      });
      expect(out.shape).toEqual([0, config.kMax + 1, config.dim]);
      expect(out.values.length).toBe(0);
      expect(out.activeK.length).toBe(0);
    }
    model.dispose();
  });

  test('training loss with REMI hard negatives through label-aware attention equals the float64 candidate softmax over user·item logits', async () => {
    const beta = 1.5;
    const { ctx, config, weights, model } = await modelWithWeights({ candidateScore: 'labelAware', hardNegativeBeta: beta, attentionPower: 2 });
    const batch = { ...userBatch(), targets: Int32Array.from([3, 9, 2, 11, 10, 1]) };
    const negatives = Int32Array.from([4, 9, 7, 4, 1, 6, 5]); // 9 and 1 are accidental hits for some rows; 4 is drawn twice
    const logExpected = (id: number) => Math.log(0.2 + 0.05 * id);
    const candidates = { negatives, logExpectedCount: (ids: Int32Array) => Float32Array.from(ids, logExpected) };
    const step = 3;
    const got = await ctx.tidy(async () => (await ctx.noGrad(() => model.loss(batch, candidates, step)).read())[0]);

    const seed = new Random(config.seed).fork('step').fork(step).uint32();
    const tower = userTowerReference(config, weights, batch, { seed, kind: 'perSample' });
    const d = config.dim;
    const B = batch.targets.length;
    const { table, targetVectors } = itemVectorsFor(weights.get('item_embedding')!, d, batch.targets);
    const user = attentionRef(tower.interests, targetVectors, { B, K: tower.K, d }, { p: 2, mode: 'pow', activeK: tower.activeK });
    // Candidate columns: every item id (the loss is the same over any set of columns holding the
    // targets and the negatives: a column neither label nor negative never enters it).
    const logits = new Float64Array(B * NUM_ITEMS);
    for (let b = 0; b < B; b++) for (let i = 0; i < NUM_ITEMS; i++) for (let c = 0; c < d; c++) logits[b * NUM_ITEMS + i] += user[b * d + c] * table[i * d + c];
    const logQ = Float64Array.from({ length: NUM_ITEMS }, (_, i) => logExpected(i));
    const expected = candidateSoftmaxRef(logits, B, NUM_ITEMS, batch.targets, negatives, { logQ, hardNegativeBeta: beta });
    expect(Math.abs(got - expected)).toBeLessThan(1e-4 * Math.abs(expected) + 1e-5);
    // The hard-negative weights matter here: without them the loss is another value.
    const plain = candidateSoftmaxRef(logits, B, NUM_ITEMS, batch.targets, negatives, { logQ });
    expect(Math.abs(plain - expected)).toBeGreaterThan(1e-2);
    model.dispose();
  });

  test('training loss (label-aware attention, sampled softmax) equals its float64 composition, with each sample\'s K_b and the sampler\'s logQ', async () => {
    const { ctx, config, weights, model } = await modelWithWeights({ candidateScore: 'labelAware', attentionPower: 2, sampler: 'unigram', samplerAlpha: 0.5 });
    const batch = { ...userBatch(), targets: Int32Array.from([3, 9, 2, 11, 10, 1]) };
    const counts = Float64Array.from({ length: NUM_ITEMS }, (_, i) => (i === 0 ? 0 : 1 + ((i * 7) % 5)));
    const sampler = createSampler('unigram', { numItems: NUM_ITEMS, counts, alpha: 0.5 });
    const negatives = Int32Array.from([4, 9, 7, 4, 1, 6, 5, 8, 2, 10]); // 9 and 2 and 1 are accidental hits for some rows
    const candidates = { negatives, logExpectedCount: (ids: Int32Array) => sampler.logExpectedCount(ids, negatives.length) };
    const step = 4;
    const got = await ctx.tidy(async () => (await ctx.noGrad(() => model.loss(batch, candidates, step)).read())[0]);

    // The routing seed of the step, as MindModel.loss documents it.
    const seed = new Random(config.seed).fork('step').fork(step).uint32();
    const tower = userTowerReference(config, weights, batch, { seed, kind: 'perSample' });
    const d = config.dim;
    const { table, targetVectors } = itemVectorsFor(weights.get('item_embedding')!, d, batch.targets);
    const user = attentionRef(tower.interests, targetVectors, { B: batch.targets.length, K: tower.K, d }, { p: 2, mode: 'pow', activeK: tower.activeK });
    const logQ = Float64Array.from({ length: NUM_ITEMS }, (_, i) => (i === 0 ? 0 : Math.log(negatives.length * sampler.probability(i))));
    const expected = sampledSoftmaxRef({ user, itemTable: table, labels: batch.targets, negatives, d, logQ });
    expect(Math.abs(got - expected)).toBeLessThan(1e-4 * Math.abs(expected) + 1e-5);
    model.dispose();
  });

  test('train() gives the loss the logQ of the sampler that drew its negatives (unigram, not the default log-uniform)', async () => {
    const ctx = getCtx();
    const dataset = generateSynthetic({ seed: 4, numItems: 60, numCategories: 6, numUsers: 40, minSequenceLength: 4, maxSequenceLength: 10, maxLength: 6 });
    const partial = { dim: 8, kMax: 2, hiddenUnits: [8], profileDim: 4, numSampled: 12, seed: 3, sampler: 'unigram' as const, samplerAlpha: 0.3 };
    const run = await train(ctx, dataset, partial, { epochs: 1, batchSize: 16, logEvery: 1, maxSteps: 1, validate: false });
    run.model.dispose();
    expect(run.losses.map((l) => l.step)).toEqual([1]);

    // Step 0 by hand: the initial weights (same seed), the first batch, the negatives the trainer
    // documents (a fork of config.seed by step) and the unigram sampler's own logQ.
    const config = resolveConfig(partial);
    const model = new MindModel(ctx, config, modelShapeOf(dataset), dataset.itemFeatures);
    const sampler = createSampler('unigram', { numItems: dataset.numItems, counts: dataset.itemCounts, alpha: 0.3 });
    const negatives = sampler.sample(12, new Random(config.seed).fork('negatives').fork(0));
    const batch = batches(dataset, { batchSize: 16, seed: config.seed, epoch: 1 }).next().value!;
    const expected = await ctx.tidy(async () => (await ctx.noGrad(() => model.loss(batch, { negatives, logExpectedCount: (ids) => sampler.logExpectedCount(ids, 12) }, 0)).read())[0]);
    model.dispose();
    expect(Math.abs(run.losses[0].loss - expected)).toBeLessThan(1e-6 * Math.abs(expected));
  });

  test('training loss with dropout: each hidden activation kept by the step\'s dropout draw and scaled by 1/keep', async () => {
    const { ctx, config, weights, model } = await modelWithWeights({ candidateScore: 'labelAware', dropout: 0.4, hiddenUnits: [6, 5] });
    const batch = { ...userBatch(), targets: Int32Array.from([3, 9, 2, 11, 10, 1]) };
    const negatives = Int32Array.from([4, 9, 7, 1, 6]);
    const candidates = { negatives, logExpectedCount: (ids: Int32Array) => new Float32Array(ids.length).fill(Math.log(0.5)) };
    const step = 3;
    const got = await ctx.tidy(async () => (await ctx.noGrad(() => model.loss(batch, candidates, step)).read())[0]);

    // MindModel.loss's draws for the step (stepDraws): the routing seed, then a 53-bit dropout
    // seed from the 'dropout' fork; each hidden layer's mask over every [B·K] row is the Philox
    // draw of that seed with the layer's index as the stream.
    const rng = new Random(config.seed).fork('step').fork(step);
    const seed = rng.uint32();
    const drops = rng.fork('dropout');
    const dropoutSeed = (drops.uint32() % 2 ** 21) * 2 ** 32 + drops.uint32();
    const rows = batch.lengths.length * (config.kMax + 1);
    const masks = config.hiddenUnits.map((units, layer) => Float32Array.from(dropoutMaskReference({ n: rows * units, rate: 0.4, seed: dropoutSeed, stream: layer })));
    const tower = userTowerReference(config, weights, batch, { seed, kind: 'perSample' }, { masks, keep: 0.6 });
    const d = config.dim;
    const { table, targetVectors } = itemVectorsFor(weights.get('item_embedding')!, d, batch.targets);
    const user = attentionRef(tower.interests, targetVectors, { B: batch.targets.length, K: tower.K, d }, { p: 1, mode: 'pow', activeK: tower.activeK });
    const expected = sampledSoftmaxRef({ user, itemTable: table, labels: batch.targets, negatives, d, logQ: new Float64Array(NUM_ITEMS).fill(Math.log(0.5)) });
    expect(Math.abs(got - expected)).toBeLessThan(1e-4 * Math.abs(expected) + 1e-5);
    // Without dropout, or with another step's masks, the loss differs: the masks matter here.
    const lossWith = (masks?: Float32Array[]) => {
      const t = userTowerReference(config, weights, batch, { seed, kind: 'perSample' }, masks && { masks, keep: 0.6 });
      const u = attentionRef(t.interests, targetVectors, { B: batch.targets.length, K: t.K, d }, { p: 1, mode: 'pow', activeK: t.activeK });
      return sampledSoftmaxRef({ user: u, itemTable: table, labels: batch.targets, negatives, d, logQ: new Float64Array(NUM_ITEMS).fill(Math.log(0.5)) });
    };
    expect(Math.abs(lossWith() - expected)).toBeGreaterThan(1e-3);
    const next = new Random(config.seed).fork('step').fork(step + 1).fork('dropout');
    const nextSeed = (next.uint32() % 2 ** 21) * 2 ** 32 + next.uint32();
    const nextMasks = config.hiddenUnits.map((units, layer) => Float32Array.from(dropoutMaskReference({ n: rows * units, rate: 0.4, seed: nextSeed, stream: layer })));
    expect(Math.abs(lossWith(nextMasks) - expected)).toBeGreaterThan(1e-3);
    model.dispose();
  });
});
