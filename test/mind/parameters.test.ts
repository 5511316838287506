/**
 * The model's parameters (found untested by the mutation run of src/mind, docs/mutation.md): the
 * initial scales (N(0, 0.1²) tables, N(0, 1/d) routing map, Glorot-uniform DNN weights, zero
 * biases), which tables are embeddings, no profile table without profile features, the shape
 * read from a data set, the checkpoint checks of createParameters, and dispose.
 */
import { describe, expect, test } from 'vitest';
import { MindModel, modelShapeOf, parameterSpecs, Random, resolveConfig } from '../../src/index.js';
import { useContext } from '../helpers/gpu.js';

const config = resolveConfig({ dim: 32, hiddenUnits: [48], profileDim: 8 });
const shape = { numItems: 500, numFeatureRows: 20, profileSpaces: [4, 6], profileDense: 3 };

function stats(values: Float32Array) {
  let sum = 0;
  let squares = 0;
  let max = 0;
  for (const v of values) {
    sum += v;
    squares += v * v;
    max = Math.max(max, Math.abs(v));
  }
  const mean = sum / values.length;
  return { mean, std: Math.sqrt(squares / values.length - mean * mean), max };
}

describe('parameter specs', () => {
  const specs = new Map(parameterSpecs(config, shape).map((s) => [s.name, s]));
  const init = (name: string) => {
    const spec = specs.get(name)!;
    return spec.init(new Random(5), spec.shape.reduce((a, b) => a * b, 1));
  };

  test('initial scales: tables N(0, 0.01), routing map N(0, 1/d), DNN Glorot uniform, biases 0', () => {
    expect(stats(init('item_embedding')).std).toBeCloseTo(0.1, 2);
    expect(stats(init('profile_embedding')).std).toBeCloseTo(0.1, 1);
    expect(stats(init('routing.bilinear')).std).toBeCloseTo(1 / Math.sqrt(32), 2);
    const fanIn = 32 + 2 * 8 + 3;
    const limit = Math.sqrt(6 / (fanIn + 48));
    const w = stats(init('dnn.0.weight'));
    expect(w.max).toBeLessThanOrEqual(limit);
    expect(w.max).toBeGreaterThan(0.95 * limit);
    expect(w.std).toBeCloseTo(limit / Math.sqrt(3), 2);
    expect(stats(init('dnn.1.weight')).max).toBeLessThanOrEqual(Math.sqrt(6 / (48 + 32)));
    expect(Array.from(init('dnn.0.bias')).every((x) => x === 0) && init('dnn.0.bias').length === 48).toBe(true);
  });

  test('embedding tables are the item and profile tables only; no profile table without profile features', () => {
    expect([...specs.values()].filter((s) => s.embedding).map((s) => s.name)).toEqual(['item_embedding', 'profile_embedding']);
    expect(specs.get('item_embedding')!.shape).toEqual([520, 32]);
    expect(specs.get('profile_embedding')!.shape).toEqual([10, 8]);
    const bare = parameterSpecs(config, { numItems: 5, numFeatureRows: 0, profileSpaces: [], profileDense: 0 }).map((s) => s.name);
    expect(bare).toEqual(['item_embedding', 'routing.bilinear', 'dnn.0.weight', 'dnn.0.bias', 'dnn.1.weight', 'dnn.1.bias']);
  });

  test('modelShapeOf reads the profile spaces and dense columns of a data set, or none', () => {
    expect(modelShapeOf({ numItems: 9, userFeatures: { categorical: [{ size: 3 }, { size: 5 }], dense: ['a', 'b'] } })).toEqual({ numItems: 9, numFeatureRows: 0, profileSpaces: [3, 5], profileDense: 2 });
    expect(modelShapeOf({ numItems: 9 })).toEqual({ numItems: 9, numFeatureRows: 0, profileSpaces: [], profileDense: 0 });
  });
});

describe('a model from checkpoint weights', () => {
  const getCtx = useContext();
  const small = resolveConfig({ dim: 4, kMax: 2, hiddenUnits: [4], profileDim: 2 });
  const smallShape = { numItems: 6, numFeatureRows: 0, profileSpaces: [2], profileDense: 0 };

  test('a missing or wrongly sized tensor is refused, naming it; dispose frees every parameter', () => {
    const ctx = getCtx();
    const weights = new Map(parameterSpecs(small, smallShape).map((s) => [s.name, new Float32Array(s.shape.reduce((a, b) => a * b, 1))]));
    const missing = new Map(weights);
    missing.delete('dnn.1.bias');
    expect(() => new MindModel(ctx, small, smallShape, undefined, missing)).toThrow('checkpoint has no tensor "dnn.1.bias"');
    const wrong = new Map(weights).set('profile_embedding', new Float32Array(3));
    expect(() => new MindModel(ctx, small, smallShape, undefined, wrong)).toThrow('checkpoint tensor "profile_embedding" has 3 values, the model needs 4 (2x2)');
    const model = new MindModel(ctx, small, smallShape, undefined, weights);
    const params = [...model.params.values()];
    model.dispose();
    expect(params.every((p) => p.isDisposed) && params.length === 7).toBe(true);
    const pooled = new MindModel(ctx, resolveConfig({ ...small, extractor: 'meanPool' }), smallShape);
    expect(() => pooled.routing({ histories: new Int32Array(2), lengths: Int32Array.of(1), profileCategorical: Int32Array.of(0), profileDense: new Float32Array(0) })).toThrow("MindModel.routing: the model's extractor 'meanPool' does not route");
    pooled.dispose();
  });
});
