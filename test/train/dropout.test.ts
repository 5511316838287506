/**
 * Training with dropout stays bitwise reproducible per seed: the masks are drawn on the GPU from
 * a seed that depends only on (config.seed, step) (stepDraws), so two runs end with the same
 * weight bytes, and the masks change from step to step. (Resuming with dropout: resume.test.ts.)
 */
import { describe, expect, test } from 'vitest';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { stepDraws } from '../../src/mind/model.js';
import { train } from '../../src/train/trainer.js';
import { useContext } from '../helpers/gpu.js';

const dataset = generateSynthetic({ seed: 8, numItems: 60, numCategories: 6, numUsers: 40, minSequenceLength: 4, maxSequenceLength: 10, maxLength: 6 });
const config = { dim: 8, kMax: 2, hiddenUnits: [8, 6], profileDim: 4, numSampled: 8, learningRate: 0.05, seed: 9, dropout: 0.3 };
const options = { epochs: 1, batchSize: 16, maxSteps: 4, validate: false };

describe('training with GPU dropout', () => {
  const getCtx = useContext();

  test('two runs with dropout 0.3 end with identical weight bytes, and differ from a run without dropout', async () => {
    const ctx = getCtx();
    const runs = [await train(ctx, dataset, config, options), await train(ctx, dataset, config, options), await train(ctx, dataset, { ...config, dropout: 0 }, options)];
    const [a, b, plain] = runs;
    expect(a.steps).toBe(4);
    for (const [name, w] of a.state.weights) expect(Buffer.from(b.state.weights.get(name)!.buffer), name).toEqual(Buffer.from(w.buffer));
    // The dense layers see the masks: their weights differ from the run without dropout.
    const differs = (name: string) => !Buffer.from(plain.state.weights.get(name)!.buffer).equals(Buffer.from(a.state.weights.get(name)!.buffer));
    expect(differs('dnn.0.weight')).toBe(true);
    for (const r of runs) r.model.dispose();
  });

  test('each step has its own 53-bit dropout seed, a function of (seed, step) alone', () => {
    const seeds = Array.from({ length: 50 }, (_, step) => stepDraws(9, step).dropoutSeed);
    expect(new Set(seeds).size).toBe(50);
    for (const s of seeds) expect(Number.isSafeInteger(s) && s >= 0).toBe(true);
    // Some seed uses the high word (53 bits, not 32).
    expect(seeds.some((s) => s >= 2 ** 32)).toBe(true);
    expect(stepDraws(9, 7)).toEqual(stepDraws(9, 7));
    expect(stepDraws(10, 7).dropoutSeed).not.toBe(stepDraws(9, 7).dropoutSeed);
  });
});
