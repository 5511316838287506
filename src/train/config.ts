/**
 * The training configuration: how a model is trained (optimiser, negatives, regularisation),
 * apart from what the model is (src/mind/config.ts). Each field's default, validation and CLI
 * flag are written once here (src/config/fields.ts). SCHEDULE_FIELDS are the run's length and
 * batch size (train()'s options), generated into the CLI the same way.
 */
import { type Fields, inRange, oneOf, positiveInt } from '../config/fields.js';
import type { SamplerKind } from '../data/samplers.js';

export interface TrainingConfig {
  /** Adam learning rate. */
  learningRate: number;
  /** S: negatives per batch for the sampled softmax. */
  numSampled: number;
  sampler: SamplerKind;
  /** Unigram sampler exponent. */
  samplerAlpha: number;
  /** L2 coefficient on the embedding rows a step touches. */
  l2Embedding: number;
  /**
   * β ≥ 0 of REMI's interest-aware hard negatives (Xie et al., RecSys 2023, §4.1): each sampled
   * negative weighted by S·softmax(β·logit) in the loss, so negatives close to the user's
   * interests count more. 0 is the plain sampled softmax of SPEC §3.
   */
  hardNegativeBeta: number;
}

const SAMPLERS = () => ['uniform', 'logUniform', 'unigram'] as const;

export const TRAINING_FIELDS: Fields<TrainingConfig> = {
  hardNegativeBeta: {
    default: 0,
    check: inRange(0, 1000),
    flag: { flags: '--hard-negative-beta <b>', help: 'REMI interest-aware hard negatives: weight negatives by softmax(b·logit); 0 = plain sampled softmax', kind: 'number' },
  },
  l2Embedding: { default: 0, check: inRange(0, 10), flag: { flags: '--l2 <x>', help: 'L2 on the embedding rows a step touches', kind: 'number' } },
  numSampled: { default: 256, check: positiveInt(8192), flag: { flags: '--num-sampled <s>', help: 'negatives per batch', kind: 'int' } },
  sampler: { default: 'logUniform', check: oneOf(SAMPLERS), flag: { flags: '--sampler <kind>', help: 'negative sampler', kind: 'choice', choices: SAMPLERS } },
  samplerAlpha: { default: 0.75, check: inRange(0, 10) },
  learningRate: { default: 0.005, check: inRange(1e-9, 10), flag: { flags: '--lr <x>', help: 'Adam learning rate', kind: 'number' } },
};

/** The run's schedule: train()'s epochs, batchSize, maxSteps and validation sample. */
export interface TrainingSchedule {
  epochs: number;
  batchSize: number;
  /** Stop after this many steps in total (the state stays resumable); undefined: every epoch. */
  maxSteps: number | undefined;
  /** Validate on a seeded sample of this many validation users; undefined: all of them. */
  validationUsers: number | undefined;
}

export const SCHEDULE_FIELDS: Fields<TrainingSchedule> = {
  epochs: { default: 3, check: positiveInt(), flag: { flags: '--epochs <n>', help: 'epochs', kind: 'int', min: 1 } },
  batchSize: { default: 256, check: positiveInt(), flag: { flags: '--batch-size <b>', help: 'samples per step', kind: 'int', min: 1 } },
  maxSteps: {
    default: undefined,
    check: (name, value) => {
      if (value !== undefined) positiveInt()(name, value);
    },
    flag: { flags: '--max-steps <n>', help: 'stop after this many steps (the checkpoint stays resumable)', kind: 'int', min: 1 },
  },
  validationUsers: {
    default: undefined,
    check: (name, value) => {
      if (value !== undefined) positiveInt()(name, value);
    },
    flag: {
      flags: '--validation-users <n>',
      help: 'validate on a seeded sample of n validation users (default: all; for large catalogues, where scoring them all takes hours)',
      kind: 'int',
      min: 1,
    },
  },
};
