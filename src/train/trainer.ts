/**
 * The training loop: seeded epochs of batches, one command encoder and one submit per step,
 * the loss read back only when logged, validation recall every epoch and the best weights kept.
 * Deterministic for a given seed on a given adapter: batches, negatives, routing seeds and
 * dropout masks all derive from `config.seed` and the step number.
 */
import type { Context } from '../autograd/context.js';
import { type Dataset } from '../data/dataset.js';
import { batches, heldOutUsers, trainingSampleCount } from '../data/batches.js';
import { Random } from '../data/random.js';
import { createSampler } from '../data/samplers.js';
import { type MindConfig, resolveConfig } from '../mind/config.js';
import { MindModel, modelShapeOf } from '../mind/model.js';
import type { RankingMetrics } from '../serve/metrics.js';
import { evaluateModel } from '../serve/retrieval.js';
import { Adam } from './adam.js';

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  /** Read the loss back every this many steps (each read waits for the GPU). */
  logEvery?: number;
  /** Stop after this many steps in total (for quick runs and tests). */
  maxSteps?: number;
  /** Skip the per-epoch validation (still evaluates once at the end if there are validation users). */
  validate?: boolean;
  /** Metric that picks the best epoch; default 'recall@50'. */
  selectBy?: string;
  onProgress?: (progress: TrainProgress) => void;
  /** Start from these weights (resume; Adam's moments start afresh); otherwise fresh initialisation. */
  initialWeights?: Map<string, Float32Array>;
  /** Stops training after the current step; the result holds the weights reached so far. */
  signal?: AbortSignal;
}

export interface TrainProgress {
  phase: 'train' | 'validate' | 'done';
  epoch: number;
  epochs: number;
  /** Steps done in this epoch and in total. */
  step: number;
  stepsPerEpoch: number;
  totalSteps: number;
  /** Mean of the losses read since the last report. */
  loss?: number;
  samplesPerSecond?: number;
  validation?: RankingMetrics;
}

export interface TrainResult {
  model: MindModel;
  config: MindConfig;
  /** Losses as logged: (global step, loss). */
  losses: { step: number; loss: number }[];
  /** Validation metrics after each epoch. */
  validation: { epoch: number; metrics: RankingMetrics }[];
  /** Epoch whose weights the model now holds (the best by `selectBy`), and its weights. */
  bestEpoch: number;
  bestWeights: Map<string, Float32Array>;
  steps: number;
  seconds: number;
}

/** Reads every parameter to the host (a snapshot for checkpoints and best-epoch keeping). */
export async function snapshotWeights(model: MindModel): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, p] of model.params) out.set(name, (await p.read()) as Float32Array);
  return out;
}

function restoreWeights(model: MindModel, weights: Map<string, Float32Array>): void {
  for (const [name, p] of model.params) model.ctx.gpu.upload(p.buffer, weights.get(name)!);
}

function checkOptions(options: TrainOptions): void {
  for (const key of ['epochs', 'batchSize'] as const) {
    const v = options[key];
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`${key} must be a positive integer, got ${v}`);
  }
  if (options.logEvery !== undefined && !(Number.isInteger(options.logEvery) && options.logEvery >= 1)) {
    throw new RangeError(`logEvery must be a positive integer, got ${options.logEvery}`);
  }
  if (options.maxSteps !== undefined && !(Number.isInteger(options.maxSteps) && options.maxSteps >= 1)) {
    throw new RangeError(`maxSteps must be a positive integer, got ${options.maxSteps}`);
  }
}

export async function train(ctx: Context, dataset: Dataset, partialConfig: Partial<MindConfig>, options: TrainOptions): Promise<TrainResult> {
  checkOptions(options);
  const config = resolveConfig(partialConfig);
  const samples = trainingSampleCount(dataset);
  if (samples === 0) throw new Error('the data set has no training samples (every training user needs at least 2 interactions)');
  const model = new MindModel(ctx, config, modelShapeOf(dataset), dataset.itemFeatures, options.initialWeights);
  const params = [...model.params.values()];
  const embeddings = ['item_embedding', 'profile_embedding'];
  const sparse = params.filter((p) => embeddings.includes(p.label));
  const dense = params.filter((p) => !embeddings.includes(p.label));
  const optimizers = [
    new Adam(ctx, sparse, { lr: config.learningRate, weightDecay: config.l2Embedding }),
    new Adam(ctx, dense, { lr: config.learningRate }),
  ];
  const sampler = createSampler(config.sampler, { numItems: dataset.numItems, counts: dataset.itemCounts, alpha: config.samplerAlpha });
  const numSampled = config.numSampled;
  const logEvery = options.logEvery ?? 20;
  const stepsPerEpoch = Math.ceil(samples / options.batchSize);
  const totalSteps = Math.min(stepsPerEpoch * options.epochs, options.maxSteps ?? Infinity);
  const validationUsers = dataset.split.validation.length > 0 ? heldOutUsers(dataset, 'validation') : undefined;
  const selectBy = options.selectBy ?? 'recall@50';
  const report = options.onProgress ?? (() => {});

  const losses: { step: number; loss: number }[] = [];
  const validation: { epoch: number; metrics: RankingMetrics }[] = [];
  let bestEpoch = 0;
  let bestScore = -Infinity;
  let bestWeights: Map<string, Float32Array> | undefined;
  let step = 0;
  const started = performance.now();
  // One step stays in flight: the CPU prepares step t+1 while the GPU runs step t, and waiting
  // for step t-1 lets the pool recycle its buffers, so memory stays flat.
  let previous: Promise<unknown> = Promise.resolve();

  for (let epoch = 1; epoch <= options.epochs && step < totalSteps; epoch++) {
    let inEpoch = 0;
    let lossSum = 0;
    let lossCount = 0;
    let windowStart = performance.now();
    let windowSamples = 0;
    for (const batch of batches(dataset, { batchSize: options.batchSize, seed: config.seed, epoch })) {
      if (step >= totalSteps || options.signal?.aborted) break;
      const negativesRng = new Random(config.seed).fork('negatives').fork(step);
      const negatives = sampler.sample(numSampled, negativesRng);
      const logged = (step + 1) % logEvery === 0 || step + 1 === totalSteps;
      const lossValue = await ctx.tidy(async () => {
        const loss = model.loss(batch, { negatives, logExpectedCount: (ids) => sampler.logExpectedCount(ids, numSampled) }, step);
        await loss.backward();
        for (const opt of optimizers) opt.step();
        if (logged) return (await loss.read())[0];
        ctx.submit();
        return undefined;
      });
      await previous;
      previous = ctx.gpu.device.queue.onSubmittedWorkDone();
      step++;
      inEpoch++;
      windowSamples += batch.lengths.length;
      if (lossValue !== undefined) {
        if (!Number.isFinite(lossValue)) {
          throw new Error(`training diverged: the loss is ${lossValue} at step ${step} (epoch ${epoch}); try a lower learning rate`);
        }
        losses.push({ step, loss: lossValue });
        lossSum += lossValue;
        lossCount++;
        const now = performance.now();
        report({
          phase: 'train', epoch, epochs: options.epochs, step: inEpoch, stepsPerEpoch, totalSteps,
          loss: lossSum / lossCount, samplesPerSecond: (windowSamples / (now - windowStart)) * 1000,
        });
        lossSum = 0;
        lossCount = 0;
        windowStart = now;
        windowSamples = 0;
      }
    }
    if (options.signal?.aborted) {
      bestEpoch = epoch;
      bestWeights = undefined;
      break;
    }
    const isLast = epoch === options.epochs || step >= totalSteps;
    if (validationUsers && (options.validate !== false || isLast)) {
      report({ phase: 'validate', epoch, epochs: options.epochs, step: inEpoch, stepsPerEpoch, totalSteps });
      const metrics = await evaluateModel(model, validationUsers);
      validation.push({ epoch, metrics });
      report({ phase: 'validate', epoch, epochs: options.epochs, step: inEpoch, stepsPerEpoch, totalSteps, validation: metrics });
      const score = metrics[selectBy];
      if (score === undefined) throw new Error(`selectBy: no metric named ${selectBy}`);
      if (score > bestScore) {
        bestScore = score;
        bestEpoch = epoch;
        bestWeights = await snapshotWeights(model);
      }
    } else if (isLast) {
      bestEpoch = epoch;
    }
  }
  await ctx.sync();
  for (const opt of optimizers) opt.dispose();
  // After an abort bestWeights is cleared: the result is the weights reached, not an older epoch's.
  if (bestWeights && validation[validation.length - 1]?.epoch !== bestEpoch) restoreWeights(model, bestWeights);
  bestWeights ??= await snapshotWeights(model);
  report({ phase: 'done', epoch: bestEpoch, epochs: options.epochs, step: 0, stepsPerEpoch, totalSteps });
  return {
    model, config, losses, validation, bestEpoch, bestWeights, steps: step,
    seconds: (performance.now() - started) / 1000,
  };
}
