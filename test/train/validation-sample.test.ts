/**
 * The trainer's validation users: `validationUsers` validates on a seeded sample of the
 * validation part (the same users every epoch, drawn with the run's seed), and the warm-up's dry
 * evaluation runs on one evaluation chunk of them, not on the whole part (on a catalogue of a
 * million items a dry pass over thousands of users is hours of host work).
 */
import { describe, expect, test } from 'vitest';
import { type HeldOutSet, evaluateModel, heldOutUsers, train } from '../../src/index.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import type { MindModel } from '../../src/mind/model.js';
import { useContext } from '../helpers/gpu.js';

// 3,000 users: 300 validation users, more than one evaluation chunk (256).
const dataset = generateSynthetic({ seed: 9, numItems: 60, numCategories: 6, numUsers: 3000, minSequenceLength: 4, maxSequenceLength: 8, maxLength: 6 });
const config = { dim: 8, kMax: 2, hiddenUnits: [8], profileDim: 4, numSampled: 16, seed: 5 };

/** An evaluate callback that records the users of every call, in order. */
function recording() {
  const calls: HeldOutSet[] = [];
  const evaluate = async (model: MindModel, users: HeldOutSet) => {
    calls.push(users);
    return evaluateModel(model, users);
  };
  return { calls, evaluate };
}

describe('validation users', () => {
  const getCtx = useContext();

  test('validationUsers: every validation runs on the seeded sample, and the warm-up on one chunk', async () => {
    expect(dataset.split.validation.length).toBe(300);
    const { calls, evaluate } = recording();
    const run = await train(getCtx(), dataset, config, { epochs: 2, batchSize: 512, evaluate, validationUsers: 40 });
    const sample = heldOutUsers(dataset, 'validation', { count: 40, seed: config.seed });
    // The warm-up's dry evaluation (first), then one validation per epoch on the sample.
    expect(calls.map((c) => c.users.length)).toEqual([40, 40, 40]);
    expect(run.validation.length).toBe(2);
    for (const call of calls) expect(call).toEqual(sample);
    expect(run.validation.at(-1)!.metrics).toEqual(await evaluateModel(run.model, sample));
    run.model.dispose();
  });

  test('without validationUsers, validation runs on all 300 users and the warm-up on 256 of them', async () => {
    const { calls, evaluate } = recording();
    const run = await train(getCtx(), dataset, config, { epochs: 1, batchSize: 512, maxSteps: 2, evaluate });
    expect(calls.map((c) => c.users.length)).toEqual([256, 300]);
    expect(calls[1]).toEqual(heldOutUsers(dataset, 'validation'));
    for (const user of calls[0].users) expect(dataset.split.validation).toContain(user);
    run.model.dispose();
  });

  test('a validationUsers that is not a positive integer is refused before training', async () => {
    for (const validationUsers of [0, 1.5, -3]) {
      await expect(train(getCtx(), dataset, config, { epochs: 1, batchSize: 512, validationUsers })).rejects.toThrow(
        `validationUsers must be a positive integer, got ${validationUsers}`,
      );
    }
  });
});
