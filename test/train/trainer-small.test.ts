/**
 * The training loop on a tiny model, small enough to run against every mutant of trainer.ts:
 * its first steps against the same steps taken by hand (the batches of (seed, epoch), the
 * negatives of (seed, step), model.loss, backward, and the two Adam optimisers: embedding tables
 * with config.l2Embedding, the rest without), the logging and progress reports, the step and
 * epoch counters, the option checks, and the best-epoch bookkeeping against a scripted
 * validation callback whose metrics are known in advance.
 */
import { describe, expect, test } from 'vitest';
import { batches, heldOutUsers, trainingSampleCount } from '../../src/data/batches.js';
import { Random } from '../../src/data/random.js';
import { createSampler } from '../../src/data/samplers.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { resolveConfig } from '../../src/mind/config.js';
import { MindModel, modelShapeOf } from '../../src/mind/model.js';
import { Adam } from '../../src/train/adam.js';
import type { TrainState } from '../../src/train/train-state.js';
import { NonFiniteError } from '../../src/train/non-finite.js';
import { snapshotWeights, train, type RankingMetrics, type TrainProgress, type ValidationCallback } from '../../src/train/trainer.js';
import { useContext } from '../helpers/gpu.js';

const dataset = generateSynthetic({ seed: 8, numItems: 30, numCategories: 6, numUsers: 24, minSequenceLength: 3, maxSequenceLength: 6, maxLength: 4 });
const partial = { dim: 4, kMax: 2, hiddenUnits: [4], profileDim: 2, numSampled: 6, learningRate: 0.05, l2Embedding: 0.01, seed: 3 };
const BATCH = 8;

/** Training samples by hand: every training user's sequence minus its first item. */
const SAMPLES = dataset.split.train.reduce((n, u) => n + Math.max(0, dataset.users[u].items.length - 1), 0);
const STEPS_PER_EPOCH = Math.ceil(SAMPLES / BATCH);

function same(a: Map<string, Float32Array>, b: Map<string, Float32Array>): boolean {
  return a.size > 0 && a.size === b.size && [...a].every(([name, w]) => {
    const other = b.get(name);
    return other !== undefined && Buffer.from(other.buffer, other.byteOffset, other.byteLength).equals(Buffer.from(w.buffer, w.byteOffset, w.byteLength));
  });
}

/**
 * A validation callback returning the scripted metrics of each call in turn, and recording its
 * calls. Runs that use one turn the pipeline warm-up off (`warmUp: false`): the warm-up calls the
 * callback once more, dry, before the first step.
 */
function scripted(script: RankingMetrics[]): ValidationCallback & { calls: { users: number; weights: Map<string, Float32Array> }[] } {
  const calls: { users: number; weights: Map<string, Float32Array> }[] = [];
  const callback = async (model: MindModel, users: { lengths: Int32Array }) => {
    calls.push({ users: users.lengths.length, weights: await snapshotWeights(model) });
    const metrics = script[calls.length - 1];
    if (!metrics) throw new Error(`scripted validation: no metrics for call ${calls.length}`);
    return metrics;
  };
  return Object.assign(callback, { calls });
}

describe('the training loop on a tiny model', () => {
  const getCtx = useContext();

  test('the fixture: several steps per epoch, validation users present', () => {
    expect(trainingSampleCount(dataset)).toBe(SAMPLES);
    expect(STEPS_PER_EPOCH).toBeGreaterThanOrEqual(4);
    expect(dataset.split.validation.length).toBeGreaterThan(0);
  });

  test('options are checked before anything runs, each error naming the option and value', async () => {
    const ctx = getCtx();
    const base = { epochs: 1, batchSize: BATCH };
    const cases: [object, string][] = [
      [{ epochs: 0 }, 'epochs must be a positive integer, got 0'],
      [{ epochs: 1.5 }, 'epochs must be a positive integer, got 1.5'],
      [{ batchSize: 0 }, 'batchSize must be a positive integer, got 0'],
      [{ batchSize: 2.5 }, 'batchSize must be a positive integer, got 2.5'],
      [{ logEvery: 0 }, 'logEvery must be a positive integer, got 0'],
      [{ logEvery: 1.5 }, 'logEvery must be a positive integer, got 1.5'],
      [{ maxSteps: 0 }, 'maxSteps must be a positive integer, got 0'],
      [{ maxSteps: 2.5 }, 'maxSteps must be a positive integer, got 2.5'],
      [{ initialWeights: new Map(), resume: {} as TrainState }, 'train: give initialWeights (a warm start) or resume, not both'],
      [{ resume: { batchesDone: STEPS_PER_EPOCH + 1, epoch: 2 } as TrainState }, `resume: the state has ${STEPS_PER_EPOCH + 1} batches of epoch 2 done, but an epoch of this data set and batch size has ${STEPS_PER_EPOCH}`],
      [{ resume: { batchesDone: 0, epoch: 1, step: 0, optimizers: [{ stepCount: 0, moments: new Map() }] } as unknown as TrainState }, 'resume: the state has 1 optimiser states, the trainer has 2'],
    ];
    for (const [options, message] of cases) await expect(train(ctx, dataset, partial, { ...base, ...options }), message).rejects.toThrow(message);
    // A resume at the very end of an epoch is legal (batchesDone = steps per epoch, checked not to throw the range error).
    const empty = { ...dataset, split: { ...dataset.split, train: [] } };
    await expect(train(ctx, empty, partial, base)).rejects.toThrow('the data set has no training samples (every training user needs at least 2 interactions)');
  });

  test('three steps equal the same steps taken by hand; losses logged every 2nd step and at the last, progress with the mean loss since the last report', async () => {
    const ctx = getCtx();
    const reports: TrainProgress[] = [];
    const run = await train(ctx, dataset, partial, { epochs: 2, batchSize: BATCH, logEvery: 2, maxSteps: 3, onProgress: (p) => reports.push(p) });

    // By hand: the same initialisation, the trainer's documented streams, two optimisers.
    const config = resolveConfig(partial);
    const model = new MindModel(ctx, config, modelShapeOf(dataset), dataset.itemFeatures);
    const params = [...model.params.values()];
    const isTable = (name: string) => name === 'item_embedding' || name === 'profile_embedding';
    const sparse = new Adam(ctx, params.filter((p) => isTable(p.label)), { lr: 0.05, weightDecay: 0.01 });
    const dense = new Adam(ctx, params.filter((p) => !isTable(p.label)), { lr: 0.05 });
    expect(sparse.params.length).toBe(2);
    const sampler = createSampler(config.sampler, { numItems: dataset.numItems, counts: dataset.itemCounts, alpha: config.samplerAlpha });
    const epoch1 = batches(dataset, { batchSize: BATCH, seed: config.seed, epoch: 1 });
    const losses: number[] = [];
    for (let step = 0; step < 3; step++) {
      const batch = epoch1.next().value!;
      const negatives = sampler.sample(6, new Random(config.seed).fork('negatives').fork(step));
      losses.push(
        await ctx.tidy(async () => {
          const loss = model.loss(batch, { negatives, logExpectedCount: (ids) => sampler.logExpectedCount(ids, 6) }, step);
          await loss.backward();
          sparse.step();
          dense.step();
          return (await loss.read())[0];
        }),
      );
    }
    const weights = await snapshotWeights(model);
    expect(same(run.state.weights, weights)).toBe(true);
    expect(same(run.bestWeights, weights)).toBe(true);
    expect(same(await snapshotWeights(run.model), weights)).toBe(true);
    const states = [await sparse.exportState(), await dense.exportState()];
    expect(run.state.optimizers.map((o) => o.stepCount)).toEqual([3, 3]);
    run.state.optimizers.forEach((o, i) => {
      expect([...o.moments.keys()]).toEqual([...states[i].moments.keys()]);
      for (const [name, { m, v }] of o.moments) {
        expect(Array.from(m), `m ${name}`).toEqual(Array.from(states[i].moments.get(name)!.m));
        expect(Array.from(v), `v ${name}`).toEqual(Array.from(states[i].moments.get(name)!.v));
      }
    });
    sparse.dispose();
    dense.dispose();
    model.dispose();

    expect(run.losses).toEqual([{ step: 2, loss: losses[1] }, { step: 3, loss: losses[2] }]);
    expect(run.steps).toBe(3);
    expect(run.stopped).toBe('maxSteps');
    expect(run.bestEpoch).toBe(1);
    expect(run.validation).toEqual([]);
    expect({ step: run.state.step, epoch: run.state.epoch, batchesDone: run.state.batchesDone, bestEpoch: run.state.bestEpoch }).toEqual({ step: 3, epoch: 1, batchesDone: 3, bestEpoch: 0 });
    expect(run.state.losses).toEqual(run.losses);
    // Every train report has a positive rate: each window's samples are those of the steps it
    // reports (the last window once read 0 samples: the step in flight was counted in the one before).
    const strip = ({ samplesPerSecond, ...rest }: TrainProgress) => {
      expect(rest.phase === 'train' ? samplesPerSecond! > 0 && Number.isFinite(samplesPerSecond) : samplesPerSecond === undefined, `rate ${samplesPerSecond}`).toBe(true);
      return rest;
    };
    expect(reports.map(strip)).toEqual([
      { phase: 'train', epoch: 1, epochs: 2, step: 2, stepsPerEpoch: STEPS_PER_EPOCH, totalSteps: 3, loss: (losses[0] + losses[1]) / 2 },
      { phase: 'train', epoch: 1, epochs: 2, step: 3, stepsPerEpoch: STEPS_PER_EPOCH, totalSteps: 3, loss: losses[2] },
      { phase: 'done', epoch: 1, epochs: 2, step: 0, stepsPerEpoch: STEPS_PER_EPOCH, totalSteps: 3 },
    ]);
    run.model.dispose();
  });

  test('the best epoch by selectBy (default recall@50, ties to the earlier epoch) is the one whose weights the model holds', async () => {
    const ctx = getCtx();
    const script = [
      { 'recall@50': 0.2, 'ndcg@50': 0.1 },
      { 'recall@50': 0.5, 'ndcg@50': 0.2 },
      { 'recall@50': 0.5, 'ndcg@50': 0.4 },
      { 'recall@50': 0.3, 'ndcg@50': 0.3 },
    ];
    const validationUsers = heldOutUsers(dataset, 'validation').lengths.length;
    const states: TrainState[] = [];
    const reports: TrainProgress[] = [];
    const evaluate = scripted(script);
    const run = await train(ctx, dataset, partial, { epochs: 4, batchSize: 16, warmUp: false, evaluate, onEpochEnd: (s) => void states.push(s), onProgress: (p) => reports.push(p) });
    const perEpoch = Math.ceil(SAMPLES / 16);
    expect(run.stopped).toBe('completed');
    expect(run.steps).toBe(4 * perEpoch);
    expect(run.validation).toEqual(script.map((metrics, i) => ({ epoch: i + 1, metrics })));
    expect(evaluate.calls.map((c) => c.users)).toEqual([validationUsers, validationUsers, validationUsers, validationUsers]);
    // Each epoch's state: the next epoch from its start, the steps so far, the committed best.
    expect(states.map((s) => [s.epoch, s.batchesDone, s.step, s.validation.length, s.bestEpoch, s.bestScore])).toEqual([
      [2, 0, perEpoch, 1, 1, 0.2],
      [3, 0, 2 * perEpoch, 2, 2, 0.5],
      [4, 0, 3 * perEpoch, 3, 2, 0.5],
      [5, 0, 4 * perEpoch, 4, 2, 0.5],
    ]);
    // Validation sees the weights of the epoch just trained.
    evaluate.calls.forEach((c, i) => expect(same(c.weights, states[i].weights), `epoch ${i + 1}`).toBe(true));
    expect(same(states[2].bestWeights!, states[1].weights)).toBe(true);
    expect(run.bestEpoch).toBe(2);
    expect(same(await snapshotWeights(run.model), states[1].weights)).toBe(true);
    expect(same(run.bestWeights, states[1].weights)).toBe(true);
    // The resumable state holds the weights reached, not the restored ones.
    expect(same(run.state.weights, states[3].weights)).toBe(true);
    expect(same(states[3].weights, states[1].weights)).toBe(false);
    // Two validate reports per epoch, the second with the metrics; 'done' names the best epoch.
    const validate = reports.filter((p) => p.phase === 'validate');
    expect(validate.map((p) => [p.epoch, p.step, p.validation])).toEqual(script.flatMap((m, i) => [[i + 1, perEpoch, undefined], [i + 1, perEpoch, m]]));
    expect(reports[reports.length - 1]).toEqual({ phase: 'done', epoch: 2, epochs: 4, step: 0, stepsPerEpoch: perEpoch, totalSteps: 4 * perEpoch });
    run.model.dispose();

    // The same training selected by another metric: epoch 3. Training does not depend on selectBy.
    const byNdcg = await train(ctx, dataset, partial, { epochs: 4, batchSize: 16, warmUp: false, evaluate: scripted(script), selectBy: 'ndcg@50' });
    expect(byNdcg.bestEpoch).toBe(3);
    expect(same(await snapshotWeights(byNdcg.model), states[2].weights)).toBe(true);
    expect(same(byNdcg.state.weights, states[3].weights)).toBe(true);
    byNdcg.model.dispose();

    // A metric the callback does not report.
    await expect(train(ctx, dataset, partial, { epochs: 2, batchSize: 16, warmUp: false, evaluate: scripted(script), selectBy: 'recall@5' })).rejects.toThrow('selectBy: no metric named recall@5');
  });

  test('validate: false validates only after the last epoch; the last epoch best keeps the model as reached; no callback keeps the last epoch', async () => {
    const ctx = getCtx();
    const evaluate = scripted([{ 'recall@50': 0.1 }]);
    const states: TrainState[] = [];
    const run = await train(ctx, dataset, partial, { epochs: 2, batchSize: 16, warmUp: false, evaluate, validate: false, onEpochEnd: (s) => void states.push(s) });
    expect(evaluate.calls.length).toBe(1);
    expect(run.validation).toEqual([{ epoch: 2, metrics: { 'recall@50': 0.1 } }]);
    // No epoch validated yet when epoch 1 ends: the state's best epoch is 0 (none).
    expect(states.map((st) => st.bestEpoch)).toEqual([0, 2]);
    expect(run.bestEpoch).toBe(2);
    expect(same(await snapshotWeights(run.model), states[1].weights)).toBe(true);
    expect(same(run.bestWeights, states[1].weights)).toBe(true);
    run.model.dispose();

    const plain = await train(ctx, dataset, partial, { epochs: 2, batchSize: 16 });
    expect(plain.validation).toEqual([]);
    expect(plain.bestEpoch).toBe(2);
    expect(same(plain.bestWeights, states[1].weights)).toBe(true);
    plain.model.dispose();
  });

  test('an abort in epoch 2 keeps the weights reached (not epoch 1\'s, the best validated); an abort before the start runs no step', async () => {
    const ctx = getCtx();
    const controller = new AbortController();
    const evaluate = scripted([{ 'recall@50': 0.9 }, { 'recall@50': 0.1 }]);
    const perEpoch = Math.ceil(SAMPLES / 16);
    const run = await train(ctx, dataset, partial, {
      epochs: 3, batchSize: 16, logEvery: 1, warmUp: false, evaluate, signal: controller.signal,
      // Reported a step late: the report of step perEpoch + 1 comes when step perEpoch + 2 is done.
      onProgress: (p) => p.phase === 'train' && p.epoch === 2 && p.step === 1 && controller.abort(),
    });
    expect(run.stopped).toBe('aborted');
    expect(run.steps).toBe(perEpoch + 2);
    expect(run.bestEpoch).toBe(2);
    expect(run.validation.map((v) => v.epoch)).toEqual([1]);
    expect(same(await snapshotWeights(run.model), run.state.weights)).toBe(true);
    expect(same(run.bestWeights, run.state.weights)).toBe(true);
    expect(same(run.state.weights, evaluate.calls[0].weights)).toBe(false);
    expect([run.state.epoch, run.state.batchesDone, run.state.step]).toEqual([2, 2, perEpoch + 2]);
    run.model.dispose();

    const early = new AbortController();
    early.abort();
    const fresh = new MindModel(ctx, resolveConfig(partial), modelShapeOf(dataset), dataset.itemFeatures);
    const initial = await snapshotWeights(fresh);
    fresh.dispose();
    const none = await train(ctx, dataset, partial, { epochs: 2, batchSize: 16, signal: early.signal });
    expect(none.stopped).toBe('aborted');
    expect(none.steps).toBe(0);
    expect(none.losses).toEqual([]);
    expect(same(none.state.weights, initial)).toBe(true);
    none.model.dispose();
  });

  test('a warm start begins from initialWeights; a loss that is not finite stops the run with NonFiniteError at its step', async () => {
    const ctx = getCtx();
    const config = resolveConfig(partial);
    const fresh = new MindModel(ctx, config, modelShapeOf(dataset), dataset.itemFeatures);
    const initial = await snapshotWeights(fresh);
    fresh.dispose();
    const warm = new Map([...initial].map(([name, w]) => [name, w.map((x) => x + 0.5)]));
    const aborted = new AbortController();
    aborted.abort();
    const run = await train(ctx, dataset, partial, { epochs: 1, batchSize: BATCH, initialWeights: warm, signal: aborted.signal });
    expect(same(run.state.weights, warm)).toBe(true);
    expect(same(await snapshotWeights(run.model), warm)).toBe(true);
    run.model.dispose();
    // maxSteps 1 is a legal budget.
    const one = await train(ctx, dataset, partial, { epochs: 1, batchSize: BATCH, maxSteps: 1 });
    expect(one.steps).toBe(1);
    one.model.dispose();

    // Item vectors near the f32 limit: the first loss overflows.
    const huge = new Map(initial);
    huge.set('item_embedding', huge.get('item_embedding')!.map((x) => Math.sign(x) * 3e38));
    const error = await train(ctx, dataset, partial, { epochs: 1, batchSize: BATCH, initialWeights: huge }).catch((e) => e);
    expect(error).toBeInstanceOf(NonFiniteError);
    expect(error.step).toBe(1);
    expect(Number.isFinite(error.loss)).toBe(false);
  });

  test('resumed at the end of epoch 1 (aborted there) and in the middle of epoch 2 (cut by maxSteps): the losses, validation, best epoch and weights of the run never stopped', async () => {
    const ctx = getCtx();
    const perEpoch = Math.ceil(SAMPLES / 16);
    const m1 = { 'recall@50': 0.4 };
    const m2 = { 'recall@50': 0.3 };
    const options = { epochs: 2, batchSize: 16, logEvery: 1, warmUp: false };
    const whole = await train(ctx, dataset, partial, { ...options, evaluate: scripted([m1, m2]) });
    expect(whole.bestEpoch).toBe(1);
    const expectSame = async (run: Awaited<ReturnType<typeof train>>) => {
      expect(run.losses).toEqual(whole.losses);
      expect(run.validation).toEqual(whole.validation);
      expect(run.bestEpoch).toBe(1);
      expect(run.steps).toBe(2 * perEpoch);
      expect(same(run.state.weights, whole.state.weights)).toBe(true);
      expect(same(await snapshotWeights(run.model), await snapshotWeights(whole.model))).toBe(true);
      expect(run.state.optimizers.map((o) => o.stepCount)).toEqual([2 * perEpoch, 2 * perEpoch]);
    };

    // Aborted when the last step of epoch 1 is reported: before that epoch's validation.
    const controller = new AbortController();
    const first = await train(ctx, dataset, partial, {
      ...options, evaluate: scripted([]), signal: controller.signal,
      onProgress: (p) => p.phase === 'train' && p.epoch === 1 && p.step === perEpoch && controller.abort(),
    });
    expect(first.stopped).toBe('aborted');
    expect([first.state.epoch, first.state.batchesDone, first.state.step]).toEqual([1, perEpoch, perEpoch]);
    const second = await train(ctx, dataset, partial, { ...options, evaluate: scripted([m1, m2]), resume: first.state });
    await expectSame(second);

    // Cut by maxSteps one step into epoch 2 (its provisional validation is not in the state).
    const cut = await train(ctx, dataset, partial, { ...options, evaluate: scripted([m1, { 'recall@50': 0.9 }]), maxSteps: perEpoch + 1 });
    expect(cut.validation.length).toBe(2);
    expect([cut.state.epoch, cut.state.batchesDone, cut.state.validation.length, cut.state.bestEpoch]).toEqual([2, 1, 1, 1]);
    const third = await train(ctx, dataset, partial, { ...options, evaluate: scripted([m2]), resume: cut.state });
    await expectSame(third);

    // Resumed from the cut state with no step left to take: the model must hold epoch 1's
    // weights (the best), not the cut's, although epoch 1's is the last validation in the state.
    const idle = await train(ctx, dataset, partial, { ...options, evaluate: scripted([]), resume: cut.state, maxSteps: perEpoch + 1 });
    expect(idle.bestEpoch).toBe(1);
    expect(same(idle.bestWeights, cut.state.bestWeights!)).toBe(true);
    expect(same(idle.bestWeights, idle.state.weights)).toBe(false);
    expect(same(await snapshotWeights(idle.model), idle.bestWeights)).toBe(true);
    for (const r of [whole, first, second, cut, third, idle]) r.model.dispose();
  });

  test('maxSteps at an epoch\'s end stops before the next epoch; no validation users means no validation', async () => {
    const ctx = getCtx();
    const perEpoch = Math.ceil(SAMPLES / 16);
    const evaluate = scripted([{ 'recall@50': 0.2 }]);
    const run = await train(ctx, dataset, partial, { epochs: 3, batchSize: 16, warmUp: false, evaluate, maxSteps: perEpoch });
    expect(run.stopped).toBe('maxSteps');
    expect(run.steps).toBe(perEpoch);
    expect(evaluate.calls.length).toBe(1);
    expect(run.validation.map((v) => v.epoch)).toEqual([1]);
    expect([run.state.epoch, run.state.batchesDone, run.bestEpoch]).toEqual([2, 0, 1]);
    run.model.dispose();

    const noValidation = { ...dataset, split: { ...dataset.split, validation: [] } };
    const never = scripted([]);
    const plain = await train(ctx, noValidation, partial, { epochs: 2, batchSize: 16, warmUp: false, evaluate: never });
    expect(never.calls.length).toBe(0);
    expect(plain.validation).toEqual([]);
    expect(plain.bestEpoch).toBe(2);
    plain.model.dispose();
  });

  test('the reported duration and rates lie within what the caller measured; no GPU buffer is left in use', async () => {
    const ctx = getCtx();
    const reports: TrainProgress[] = [];
    // Every GPU buffer the run takes (Adam's moments included) is back once its model is disposed.
    await ctx.sync();
    const inUse = ctx.gpu.pool.stats().inUse;
    const started = performance.now();
    const run = await train(ctx, dataset, partial, { epochs: 1, batchSize: BATCH, logEvery: 3, onProgress: (p) => reports.push(p) });
    const seconds = (performance.now() - started) / 1000;
    expect(run.seconds).toBeGreaterThan(0);
    expect(run.seconds).toBeLessThanOrEqual(seconds);
    // A window's rate is at least its samples over the whole call's time (each window is shorter).
    const train_ = reports.filter((p) => p.phase === 'train');
    // Logged every 3rd step and at the last (every 2nd elsewhere, where step − 1 and step + 1 agree mod 2).
    const loggedSteps = Array.from({ length: STEPS_PER_EPOCH }, (_, i) => i + 1).filter((k) => k % 3 === 0 || k === STEPS_PER_EPOCH);
    expect(run.losses.map((l) => l.step)).toEqual(loggedSteps);
    expect(train_.map((p) => p.step)).toEqual(loggedSteps);
    for (const p of train_) expect(p.samplesPerSecond!).toBeGreaterThanOrEqual(1 / seconds);
    run.model.dispose();
    await ctx.sync();
    expect(ctx.gpu.pool.stats().inUse).toBe(inUse);
  });
});
