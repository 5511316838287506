/**
 * A whole model through a checkpoint directory and back (saveCheckpoint → loadCheckpoint →
 * MindModel): every parameter family (item and feature table, routing map, profile table, every
 * DNN layer's weight and bias) comes back bit for bit, and the reloaded model's evaluation and
 * recommendations are identical to the original's.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { evaluateModel, MindModel, parameterSpecs, Random, recommendForUsers, resolveConfig, snapshotWeights, type CheckpointManifest, type ItemFeatures } from '../../src/index.js';
import type { HeldOutSet } from '../../src/data/batches.js';
import { loadCheckpoint, saveCheckpoint } from '../../src/node/checkpoint-io.js';
import { useContext } from '../helpers/gpu.js';

const dir = mkdtempSync(join(tmpdir(), 'mind-checkpoint-model-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const NUM_ITEMS = 40;
const L = 6;
const USERS = 12;

/** Items 1..39 with one or two of 5 genre rows. */
function itemFeatures(): ItemFeatures {
  const offsets = new Int32Array(NUM_ITEMS + 1);
  const values: number[] = [];
  for (let i = 1; i < NUM_ITEMS; i++) {
    values.push(i % 5);
    if (i % 3 === 0) values.push((i + 2) % 5);
    offsets[i + 1] = values.length;
  }
  return { spaces: [{ name: 'genres', size: 5, offset: 0, values: ['a', 'b', 'c', 'd', 'e'] }], numRows: 5, offsets, values: Int32Array.from(values) };
}

function heldOut(): HeldOutSet {
  const rng = new Random(3);
  const histories = new Int32Array(USERS * L);
  const lengths = Int32Array.from({ length: USERS }, (_, u) => 1 + (u % L));
  lengths.forEach((len, u) => {
    for (let i = 0; i < len; i++) histories[u * L + i] = 1 + Math.floor(rng.next() * (NUM_ITEMS - 1));
  });
  const targets = Int32Array.from({ length: USERS * 2 }, (_, k) => 1 + ((k * 7) % (NUM_ITEMS - 1)));
  return {
    users: Int32Array.from({ length: USERS }, (_, u) => u),
    histories, lengths, targets,
    targetOffsets: Int32Array.from({ length: USERS + 1 }, (_, u) => 2 * u),
    profileCategorical: Int32Array.from({ length: USERS * 2 }, (_, k) => k % 3),
    profileDense: Float32Array.from({ length: USERS }, (_, u) => u / 4 - 1),
  };
}

describe('a model through a checkpoint directory', () => {
  const getCtx = useContext();

  test('every parameter family round-trips bit for bit; evaluation and recommendations are identical after the reload', async () => {
    const ctx = getCtx();
    const config = resolveConfig({ dim: 8, kMax: 3, hiddenUnits: [6, 5], profileDim: 3, seed: 4 });
    const shape = { numItems: NUM_ITEMS, numFeatureRows: 5, profileSpaces: [3, 4], profileDense: 1 };
    const fresh = new MindModel(ctx, config, shape, itemFeatures());
    // Every value moved off its initialisation (the DNN biases start at zero): a family that a
    // load skipped would come back as its fresh initialisation and differ.
    const rng = new Random(8);
    const weights = new Map([...(await snapshotWeights(fresh))].map(([name, w]) => [name, Float32Array.from(w, (x) => x + rng.normal() * 0.2)]));
    fresh.dispose();
    const specs = parameterSpecs(config, shape);
    expect(specs.map((s) => s.name)).toEqual([
      'item_embedding', 'routing.bilinear', 'profile_embedding',
      'dnn.0.weight', 'dnn.0.bias', 'dnn.1.weight', 'dnn.1.bias', 'dnn.2.weight', 'dnn.2.bias',
    ]);
    const manifest: CheckpointManifest = {
      format: 'mind-webgpu/1', config, shape, itemFeatures: itemFeatures(), maxLength: L, data: { kind: 'test' },
      itemNames: Array.from({ length: NUM_ITEMS }, (_, i) => (i === 0 ? '<pad>' : `item${i}`)),
      userFeatures: { categorical: [{ name: 'a', size: 3, values: ['?', 'x', 'y'] }, { name: 'b', size: 4, values: ['?', 'p', 'q', 'r'] }], dense: ['age'] },
    };
    const out = join(dir, 'model');
    await saveCheckpoint(out, manifest, weights, new Map(specs.map((s) => [s.name, s.shape])));
    const loaded = await loadCheckpoint(out);
    expect(loaded.manifest.config).toEqual(config);
    // The loader fills shape.historyLength from maxLength for manifests written without it.
    expect(loaded.manifest.shape).toEqual({ ...shape, historyLength: L });

    const original = new MindModel(ctx, config, shape, itemFeatures(), weights);
    const reloaded = new MindModel(ctx, loaded.manifest.config, loaded.manifest.shape, loaded.manifest.itemFeatures, loaded.weights);
    const back = await snapshotWeights(reloaded);
    expect([...back.keys()]).toEqual(specs.map((s) => s.name));
    for (const [name, w] of weights) {
      const got = back.get(name)!;
      expect(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(w.buffer, w.byteOffset, w.byteLength)), name).toBe(true);
    }

    const users = heldOut();
    const before = await evaluateModel(original, users, [5, 10]);
    const after = await evaluateModel(reloaded, users, [5, 10]);
    expect(after).toEqual(before);
    expect(before['recall@10']).toBeGreaterThan(0);
    const recsBefore = await recommendForUsers(original, users, 10, { excludeHistory: true });
    const recsAfter = await recommendForUsers(reloaded, users, 10, { excludeHistory: true });
    expect(recsAfter).toEqual(recsBefore);
    original.dispose();
    reloaded.dispose();
  });
});
