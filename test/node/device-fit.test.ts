/**
 * `mind train` refuses a model whose parameter tables cannot fit one storage binding of the
 * device before the first step (issue 14), naming the model, the table, its shape, bytes and
 * the limit, with the widest --dim that fits; then the batch-size check still applies.
 */
import { describe, expect, test } from 'vitest';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { resolveConfig } from '../../src/mind/config.js';
import { UserError } from '../../src/node/errors.js';
import { checkDeviceFit } from '../../src/node/training-run.js';

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
  test('an item table over the binding limit is named with its shape, bytes and the limit, and a --dim that fits', () => {
    const rows = dataset.numItems;
    const limit = 1000;
    const err = errorOf(() => checkDeviceFit({ maxStorageBufferBindingSize: limit, maxBufferSize: big }, config, dataset, { batchSize: 4, baseline: false }));
    expect(err).toBeInstanceOf(UserError);
    expect(err.message).toBe(
      `MIND's item_embedding table [${rows}, 8] would take ${rows * 8 * 4} bytes, over this device's storage binding limit of ${limit} bytes (maxStorageBufferBindingSize)`,
    );
    expect(err.hint).toBe(`at width 8 one binding holds ${Math.floor(limit / 32)} rows; use --dim ${Math.floor(limit / (4 * rows))} or less, or a smaller catalogue`);
  });

  test('the smaller of the binding and buffer limits counts', () => {
    const rows = dataset.numItems;
    const limit = rows * 8 * 4 - 4;
    const err = errorOf(() => checkDeviceFit({ maxStorageBufferBindingSize: big, maxBufferSize: limit }, config, dataset, { batchSize: 4, baseline: false }));
    expect(err.message).toContain(`would take ${rows * 8 * 4} bytes, over this device's storage binding limit of ${limit} bytes`);
    expect(() => checkDeviceFit({ maxStorageBufferBindingSize: big, maxBufferSize: limit + 4 }, config, dataset, { batchSize: 4, baseline: false })).not.toThrow();
  });

  test('a model that fits still gets the batch-size check', () => {
    const fits = { maxStorageBufferBindingSize: big, maxBufferSize: big };
    expect(() => checkDeviceFit(fits, config, dataset, { batchSize: 4, baseline: 'meanPool' })).not.toThrow();
    expect(() => checkDeviceFit(fits, config, dataset, { batchSize: 1 << 24, baseline: false })).toThrow(/--batch-size 16777216 is too large for this device/);
  });
});
