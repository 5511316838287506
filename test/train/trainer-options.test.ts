/**
 * The trainer's options by their effect: the best epoch by `selectBy` is the one whose weights the
 * model holds at the end (checked by re-evaluating the model, and against the reached weights),
 * `maxSteps` stops at exactly that step with the losses of the unlimited run, and an abort keeps
 * the weights reached rather than restoring an earlier epoch's.
 */
import { describe, expect, test } from 'vitest';
import { evaluateModel, heldOutUsers, snapshotWeights, train, type TrainResult } from '../../src/index.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { useContext } from '../helpers/gpu.js';

const dataset = generateSynthetic({ seed: 6, numItems: 90, numCategories: 6, numUsers: 90, minSequenceLength: 4, maxSequenceLength: 12, maxLength: 8 });
// A large learning rate on a tiny data set: validation metrics go up and down between epochs.
const config = { dim: 8, kMax: 2, hiddenUnits: [8], profileDim: 4, numSampled: 16, learningRate: 0.08, seed: 2 };
const EPOCHS = 5;

/** The first epoch (1-based) with the highest value of `metric` in a run's validation history. */
function argmaxEpoch(run: TrainResult, metric: string): number {
  let best = run.validation[0];
  for (const v of run.validation) if (v.metrics[metric] > best.metrics[metric]) best = v;
  return best.epoch;
}

function sameWeights(a: Map<string, Float32Array>, b: Map<string, Float32Array>): boolean {
  return [...a].every(([name, w]) => {
    const other = b.get(name)!;
    return other.length === w.length && w.every((x, i) => x === other[i]);
  }) && a.size === b.size && a.size > 0;
}

describe('trainer options', () => {
  const getCtx = useContext();

  test('the best epoch by selectBy is restored: the model re-evaluates to that epoch\'s metrics, not the last epoch\'s', async () => {
    const ctx = getCtx();
    const validation = heldOutUsers(dataset, 'validation');
    const picked: Record<string, number> = {};
    const check = async (selectBy: string) => {
      const run = await train(ctx, dataset, config, { epochs: EPOCHS, batchSize: 32, selectBy, evaluate: evaluateModel });
      expect(run.validation.map((v) => v.epoch)).toEqual([1, 2, 3, 4, 5]);
      expect(run.bestEpoch).toBe(argmaxEpoch(run, selectBy));
      picked[selectBy] = run.bestEpoch;
      const held = await snapshotWeights(run.model);
      expect(sameWeights(held, run.bestWeights)).toBe(true);
      const metrics = await evaluateModel(run.model, validation);
      expect(metrics).toEqual(run.validation[run.bestEpoch - 1].metrics);
      if (run.bestEpoch < EPOCHS) {
        // The reached weights (the resumable state) are the last epoch's, not the restored ones.
        expect(sameWeights(held, run.state.weights)).toBe(false);
        expect(metrics).not.toEqual(run.validation[EPOCHS - 1].metrics);
      }
      run.model.dispose();
      return run;
    };
    const first = await check('recall@50');
    // A second metric whose best epoch differs (training does not depend on selectBy).
    const other = Object.keys(first.validation[0].metrics).find((m) => argmaxEpoch(first, m) !== first.bestEpoch);
    expect(other).toBeDefined();
    await check(other!);
    // The fixture is one where restoring matters and the two metrics disagree.
    expect(Math.min(...Object.values(picked))).toBeLessThan(EPOCHS);
    expect(picked[other!]).not.toBe(picked['recall@50']);
  });

  test('maxSteps stops at exactly that step, inside the second epoch, with the unlimited run\'s losses', async () => {
    const ctx = getCtx();
    const full = await train(ctx, dataset, config, { epochs: 2, batchSize: 32, logEvery: 1, validate: false, evaluate: evaluateModel });
    const perEpoch = full.steps / 2;
    const cut = await train(ctx, dataset, config, { epochs: 2, batchSize: 32, logEvery: 1, validate: false, maxSteps: perEpoch + 3, evaluate: evaluateModel });
    expect(cut.stopped).toBe('maxSteps');
    expect(full.stopped).toBe('completed');
    expect(cut.steps).toBe(perEpoch + 3);
    expect(cut.losses).toEqual(full.losses.slice(0, perEpoch + 3));
    expect(sameWeights(cut.state.weights, full.state.weights)).toBe(false);
    full.model.dispose();
    cut.model.dispose();
  });

  test('an abort stops within a step of the signal and keeps the weights reached, not the best epoch\'s', async () => {
    const ctx = getCtx();
    const controller = new AbortController();
    let abortedAt = -1;
    const run = await train(ctx, dataset, config, {
      evaluate: evaluateModel,
      epochs: EPOCHS, batchSize: 32, logEvery: 1,
      onProgress: (p) => {
        if (p.phase === 'train' && p.epoch === 2 && p.step === 2 && abortedAt < 0) {
          abortedAt = (p.epoch - 1) * p.stepsPerEpoch + p.step;
          controller.abort();
        }
      },
      signal: controller.signal,
    });
    expect(run.stopped).toBe('aborted');
    expect(abortedAt).toBeGreaterThan(0);
    // One step is in flight when a step's loss is reported: at most one more runs.
    expect(run.steps).toBeGreaterThanOrEqual(abortedAt);
    expect(run.steps).toBeLessThanOrEqual(abortedAt + 1);
    expect(run.bestEpoch).toBe(2);
    expect(run.validation.map((v) => v.epoch)).toEqual([1]);
    expect(sameWeights(await snapshotWeights(run.model), run.state.weights)).toBe(true);
    expect(sameWeights(run.bestWeights, run.state.weights)).toBe(true);
    run.model.dispose();
  });
});
