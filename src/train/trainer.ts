/**
 * The training loop: seeded epochs of batches, one command encoder and one submit per step,
 * the loss read back only when logged, validation every epoch (through the caller's callback:
 * train/ imports nothing from serve/) and the best weights kept.
 * Deterministic for a given seed on a given adapter: batches, negatives, routing seeds and
 * dropout masks all derive from `config.seed` and the epoch or step number, which is also why a
 * run resumes exactly from its counters, weights and Adam moments (train-state.ts).
 *
 * Every step's loss is copied to the host in the step's own submit and checked one step later,
 * when the loop waits for that step anyway: a NaN or infinite loss stops the run at the step it
 * appeared (NonFiniteError naming the step and the non-finite parameters), and the state handed
 * to `onEpochEnd` is checked to be finite, so a caller that saves it never saves a broken run.
 */
import type { Context } from '../autograd/context.js';
import { type Dataset } from '../data/dataset.js';
import { type HeldOutSet, batches, heldOutUsers, trainingSampleCount } from '../data/batches.js';
import { Random } from '../data/random.js';
import { createSampler } from '../data/samplers.js';
import { type MindConfig, resolveConfig } from '../mind/config.js';
import { MindModel, modelShapeOf } from '../mind/model.js';
import { Adam } from './adam.js';
import { NonFiniteError, findNonFinite } from './non-finite.js';
import type { TrainState } from './train-state.js';
import { type WarmUpResult, compilePipelinesAhead } from './warm-up.js';

/** Metrics by name (e.g. 'recall@50'), as a validation callback reports them. */
export type RankingMetrics = Record<string, number>;

/**
 * The validation callback: the metrics of `model` on the data set's validation users `users`
 * (for instance evaluateModel of src/serve/retrieval.ts, what the CLI and the demo pass). The
 * trainer never imports serving code; it only calls this.
 */
export type ValidationCallback = (model: MindModel, users: HeldOutSet) => Promise<RankingMetrics>;

export interface TrainOptions {
  epochs: number;
  batchSize: number;
  /** Report and record the loss every this many steps (every step's loss is checked for NaN). */
  logEvery?: number;
  /** Stop after this many steps in total (for quick runs and tests); the state stays resumable. */
  maxSteps?: number;
  /**
   * Validation after each epoch, whose `selectBy` metric picks the epoch whose weights are kept.
   * Without it nothing is validated and the last epoch is kept.
   */
  evaluate?: ValidationCallback;
  /**
   * Validate on a seeded uniform sample of this many validation users (the same users after
   * every epoch and on resume; sample seed = config.seed) instead of all of them: for
   * catalogues where scoring every validation user against every item takes hours. Undefined:
   * all of them.
   */
  validationUsers?: number;
  /** Skip the per-epoch validation (still evaluates once at the end if there are validation users). */
  validate?: boolean;
  /** Metric that picks the best epoch; default 'recall@50'. */
  selectBy?: string;
  onProgress?: (progress: TrainProgress) => void;
  /**
   * Start from these weights with fresh Adam moments and counters (a warm start, not a resume);
   * otherwise fresh initialisation. To continue a run exactly, pass `resume` instead.
   */
  initialWeights?: Map<string, Float32Array>;
  /**
   * Continue a run from its state (`TrainResult.state`, or one given to `onEpochEnd`): weights,
   * Adam moments and step count, epoch and batch position, validation history and best epoch.
   * With the same data set, configuration, epochs and batch size, the result is bitwise the
   * result of the run never stopped, on the same adapter.
   */
  resume?: TrainState;
  /** Called after each completed epoch (and its validation) with the state to resume from. */
  onEpochEnd?: (state: TrainState) => Promise<void> | void;
  /** Stops training after the current step; the result holds the weights reached so far. */
  signal?: AbortSignal;
  /**
   * Compile every pipeline of a step, and of `evaluate`, ahead of the first step, all at once
   * with createComputePipelineAsync (warm-up.ts); default true. `evaluate` then runs once dry
   * (every GPU read zeros, its result discarded), so it must have no other effect.
   */
  warmUp?: boolean;
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
  /** Why training ended: every epoch ran, `maxSteps` was reached, or `signal` aborted it. */
  stopped: 'completed' | 'maxSteps' | 'aborted';
  /** The state to resume from: the weights reached (before the best epoch's were restored). */
  state: TrainState;
  /** What the pipeline warm-up found and compiled, and its wall time; absent when it did not run. */
  warmUp?: WarmUpResult;
}

/** Reads every parameter to the host (a snapshot for checkpoints and best-epoch keeping). */
export async function snapshotWeights(model: MindModel): Promise<Map<string, Float32Array>> {
  const out = new Map<string, Float32Array>();
  for (const [name, p] of model.params) out.set(name, (await p.read()) as Float32Array);
  return out;
}

function restoreWeights(model: MindModel, weights: Map<string, Float32Array>): void {
  for (const [name, p] of model.params) p.write(weights.get(name)!);
}

/** Validation users the warm-up's dry evaluation runs on: evaluateModel's default chunk. */
const WARM_UP_VALIDATION_USERS = 256;

/** The validation users of the warm-up's dry evaluation: at most one evaluation chunk of them. */
function warmUpUsers(dataset: Dataset, validationUsers: HeldOutSet, seed: number): HeldOutSet {
  if (validationUsers.users.length <= WARM_UP_VALIDATION_USERS) return validationUsers;
  return heldOutUsers(dataset, 'validation', { count: WARM_UP_VALIDATION_USERS, seed });
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
  if (options.validationUsers !== undefined && !(Number.isInteger(options.validationUsers) && options.validationUsers >= 1)) {
    throw new RangeError(`validationUsers must be a positive integer, got ${options.validationUsers}`);
  }
}

export async function train(ctx: Context, dataset: Dataset, partialConfig: Partial<MindConfig>, options: TrainOptions): Promise<TrainResult> {
  checkOptions(options);
  const config = resolveConfig(partialConfig);
  const samples = trainingSampleCount(dataset);
  if (samples === 0) throw new Error('the data set has no training samples (every training user needs at least 2 interactions)');
  const resume = options.resume;
  if (resume && options.initialWeights) throw new RangeError('train: give initialWeights (a warm start) or resume, not both');
  const stepsPerEpoch = Math.ceil(samples / options.batchSize);
  if (resume && resume.batchesDone > stepsPerEpoch) {
    throw new RangeError(`resume: the state has ${resume.batchesDone} batches of epoch ${resume.epoch} done, but an epoch of this data set and batch size has ${stepsPerEpoch}`);
  }
  const model = new MindModel(ctx, config, modelShapeOf(dataset), dataset.itemFeatures, resume?.weights ?? options.initialWeights);
  const params = [...model.params.values()];
  const embeddings = ['item_embedding', 'profile_embedding'];
  const sparse = params.filter((p) => embeddings.includes(p.label));
  const dense = params.filter((p) => !embeddings.includes(p.label));
  const optimizers = [
    new Adam(ctx, sparse, { lr: config.learningRate, weightDecay: config.l2Embedding }),
    new Adam(ctx, dense, { lr: config.learningRate }),
  ];
  if (resume) {
    try {
      if (resume.optimizers.length !== optimizers.length) {
        throw new RangeError(`resume: the state has ${resume.optimizers.length} optimiser states, the trainer has ${optimizers.length}`);
      }
      optimizers.forEach((opt, i) => opt.importState(resume.optimizers[i]));
    } catch (err) {
      for (const opt of optimizers) opt.dispose();
      model.dispose();
      throw err;
    }
  }
  const sampler = createSampler(config.sampler, { numItems: dataset.numItems, counts: dataset.itemCounts, alpha: config.samplerAlpha });
  const numSampled = config.numSampled;
  const logEvery = options.logEvery ?? 20;
  const totalSteps = Math.min(stepsPerEpoch * options.epochs, options.maxSteps ?? Infinity);
  const evaluate = options.evaluate;
  const validationSample = options.validationUsers === undefined ? undefined : { count: options.validationUsers, seed: config.seed };
  const validationUsers = evaluate && dataset.split.validation.length > 0 ? heldOutUsers(dataset, 'validation', validationSample) : undefined;
  const selectBy = options.selectBy ?? 'recall@50';
  const report = options.onProgress ?? (() => {});

  const losses = [...(resume?.losses ?? [])];
  const validation = [...(resume?.validation ?? [])];
  let bestEpoch = resume?.bestEpoch ?? 0;
  let bestScore = resume?.bestScore ?? -Infinity;
  let bestWeights = resume?.bestWeights;
  // Whether the model holds bestWeights right now: only just after they were snapshotted. A
  // resumed run's model holds the state's weights, which may be later than its best epoch's.
  let modelHoldsBest = false;
  // What a resumable state holds: completed epochs only. A validation of an epoch cut short by
  // maxSteps is provisional: the same run continued would not have validated there.
  let committed = { validations: validation.length, bestEpoch, bestScore, bestWeights };
  let step = resume?.step ?? 0;
  let epoch = resume?.epoch ?? 1;
  let batchesDone = resume?.batchesDone ?? 0;
  let stopped: TrainResult['stopped'] = 'completed';
  const started = performance.now();

  /** The state to resume from when the next step is batch `next.batchesDone` of `next.epoch`. */
  const stateAt = async (next: { epoch: number; batchesDone: number }): Promise<TrainState> => {
    const current = await snapshotWeights(model);
    const broken = findNonFinite(current);
    if (broken.length > 0) throw new NonFiniteError(step, epoch, undefined, broken);
    return {
      step, ...next, weights: current,
      optimizers: await Promise.all(optimizers.map((opt) => opt.exportState())),
      validation: validation.slice(0, committed.validations),
      bestEpoch: committed.bestEpoch, bestScore: committed.bestScore, bestWeights: committed.bestWeights,
      losses: [...losses],
    };
  };

  // One step stays in flight: the CPU prepares step t+1 while the GPU runs step t; waiting for
  // step t-1 (through its loss readback) lets the pool recycle its buffers, so memory stays flat.
  let inFlight: { step: number; epoch: number; inEpoch: number; samples: number; logged: boolean; loss: Promise<ArrayLike<number>> } | undefined;
  let lossSum = 0;
  let lossCount = 0;
  let windowStart = performance.now();
  let windowSamples = 0;
  const settle = async () => {
    if (!inFlight) return;
    const done = inFlight;
    inFlight = undefined;
    const loss = (await done.loss)[0];
    if (!Number.isFinite(loss)) throw new NonFiniteError(done.step, done.epoch, loss, findNonFinite(await snapshotWeights(model)));
    lossSum += loss;
    lossCount++;
    // Counted when the step is done, so a report's rate covers exactly the steps it reports
    // (counted at submit, the step in flight went to the window before and was lost at its reset).
    windowSamples += done.samples;
    if (!done.logged) return;
    losses.push({ step: done.step, loss });
    const now = performance.now();
    report({
      phase: 'train', epoch: done.epoch, epochs: options.epochs, step: done.inEpoch, stepsPerEpoch, totalSteps,
      loss: lossSum / lossCount, samplesPerSecond: (windowSamples / (now - windowStart)) * 1000,
    });
    lossSum = 0;
    lossCount = 0;
    windowStart = now;
    windowSamples = 0;
  };

  const negativesFor = (at: number) => sampler.sample(numSampled, new Random(config.seed).fork('negatives').fork(at));
  const candidatesOf = (negatives: Int32Array) => ({ negatives, logExpectedCount: (ids: Int32Array) => sampler.logExpectedCount(ids, numSampled) });
  let warmUp: WarmUpResult | undefined;

  try {
    if (options.warmUp !== false && step < totalSteps && !options.signal?.aborted) {
      const upcoming = batches(dataset, { batchSize: options.batchSize, seed: config.seed, epoch });
      for (let skipped = 0; skipped < batchesDone; skipped++) upcoming.next();
      const first = upcoming.next();
      if (!first.done) {
        warmUp = await compilePipelinesAhead(ctx, {
          model, batch: first.value, candidates: candidatesOf(negativesFor(step)), step, parameterGroups: [sparse, dense],
          // One evaluation chunk's worth of users finds the same kernels as all of them, without
          // the dry run's host work growing with the validation set.
          evaluate: evaluate && validationUsers ? () => evaluate(model, warmUpUsers(dataset, validationUsers, config.seed)) : undefined,
        });
      }
      // samples/s measures steps, not the compilation.
      windowStart = performance.now();
    }
    for (; epoch <= options.epochs; epoch++, batchesDone = 0) {
      if (step >= totalSteps) {
        stopped = 'maxSteps';
        break;
      }
      const epochBatches = batches(dataset, { batchSize: options.batchSize, seed: config.seed, epoch });
      for (let skipped = 0; skipped < batchesDone; skipped++) epochBatches.next();
      for (const batch of epochBatches) {
        if (step >= totalSteps || options.signal?.aborted) break;
        const negatives = negativesFor(step);
        const logged = (step + 1) % logEvery === 0 || step + 1 === totalSteps;
        const read = await ctx.tidy(async () => {
          const loss = model.loss(batch, candidatesOf(negatives), step);
          await loss.backward();
          for (const opt of optimizers) opt.step();
          // The copy rides in this step's one submit; the value is awaited a step later.
          return { loss: loss.read() };
        });
        // Awaited in settle(); marked handled now so a failure (a lost device) is not reported
        // as an unhandled rejection before then.
        read.loss.catch(() => {});
        step++;
        batchesDone++;
        modelHoldsBest = false;
        await settle();
        inFlight = { step, epoch, inEpoch: batchesDone, samples: batch.lengths.length, logged, loss: read.loss };
      }
      await settle();
      if (options.signal?.aborted) {
        stopped = 'aborted';
        break;
      }
      const epochDone = batchesDone === stepsPerEpoch;
      const isLast = epoch === options.epochs || step >= totalSteps;
      if (evaluate && validationUsers && (options.validate !== false || isLast)) {
        report({ phase: 'validate', epoch, epochs: options.epochs, step: batchesDone, stepsPerEpoch, totalSteps });
        const metrics = await evaluate(model, validationUsers);
        validation.push({ epoch, metrics });
        report({ phase: 'validate', epoch, epochs: options.epochs, step: batchesDone, stepsPerEpoch, totalSteps, validation: metrics });
        const score = metrics[selectBy];
        if (score === undefined) throw new Error(`selectBy: no metric named ${selectBy}`);
        if (score > bestScore) {
          bestScore = score;
          bestEpoch = epoch;
          bestWeights = await snapshotWeights(model);
          modelHoldsBest = true;
        }
      } else if (isLast) {
        bestEpoch = epoch;
      }
      if (!epochDone) {
        stopped = 'maxSteps';
        break;
      }
      committed = { validations: validation.length, bestEpoch, bestScore, bestWeights };
      if (options.onEpochEnd) await options.onEpochEnd(await stateAt({ epoch: epoch + 1, batchesDone: 0 }));
    }
    await ctx.sync();
    const state = await stateAt({ epoch, batchesDone });
    // After an abort the result is the weights reached, not an older epoch's.
    if (stopped === 'aborted') {
      bestEpoch = epoch;
      bestWeights = undefined;
    }
    if (bestWeights && !modelHoldsBest) restoreWeights(model, bestWeights);
    bestWeights ??= state.weights;
    report({ phase: 'done', epoch: bestEpoch, epochs: options.epochs, step: 0, stepsPerEpoch, totalSteps });
    return {
      model, config, losses, validation, bestEpoch, bestWeights, steps: step,
      seconds: (performance.now() - started) / 1000, stopped, state, ...(warmUp ? { warmUp } : {}),
    };
  } catch (err) {
    // The model is the caller's only on success.
    await inFlight?.loss.catch(() => {});
    model.dispose();
    throw err;
  } finally {
    for (const opt of optimizers) opt.dispose();
  }
}
