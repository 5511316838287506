/**
 * `mind train` refuses, before the first step, a model whose parameters cannot fit the device
 * (issue 14): a dense parameter over one storage binding, or an embedding table whose single row
 * is (tables themselves are split over buffers), naming the model, the parameter, its shape,
 * bytes and the limit; then the batch-size check still applies.
 */
import { describe, expect, test } from 'vitest';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { resolveConfig } from '../../src/mind/config.js';
import { UserError } from '../../src/node/errors.js';
import { checkDeviceFit } from '../../src/node/training-run.js';
import { modelShapeOf } from '../../src/mind/model.js';
import { parameterSpecs } from '../../src/mind/parameters.js';

const dataset = generateSynthetic({ seed: 3, numItems: 60, numCategories: 6, numUsers: 40, minSequenceLength: 4, maxSequenceLength: 10, maxLength: 6 });
const config = resolveConfig({ dim: 8, kMax: 2, hiddenUnits: [8], numSampled: 8, seed: 5 });
const big = 1 << 30;

function errorOf(fn: () => void): UserError {
  try {
    fn();
  } catch (err) {
    return err as UserError;
  }
  throw new Error('expected an error');
}

describe('checkDeviceFit', () => {
  test('an item table over the binding limit is accepted (it is split over buffers); a row that does not fit one binding is refused', () => {
    const rows = dataset.numItems;
    // Every dense parameter fits; the item table does not.
    const limit = Math.max(...parameterSpecs(config, modelShapeOf(dataset)).filter((p) => !p.embedding).map((p) => 4 * p.shape.reduce((a, b) => a * b, 1)));
    expect(rows * 8 * 4).toBeGreaterThan(limit);
    // Past the parameters, the batch-size check (its buffers are not split) is what refuses this
    // tiny limit: the table itself was accepted.
    expect(() => checkDeviceFit({ maxStorageBufferBindingSize: limit, maxBufferSize: big }, config, dataset, { batchSize: 4, baseline: false })).toThrow(/^--batch-size 4 is too large/);
    const err = errorOf(() => checkDeviceFit({ maxStorageBufferBindingSize: 28, maxBufferSize: big }, config, dataset, { batchSize: 4, baseline: false }));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe(`MIND's item_embedding table [${rows}, 8]: one row of 32 bytes is over this device's storage binding limit of 28 bytes (maxStorageBufferBindingSize)`);
    expect(err.hint).toBe('use --dim 7 or less');
  });

  test('a dense parameter over the limit is named with its shape, bytes and the limit; the smaller of the binding and buffer limits counts', () => {
    const wide = resolveConfig({ dim: 8, kMax: 2, hiddenUnits: [512], numSampled: 8, seed: 5 });
    const layer = parameterSpecs(wide, modelShapeOf(dataset)).find((p) => p.name === 'dnn.0.weight')!;
    expect(layer.shape[1]).toBe(512);
    const bytes = 4 * layer.shape[0] * 512;
    const err = errorOf(() => checkDeviceFit({ maxStorageBufferBindingSize: big, maxBufferSize: bytes - 4 }, wide, dataset, { batchSize: 4, baseline: false }));
    expect(err.message).toBe(`MIND's dnn.0.weight [${layer.shape[0]}, 512] would take ${bytes} bytes, over this device's storage binding limit of ${bytes - 4} bytes (maxStorageBufferBindingSize)`);
    expect(err.hint).toBe('use smaller --hidden widths or a smaller --dim');
    expect(() => checkDeviceFit({ maxStorageBufferBindingSize: bytes, maxBufferSize: big }, wide, dataset, { batchSize: 4, baseline: false })).not.toThrow();
  });

  test('a model that fits still gets the batch-size check', () => {
    const fits = { maxStorageBufferBindingSize: big, maxBufferSize: big };
    expect(() => checkDeviceFit(fits, config, dataset, { batchSize: 4, baseline: 'meanPool' })).not.toThrow();
    expect(() => checkDeviceFit(fits, config, dataset, { batchSize: 1 << 24, baseline: false })).toThrow(/--batch-size 16777216 is too large for this device/);
  });
});
