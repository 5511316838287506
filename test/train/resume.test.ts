/**
 * Exact resume (issue #10): a run stopped by its abort signal or by maxSteps and continued from
 * its state (through the bytes a checkpoint stores) ends with weights bitwise equal to a run
 * never stopped, Adam moments and counters included; a NaN loss stops the run at its step.
 */
import { describe, expect, test } from 'vitest';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { parameterSpecs } from '../../src/mind/parameters.js';
import { modelShapeOf } from '../../src/mind/model.js';
import { resolveConfig } from '../../src/mind/config.js';
import { type TrainResult, train } from '../../src/train/trainer.js';
import { evaluateModel } from '../../src/serve/retrieval.js';
import { NonFiniteError } from '../../src/train/non-finite.js';
import { type TrainState, decodeTrainState, encodeTrainState } from '../../src/train/train-state.js';
import { useContext } from '../helpers/gpu.js';

const dataset = generateSynthetic({ seed: 3, numItems: 60, numCategories: 6, numUsers: 40, minSequenceLength: 4, maxSequenceLength: 10, maxLength: 6 });
const small = { dim: 8, kMax: 2, hiddenUnits: [8], profileDim: 4, numSampled: 8, learningRate: 0.02, seed: 5, dropout: 0.2 };
const options = { epochs: 2, batchSize: 64, logEvery: 1, evaluate: evaluateModel };
const shapes = new Map(parameterSpecs(resolveConfig(small), modelShapeOf(dataset)).map((s) => [s.name, s.shape]));

/** Through the bytes a checkpoint holds, so serialisation is part of what is checked. */
function roundTrip(state: TrainState): TrainState {
  const { json, tensors } = encodeTrainState(state, shapes);
  return decodeTrainState(json, tensors);
}

function expectSameRun(a: TrainResult, b: TrainResult): void {
  expect(b.steps).toBe(a.steps);
  expect(b.bestEpoch).toBe(a.bestEpoch);
  expect(b.validation).toEqual(a.validation);
  for (const [name, w] of a.state.weights) expect(Buffer.from(b.state.weights.get(name)!.buffer), name).toEqual(Buffer.from(w.buffer));
  for (const [name, w] of a.bestWeights) expect(Buffer.from(b.bestWeights.get(name)!.buffer), name).toEqual(Buffer.from(w.buffer));
  a.state.optimizers.forEach((opt, i) => {
    expect(b.state.optimizers[i].stepCount).toBe(opt.stepCount);
    for (const [name, { m, v }] of opt.moments) {
      expect(Buffer.from(b.state.optimizers[i].moments.get(name)!.m.buffer), `m ${name}`).toEqual(Buffer.from(m.buffer));
      expect(Buffer.from(b.state.optimizers[i].moments.get(name)!.v.buffer), `v ${name}`).toEqual(Buffer.from(v.buffer));
    }
  });
}

describe('resuming training', () => {
  const getCtx = useContext();

  test('stopped by its signal mid-epoch, resumed: bitwise the uninterrupted run', async () => {
    const ctx = getCtx();
    const whole = await train(ctx, dataset, small, options);
    expect(whole.stopped).toBe('completed');
    expect(whole.steps).toBeGreaterThanOrEqual(4);
    const controller = new AbortController();
    const first = await train(ctx, dataset, small, {
      ...options,
      signal: controller.signal,
      // Reports come a step late, so the run stops after step 3, inside epoch 1 or 2.
      onProgress: (p) => p.phase === 'train' && p.step + (p.epoch - 1) * p.stepsPerEpoch >= 2 && controller.abort(),
    });
    expect(first.stopped).toBe('aborted');
    expect(first.steps).toBe(3);
    expect(first.steps).toBeLessThan(whole.steps);
    const second = await train(ctx, dataset, small, { ...options, resume: roundTrip(first.state) });
    expect(second.stopped).toBe('completed');
    expectSameRun(whole, second);
    for (const r of [whole, first, second]) r.model.dispose();
  });

  test('cut by maxSteps, continued with a larger budget: bitwise the uninterrupted run', async () => {
    const ctx = getCtx();
    const whole = await train(ctx, dataset, small, options);
    const first = await train(ctx, dataset, small, { ...options, maxSteps: 2 });
    expect(first.stopped).toBe('maxSteps');
    // The provisional validation at step 2 is reported but not part of the state.
    expect(first.validation.length).toBe(1);
    expect(first.state.validation.length).toBe(0);
    let saved: TrainState | undefined;
    const second = await train(ctx, dataset, small, { ...options, resume: roundTrip(first.state), onEpochEnd: (s) => void (saved ??= s) });
    expectSameRun(whole, second);
    // The state handed over at the end of epoch 1 resumes to the same run as well.
    expect(saved!.epoch).toBe(2);
    expect(saved!.batchesDone).toBe(0);
    const third = await train(ctx, dataset, small, { ...options, resume: roundTrip(saved!) });
    expectSameRun(whole, third);
    for (const r of [whole, first, second, third]) r.model.dispose();
  });

  test('a NaN loss stops the run at its step, naming the step and the tensors', async () => {
    const ctx = getCtx();
    const fresh = await train(ctx, dataset, small, { ...options, maxSteps: 1 });
    const weights = new Map(fresh.state.weights);
    // Item vectors near the f32 limit: their dot products overflow, so the first loss is not finite.
    weights.set('item_embedding', weights.get('item_embedding')!.map((x) => Math.sign(x) * 3e38));
    fresh.model.dispose();
    let saves = 0;
    const run = train(ctx, dataset, small, { ...options, initialWeights: weights, onEpochEnd: () => void saves++ });
    const error = (await run.catch((e) => e)) as NonFiniteError;
    expect(error).toBeInstanceOf(NonFiniteError);
    expect(error.step).toBe(1);
    expect(error.message).toMatch(/^training stopped at step 1 \(epoch 1\): the loss is (NaN|Infinity|-Infinity)/);
    expect(saves).toBe(0);
  });
});
