/**
 * `npm run bench:first-step`: wall time of the first training step without and with the
 * pipeline warm-up (src/train/warm-up.ts), side by side in one run, at the seed shape (the
 * `mind train` defaults on its synthetic data: B=256 L=20 d=64 K=4 R=3 S=256, ~1000 items).
 * Each trial is a fresh context (a fresh device, so Dawn's pipeline cache is empty); modes
 * alternate trial by trial. "cold" times step 1 alone; "warm" times the warm-up (the dry step and
 * validation, then every pipeline compiled with createComputePipelineAsync) and then step 1.
 * Step 2 (steady state) is timed too, and the pipelines compiled synchronously after the
 * warm-up are counted (later batches whose candidate count picks other matmul tiles).
 * Mesa's on-disk shader cache also serves lavapipe: run with MESA_SHADER_CACHE_DISABLE=true for
 * compiles that start from nothing. Writes bench/out/first-step.json; prints a markdown table.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createContext } from '../src/autograd/context.js';
import { batches, heldOutUsers } from '../src/data/batches.js';
import { Random } from '../src/data/random.js';
import { createSampler } from '../src/data/samplers.js';
import { generateSynthetic } from '../src/data/synthetic.js';
import { resolveConfig } from '../src/mind/config.js';
import { MindModel, modelShapeOf } from '../src/mind/model.js';
import { evaluateModel } from '../src/serve/retrieval.js';
import { Adam } from '../src/train/adam.js';
import { compilePipelinesAhead } from '../src/train/warm-up.js';
import { summarize } from './harness.js';

const TRIALS = Number(process.env.TRIALS ?? 3);
const STEPS = 6;

const dataset = generateSynthetic({ seed: 1, numItems: 1000, maxLength: 20 });
const config = resolveConfig({});
const batchSize = 256;
const sampler = createSampler(config.sampler, { numItems: dataset.numItems, counts: dataset.itemCounts, alpha: config.samplerAlpha });
const validation = heldOutUsers(dataset, 'validation');

interface Trial {
  mode: 'cold' | 'warm';
  warmUpMs: number;
  kernels: number;
  step1Ms: number;
  step2Ms: number;
  /** Pipelines compiled synchronously during steps 1..STEPS. */
  syncCompiles: number;
}

async function trial(mode: Trial['mode']): Promise<Trial> {
  const ctx = await createContext();
  let syncCompiles = 0;
  const device = ctx.gpu.device;
  const compile = device.createComputePipeline.bind(device);
  device.createComputePipeline = (d) => (syncCompiles++, compile(d));
  const model = new MindModel(ctx, config, modelShapeOf(dataset), dataset.itemFeatures);
  const params = [...model.params.values()];
  const sparse = params.filter((p) => ['item_embedding', 'profile_embedding'].includes(p.label));
  const dense = params.filter((p) => !sparse.includes(p));
  const optimizers = [new Adam(ctx, sparse, { lr: config.learningRate }), new Adam(ctx, dense, { lr: config.learningRate })];
  const epoch = batches(dataset, { batchSize, seed: config.seed, epoch: 1 });
  const candidatesAt = (step: number) => {
    const negatives = sampler.sample(config.numSampled, new Random(config.seed).fork('negatives').fork(step));
    return { negatives, logExpectedCount: (ids: Int32Array) => sampler.logExpectedCount(ids, config.numSampled) };
  };
  await ctx.sync();
  const times: number[] = [];
  let warmUpMs = 0;
  let kernels = 0;
  let batch = epoch.next().value!;
  if (mode === 'warm') {
    const result = await compilePipelinesAhead(ctx, {
      model, batch, candidates: candidatesAt(0), step: 0, parameterGroups: [sparse, dense],
      evaluate: () => evaluateModel(model, validation),
    });
    warmUpMs = result.ms;
    kernels = result.kernels;
    syncCompiles = 0;
  }
  for (let step = 0; step < STEPS; step++) {
    const started = performance.now();
    await ctx.tidy(async () => {
      const loss = model.loss(batch, candidatesAt(step), step);
      await loss.backward();
      for (const opt of optimizers) opt.step();
      await loss.read();
    });
    times.push(performance.now() - started);
    batch = epoch.next().value!;
  }
  for (const opt of optimizers) opt.dispose();
  model.dispose();
  ctx.destroy();
  return { mode, warmUpMs, kernels, step1Ms: times[0], step2Ms: times[1], syncCompiles };
}

const trials: Trial[] = [];
for (let t = 0; t < TRIALS; t++) {
  for (const mode of t % 2 === 0 ? (['cold', 'warm'] as const) : (['warm', 'cold'] as const)) {
    const r = await trial(mode);
    trials.push(r);
    console.error(`${mode}: warm-up ${r.warmUpMs.toFixed(0)} ms (${r.kernels} pipelines), step 1 ${r.step1Ms.toFixed(0)} ms, step 2 ${r.step2Ms.toFixed(0)} ms, ${r.syncCompiles} compiled during steps 1-${STEPS}`);
  }
}
const med = (mode: Trial['mode'], key: keyof Omit<Trial, 'mode'>) => summarize(trials.filter((t) => t.mode === mode).map((t) => t[key])).median;
const cacheNote = process.env.MESA_SHADER_CACHE_DISABLE ? 'Mesa shader cache disabled' : 'Mesa shader cache as found';
console.log(`First training step at the seed shape, medians of ${TRIALS} fresh contexts per mode (${cacheNote}):\n`);
console.log('| mode | warm-up ms | step 1 ms | warm-up + step 1 ms | step 2 ms | pipelines compiled in steps 1-6 |');
console.log('| --- | --- | --- | --- | --- | --- |');
for (const mode of ['cold', 'warm'] as const) {
  const w = med(mode, 'warmUpMs');
  const s1 = med(mode, 'step1Ms');
  console.log(`| ${mode} | ${mode === 'cold' ? '–' : w.toFixed(0)} | ${s1.toFixed(0)} | ${(w + s1).toFixed(0)} | ${med(mode, 'step2Ms').toFixed(0)} | ${med(mode, 'syncCompiles')} |`);
}
mkdirSync(join('bench', 'out'), { recursive: true });
writeFileSync(join('bench', 'out', 'first-step.json'), JSON.stringify({ date: new Date().toISOString(), cache: cacheNote, trials }, null, 2) + '\n');
process.exit(0);
