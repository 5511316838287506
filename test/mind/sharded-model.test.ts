/**
 * MIND with its item table split over several GPU buffers (issue #14), compared bit for bit with
 * the same run on one buffer: a context whose shard cap (maxTableShardBytes) is 16 rows of the
 * item table trains a few steps (item ids and category feature rows in different shards, so
 * every item vector's bag spans two), and its checkpoint bytes (weights and Adam moments), its
 * item vectors, its per-interest top-k lists and its evaluation equal those of a context
 * without the cap.
 */
import { describe, expect, test } from 'vitest';
import { type Context, encodeSafetensors, encodeTrainState, parameterSpecs, resolveConfig, train } from '../../src/index.js';
import { heldOutUsers } from '../../src/data/batches.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { modelShapeOf } from '../../src/mind/model.js';
import { allItemVectors, evaluateModel, retrievePerInterest } from '../../src/serve/retrieval.js';
import { useContext } from '../helpers/gpu.js';

const dataset = generateSynthetic({
  seed: 3, numItems: 60, numCategories: 6, numUsers: 40, minSequenceLength: 4, maxSequenceLength: 10, maxLength: 6,
  withCategoryFeature: true,
});
const config = { dim: 8, kMax: 2, hiddenUnits: [8], profileDim: 4, numSampled: 8, learningRate: 0.05, seed: 5 };
/** 16 rows of d = 8 f32 per buffer. */
const SHARD_BYTES = 16 * 8 * 4;
const shapes = new Map(parameterSpecs(resolveConfig(config), modelShapeOf(dataset)).map((s) => [s.name, s.shape]));

async function run(ctx: Context) {
  const result = await train(ctx, dataset, config, { epochs: 1, batchSize: 32, maxSteps: 4 });
  const { model } = result;
  const table = model.params.get('item_embedding')!;
  const checkpoint = encodeSafetensors(result.state.weights, shapes);
  const { json, tensors: state } = encodeTrainState(result.state, shapes);
  const items = allItemVectors(model).keep();
  const users = heldOutUsers(dataset, 'test');
  const lists = await retrievePerInterest(model, users, 10, { items });
  const metrics = await evaluateModel(model, users, [5, 10]);
  const out = {
    steps: result.steps,
    tableShards: table.shards.map((s) => s.shape[0]),
    itemShards: items.shards.length,
    checkpoint,
    json,
    state,
    items: (await items.read()) as Float32Array,
    lists,
    metrics,
  };
  items.dispose();
  model.dispose();
  return out;
}

describe('MIND on a split item table', () => {
  const getOne = useContext();
  const getSplit = useContext({ maxTableShardBytes: SHARD_BYTES });

  test('training steps, checkpoint bytes, item vectors, top-k lists and evaluation are bitwise those of one buffer', async () => {
    const one = await run(getOne());
    const split = await run(getSplit());
    const rows = dataset.numItems + 6;
    expect(one.tableShards).toEqual([rows]);
    expect(split.tableShards).toEqual([...new Array(Math.floor(rows / 16)).fill(16), rows % 16].filter((n) => n > 0));
    expect(split.tableShards.length).toBeGreaterThanOrEqual(4);
    expect([one.itemShards, split.itemShards]).toEqual([1, Math.ceil(dataset.numItems / 16)]);
    expect(split.steps).toBe(4);
    expect(Buffer.from(split.checkpoint).equals(Buffer.from(one.checkpoint))).toBe(true);
    // The resume state: weights, Adam moments and counters.
    expect(split.json).toBe(one.json);
    expect(Buffer.from(split.state).equals(Buffer.from(one.state))).toBe(true);
    expect(Buffer.from(split.items.buffer).equals(Buffer.from(one.items.buffer))).toBe(true);
    // Retrieval reaches items of every shard, and the lists and scores are identical.
    const retrieved = new Set(one.lists.flatMap((u) => u.flatMap((l) => Array.from(l.ids))));
    expect(Math.max(...retrieved)).toBeGreaterThanOrEqual(3 * 16);
    expect(split.lists).toEqual(one.lists);
    expect(split.metrics).toEqual(one.metrics);
  });
});
