/** The model and training configurations: split, defaults, checks and the baseline's settings. */
import { describe, expect, test } from 'vitest';
import { BASELINE_CONFIG, DEFAULT_CONFIG, MODEL_FIELDS, baselineConfig, resolveConfig, resolveModelConfig } from '../../src/mind/config.js';
import { SCHEDULE_FIELDS, TRAINING_FIELDS } from '../../src/train/config.js';

describe('configurations', () => {
  test('the run configuration is exactly the model fields and the training fields; the schedule is apart', () => {
    const model = Object.keys(MODEL_FIELDS);
    const training = Object.keys(TRAINING_FIELDS);
    expect(model.filter((k) => training.includes(k))).toEqual([]);
    expect(Object.keys(DEFAULT_CONFIG).sort()).toEqual([...model, ...training].sort());
    expect(Object.keys(SCHEDULE_FIELDS).filter((k) => k in DEFAULT_CONFIG)).toEqual([]);
    // Training settings are not model settings.
    expect(resolveModelConfig({ learningRate: 0.1, dim: 32 } as never)).not.toHaveProperty('learningRate');
    expect(resolveModelConfig({ dim: 32 }).dim).toBe(32);
  });

  test('the defaults the CLI has always had', () => {
    expect(DEFAULT_CONFIG).toMatchObject({
      extractor: 'mind', dim: 64, kMax: 4, iterations: 3, globalInterest: true, dynamicK: true, attentionPower: 1, candidateScore: 'maxInterest',
      hiddenUnits: [64], profileDim: 16, numSampled: 256, sampler: 'logUniform', learningRate: 0.005, l2Embedding: 0, hardNegativeBeta: 0,
    });
  });

  test('each field is checked, the error naming it and the value', () => {
    expect(() => resolveConfig({ learningRate: 0 })).toThrow('learningRate must be in [1e-9, 10], got 0');
    expect(() => resolveConfig({ kMax: 17 })).toThrow('kMax must be an integer in [1, 16], got 17');
    expect(() => resolveConfig({ hiddenUnits: 'x' as never })).toThrow('hiddenUnits must be a list of layer widths, got "x"');
    expect(() => resolveConfig({ hiddenUnits: [8, 0] })).toThrow('hiddenUnits[1] must be an integer in [1, 4096], got 0');
    expect(() => resolveConfig({ globalInterest: 'no' as never })).toThrow('globalInterest must be true or false, got "no"');
    expect(() => resolveConfig({ selfAttentionRatio: 0 })).toThrow('selfAttentionRatio must be an integer in [1, 64], got 0');
    // Defaults are copied, never shared.
    const a = resolveConfig();
    a.hiddenUnits.push(1);
    expect(DEFAULT_CONFIG.hiddenUnits).toEqual([64]);
  });

  test('the baseline: meanPool keeps its tuned settings, any other extractor only changes the extractor', () => {
    expect(baselineConfig('meanPool')).toEqual(BASELINE_CONFIG);
    expect(BASELINE_CONFIG).toEqual({ extractor: 'meanPool', candidateScore: 'labelAware', globalInterest: false });
    expect(baselineConfig('comirec-sa')).toEqual({ extractor: 'comirec-sa' });
    expect(() => baselineConfig('popularity')).toThrow(/baseline must be one of mind, meanPool, comirec-sa, comirec-dr, got "popularity"/);
  });
});
