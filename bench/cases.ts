/**
 * The benchmark cases: each builds the same host inputs once, then an instance of our
 * implementation (on a Context) and of the tfjs baseline (on the active tfjs backend) from them.
 * An instance runs one complete iteration (`iterate`) and reports the outputs both
 * implementations must agree on (`outputs`).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Context } from '../src/autograd/context.js';
import { labelAwareAttention } from '../src/mind/ops/label-attention.js';
import { b2iRouting, sampleInitialLogits } from '../src/mind/ops/routing.js';
import { sampledSoftmaxLoss } from '../src/mind/ops/sampled-softmax.js';
import { type Grad, RowGrad, type Tensor } from '../src/autograd/tensor.js';
import { Random } from '../src/data/random.js';
import { batches } from '../src/data/batches.js';
import type { Dataset } from '../src/data/dataset.js';
import { createSampler } from '../src/data/samplers.js';
import { generateSynthetic } from '../src/data/synthetic.js';
import { type MindConfig, resolveConfig } from '../src/mind/config.js';
import { MindModel, type UserBatch } from '../src/mind/model.js';
import { type ModelShape, parameterSpecs } from '../src/mind/parameters.js';
import { Adam } from '../src/train/adam.js';
import { topKInnerProduct } from '../src/serve/topk.js';
import type { TfBackend } from './platform.js';
import {
  type Work,
  type WorkShape,
  attentionBackwardWork,
  attentionForwardWork,
  routingBackwardWork,
  routingForwardWork,
  sampledSoftmaxBackwardWork,
  sampledSoftmaxForwardWork,
  retrievalWork,
} from './roofline.js';
import { type StepBatch, TfMind, disposeInputs } from './tf/model.js';
import { activeInterests, interestPenalty, labelAttentionTf, routingMasks, routingTf, sampledSoftmaxTf } from './tf/ops.js';

export interface BenchShape extends WorkShape {
  name: string;
  /** Item ids including the padding id 0. */
  N: number;
  /** Vocabulary sizes of the user's categorical profile features. */
  profileSpaces: number[];
}

/**
 * seed: the defaults of `mind train` on its synthetic data (batch 256, window 20, d 64, K 4,
 * 3 iterations, 256 negatives, ~1000 items). production: a production-like batch and catalogue.
 * tiny: for `--quick` and the tests.
 */
export const SHAPES: Record<'tiny' | 'seed' | 'production', BenchShape> = {
  tiny: { name: 'tiny', B: 8, L: 6, d: 8, K: 3, R: 3, S: 16, N: 60, profileSpaces: [4, 3] },
  seed: { name: 'seed', B: 256, L: 20, d: 64, K: 4, R: 3, S: 256, N: 1001, profileSpaces: [8, 6] },
  production: { name: 'production', B: 512, L: 50, d: 64, K: 4, R: 3, S: 1000, N: 100_000, profileSpaces: [8, 6] },
};

export function describeShape(s: BenchShape): string {
  return `B=${s.B} L=${s.L} d=${s.d} K=${s.K} R=${s.R} S=${s.S} N=${s.N}`;
}

export type Outputs = Map<string, Float32Array>;
/** Called by our instances at the start of each phase ('forward', 'backward', 'optimizer'). */
export type Boundary = (phase: string) => Promise<void>;

/**
 * One training step taken apart (train.step only): wall ms of building the batch as the trainer
 * does (src/data/batches.ts over a synthetic data set of the shape's N, L and B) and drawing its
 * negatives; of the host side of the step (MindModel.loss, backward and both Adams recorded,
 * row-gradient plans built, uploads queued, then the submit); and of the GPU side (submit to
 * the loss readback, the host idle); and the dispatches and submits the step made.
 */
export interface StepSplit {
  batchMs: number;
  hostMs: number;
  gpuMs: number;
  dispatches: number;
  submits: number;
}

export interface Instance {
  /** One complete iteration: returns once the device has finished it. */
  iterate(boundary?: Boundary): Promise<void>;
  /** train.step: one more iteration, timed in parts. */
  split?(): Promise<StepSplit>;
  /** The outputs compared across implementations (one untimed run). */
  outputs(): Promise<Outputs>;
  dispose(): void;
}

export interface TfInstance extends Instance {
  /** The iteration's computation alone, for tf.profile. */
  compute(): tf.TensorContainer;
}

export interface PreparedCase {
  ours(ctx: Context): Instance;
  /** On the active tfjs backend; `finish` waits until it has completed all queued work. */
  tf(finish: () => Promise<void>): TfInstance;
  /** Analytic work of each of our phases, for the roofline. */
  work: Record<string, Work>;
}

export interface BenchCase {
  name: string;
  /** Why the tfjs baseline is not run on `backend` for `shape`, when it is not. */
  skip?(backend: TfBackend, shape: BenchShape): string | undefined;
  /** `ctx` is available for inputs that come from our kernels (the seeded routing logits). */
  prepare(shape: BenchShape, ctx: Context): Promise<PreparedCase>;
}

function normals(rng: Random, n: number, std: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal() * std);
}

/** A gradient as a dense array of the parameter's full shape (zeros in untouched rows). */
async function denseGrad(grad: Grad | null, size: number): Promise<Float32Array> {
  if (grad === null) return new Float32Array(size);
  if (!(grad instanceof RowGrad)) return (await grad.read()) as Float32Array;
  const width = size / grad.tableShape[0];
  const values = (await grad.values.read()) as Float32Array;
  const out = new Float32Array(size);
  grad.rows.forEach((row, i) => out.set(values.subarray(i * width, (i + 1) * width), row * width));
  return out;
}

async function tfOutputs(names: string[], tensors: tf.Tensor[]): Promise<Outputs> {
  const out: Outputs = new Map();
  for (let i = 0; i < names.length; i++) out.set(names[i], (await tensors[i].data()) as Float32Array);
  tf.dispose(tensors);
  return out;
}

/** History lengths uniform in [min, L]. */
function randomLengths(rng: Random, B: number, L: number, min: number): Int32Array {
  return Int32Array.from({ length: B }, () => min + rng.int(L - min + 1));
}

/** Our forward(+backward) of one differentiable op, as an Instance. */
function oursInstance(
  ctx: Context,
  leaves: Tensor[],
  forward: () => Tensor,
  seed: Tensor | undefined,
  names: { output: string; grads: string[] },
  owned: Tensor[],
): Instance {
  const backward = names.grads.length > 0;
  const clearGrads = () => leaves.forEach((t) => (t.grad = null));
  return {
    async iterate(boundary) {
      await ctx.tidy(async () => {
        await boundary?.('forward');
        const out = backward ? forward() : ctx.noGrad(forward);
        if (backward) {
          await boundary?.('backward');
          await out.backward(seed);
          clearGrads();
        }
      });
      await ctx.sync();
    },
    outputs() {
      return ctx.tidy(async () => {
        const out = backward ? forward() : ctx.noGrad(forward);
        if (backward) await out.backward(seed);
        const result: Outputs = new Map([[names.output, (await out.read()) as Float32Array]]);
        for (let i = 0; i < names.grads.length; i++) result.set(names.grads[i], await denseGrad(leaves[i].grad, leaves[i].size));
        clearGrads();
        return result;
      });
    },
    dispose() {
      for (const t of owned) t.dispose();
    },
  };
}

function tfInstance(compute: () => tf.Tensor[], names: string[], finish: () => Promise<void>, owned: tf.Tensor[]): TfInstance {
  return {
    async iterate() {
      const outs = tf.tidy(compute);
      await finish();
      tf.dispose(outs);
    },
    outputs: () => tfOutputs(names, tf.tidy(compute)),
    compute,
    dispose: () => tf.dispose(owned),
  };
}

function routingCase(withBackward: boolean): BenchCase {
  return {
    name: withBackward ? 'routing.forward+backward' : 'routing.forward',
    async prepare(shape) {
      const { B, L, d, K, R } = shape;
      const rng = new Random(11).fork(`routing/${shape.name}`);
      const E = normals(rng, B * L * d, 0.5);
      const S = normals(rng, d * d, 1 / Math.sqrt(d));
      const b0 = normals(rng, B * K * L, 1);
      const dU = normals(rng, B * K * d, 1);
      // Any length in [0, L]: empty histories and K_b = 1 rows included.
      const lengths = randomLengths(rng, B, L, 0);
      const activeK = activeInterests(lengths, K, true);
      const options = { iterations: R, softmaxOver: 'interests', gradient: 'stop' } as const;
      const names = { output: 'U', grads: withBackward ? ['dE', 'dS'] : [] };
      const work: Record<string, Work> = { forward: routingForwardWork(shape) };
      if (withBackward) work.backward = routingBackwardWork(shape);
      return {
        work,
        ours(ctx) {
          const e = ctx.tensor(E, [B, L, d], { requiresGrad: withBackward });
          const s = ctx.tensor(S, [d, d], { requiresGrad: withBackward });
          const len = ctx.tensor(lengths, [B]);
          const init = ctx.tensor(b0, [B, K, L]);
          const seed = ctx.tensor(dU, [B, K, d]);
          const forward = () => b2iRouting(e, len, s, { kMax: K, dynamicK: true, initLogits: init, ...options });
          return oursInstance(ctx, [e, s], forward, seed, names, [e, s, len, init, seed]);
        },
        tf(finish) {
          const e = tf.tensor3d(E, [B, L, d]);
          const s = tf.tensor2d(S, [d, d]);
          const init = tf.tensor3d(b0, [B, K, L]);
          const masks = routingMasks(lengths, L, activeK, K, options.softmaxOver);
          const dy = tf.tensor3d(dU, [B, K, d]);
          const owned = [e, s, init, masks.penalty, masks.keep, dy];
          const route = (x: tf.Tensor, map: tf.Tensor) => routingTf(x as tf.Tensor3D, map as tf.Tensor2D, init, masks, options);
          if (!withBackward) return tfInstance(() => [route(e, s)], ['U'], finish, owned);
          const valueAndGrads = tf.valueAndGrads(route);
          return tfInstance(
            () => {
              const { value, grads } = valueAndGrads([e, s], dy);
              return [value, ...grads];
            },
            ['U', 'dE', 'dS'],
            finish,
            owned,
          );
        },
      };
    },
  };
}

const attentionCase: BenchCase = {
  name: 'attention.forward+backward',
  async prepare(shape) {
    const { B, d, K } = shape;
    const rng = new Random(12).fork(`attention/${shape.name}`);
    const activeK = Int32Array.from({ length: B }, () => 1 + rng.int(K));
    // Inactive interests are exact zeros, as the model hands them over.
    const V = normals(rng, B * K * d, 0.3).map((x, i) => (Math.floor(i / d) % K < activeK[Math.floor(i / (K * d))] ? x : 0));
    const e = normals(rng, B * d, 0.3);
    const dv = normals(rng, B * d, 1);
    const options = { p: 1, mode: 'pow' } as const;
    return {
      work: { forward: attentionForwardWork(shape), backward: attentionBackwardWork(shape) },
      ours(ctx) {
        const interests = ctx.tensor(V, [B, K, d], { requiresGrad: true });
        const target = ctx.tensor(e, [B, d], { requiresGrad: true });
        const active = ctx.tensor(activeK, [B]);
        const seed = ctx.tensor(dv, [B, d]);
        const forward = () => labelAwareAttention(interests, target, { ...options, activeK: active });
        return oursInstance(ctx, [interests, target], forward, seed, { output: 'v', grads: ['dV', 'de'] }, [interests, target, active, seed]);
      },
      tf(finish) {
        const interests = tf.tensor3d(V, [B, K, d]);
        const target = tf.tensor2d(e, [B, d]);
        const penalty = interestPenalty(activeK, K);
        const dy = tf.tensor2d(dv, [B, d]);
        const valueAndGrads = tf.valueAndGrads((x: tf.Tensor, y: tf.Tensor) => labelAttentionTf(x as tf.Tensor3D, y as tf.Tensor2D, penalty, options));
        return tfInstance(
          () => {
            const { value, grads } = valueAndGrads([interests, target], dy);
            return [value, ...grads];
          },
          ['v', 'dV', 'de'],
          finish,
          [interests, target, penalty, dy],
        );
      },
    };
  },
};

/** Seconds per element operation of tfjs-cpu's UnsortedSegmentSum, measured here (3.4 s for the seed sampled softmax). */
const CPU_SEGMENT_SUM_SECONDS = 1e-7;
/** Longest estimated tfjs-cpu iteration that is still run (it runs twice: agreement and timing). */
const CPU_LIMIT_SECONDS = 30;

/**
 * tfjs-cpu's UnsortedSegmentSum, which is tf.gather's gradient, loops over all N segments and
 * does a masked sum over every gathered row for each: N·rows·d element operations. Skips the
 * cell when that alone is estimated above CPU_LIMIT_SECONDS.
 */
function skipSlowCpuGather(gatheredRows: (shape: BenchShape) => number) {
  return (backend: TfBackend, shape: BenchShape): string | undefined => {
    if (backend !== 'cpu') return undefined;
    const seconds = shape.N * gatheredRows(shape) * shape.d * CPU_SEGMENT_SUM_SECONDS;
    if (seconds <= CPU_LIMIT_SECONDS) return undefined;
    return `tf.gather's gradient on tfjs-cpu loops over all N = ${shape.N} rows (est. ${Math.round(seconds)} s per iteration)`;
  };
}

/** log(S·P(id)) for every id; the padding id (P = 0, never a candidate) gets 0 to stay finite. */
function logQTable(N: number, S: number): Float32Array {
  const sampler = createSampler('logUniform', { numItems: N });
  const logQ = sampler.logExpectedCount(Int32Array.from({ length: N }, (_, i) => i), S);
  logQ[0] = 0;
  return logQ;
}

const sampledSoftmaxCase: BenchCase = {
  name: 'sampledSoftmax.forward+backward',
  skip: skipSlowCpuGather(({ B, S }) => B + S),
  async prepare(shape) {
    const { B, d, S, N } = shape;
    const rng = new Random(13).fork(`softmax/${shape.name}`);
    const v = normals(rng, B * d, 1);
    const W = normals(rng, N * d, 0.1);
    const labels = Int32Array.from({ length: B }, () => 1 + rng.int(N - 1));
    const negatives = createSampler('logUniform', { numItems: N }).sample(S, rng);
    const logQ = logQTable(N, S);
    return {
      work: { forward: sampledSoftmaxForwardWork(shape), backward: sampledSoftmaxBackwardWork(shape) },
      ours(ctx) {
        const user = ctx.tensor(v, [B, d], { requiresGrad: true });
        const table = ctx.tensor(W, [N, d], { requiresGrad: true });
        const y = ctx.tensor(labels, [B]);
        const n = ctx.tensor(negatives, [S]);
        const q = ctx.tensor(logQ, [N]);
        const forward = () => sampledSoftmaxLoss(user, table, y, n, { logQ: q });
        return oursInstance(ctx, [user, table], forward, undefined, { output: 'loss', grads: ['dv', 'dW'] }, [user, table, y, n, q]);
      },
      tf(finish) {
        const user = tf.tensor2d(v, [B, d]);
        const table = tf.tensor2d(W, [N, d]);
        const inputs = {
          labels: tf.tensor1d(labels, 'int32'),
          negatives: tf.tensor1d(negatives, 'int32'),
          logQ: tf.tensor1d(logQ),
          removeAccidentalHits: true,
        };
        const valueAndGrads = tf.valueAndGrads((x: tf.Tensor, w: tf.Tensor) => sampledSoftmaxTf(x as tf.Tensor2D, w as tf.Tensor2D, inputs));
        return tfInstance(
          () => {
            const { value, grads } = valueAndGrads([user, table]);
            return [value, ...grads];
          },
          ['loss', 'dv', 'dW'],
          finish,
          [user, table, inputs.labels, inputs.negatives, inputs.logQ],
        );
      },
    };
  },
};

/** Retrieval: 256 queries (a batch of interest vectors), the k = 50 best items each. */
export const RETRIEVAL = { Q: 256, k: 50 } as const;
/** Catalogue searched at each shape: at least 10k items (the seed shape's 1k is too small to time). */
export function retrievalItems(shape: BenchShape): number {
  return Math.max(shape.N, 10_000);
}

/** How many queries and items a retrieval case uses at a shape. */
export interface RetrievalSizes {
  queries(shape: BenchShape): number;
  items(shape: BenchShape): number;
}

/**
 * Exact top-k by inner product over the whole catalogue, as evaluation and exact serving run it:
 * ours is topKInnerProduct (GEMM scoring + radix-select top-k, ids and scores read back); tfjs
 * is tf.topk over tf.matMul(queries, itemsᵀ) with the same readback. The bench runs it with
 * RETRIEVAL.Q queries over retrievalItems(shape); the scaling sweep with one query per user and
 * interest over exactly N items.
 */
export function retrievalCase(sizes: RetrievalSizes): BenchCase {
  return {
    name: 'retrieval.topk',
    skip: (backend) => (backend === 'cpu' ? 'tfjs-cpu: minutes per iteration for a [Q, N] score matrix' : undefined),
    async prepare(shape) {
      const { d } = shape;
      const { k } = RETRIEVAL;
      const Q = sizes.queries(shape);
      const N = sizes.items(shape);
      const rng = new Random(17).fork(`retrieval/${shape.name}`);
      const queries = normals(rng, Q * d, 1);
      const table = normals(rng, N * d, 0.1);
      return {
        work: { forward: retrievalWork(Q, N, d, k) },
        ours(ctx) {
          const q = ctx.tensor(queries, [Q, d]);
          const items = ctx.tensor(table, [N, d]);
          const run = () => ctx.tidy(() => topKInnerProduct(q, items, k));
          return {
            async iterate(boundary) {
              await boundary?.('forward');
              await run();
            },
            async outputs() {
              const top = await run();
              return new Map([
                ['ids', Float32Array.from(top.ids)],
                ['scores', top.scores],
              ]);
            },
            dispose() {
              q.dispose();
              items.dispose();
            },
          };
        },
        tf(finish) {
          const q = tf.tensor2d(queries, [Q, d]);
          const items = tf.tensor2d(table, [N, d]);
          const compute = () => {
            const top = tf.topk(tf.matMul(q, items, false, true), k);
            return [top.indices, top.values];
          };
          return {
            async iterate() {
              const [ids, values] = tf.tidy(compute);
              await Promise.all([ids.data(), values.data()]);
              await finish();
              tf.dispose([ids, values]);
            },
            async outputs() {
              const [ids, values] = tf.tidy(compute);
              const out: Outputs = new Map([
                ['ids', Float32Array.from((await ids.data()) as Int32Array)],
                ['scores', (await values.data()) as Float32Array],
              ]);
              tf.dispose([ids, values]);
              return out;
            },
            compute,
            dispose: () => tf.dispose([q, items]),
          };
        },
      };
    },
  };
}

const synthetic = new Map<string, Dataset>();
/** The default synthetic data set (as `mind train` uses) with the shape's catalogue and window, made once. */
function syntheticFor(shape: BenchShape): Dataset {
  let dataset = synthetic.get(shape.name);
  if (!dataset) {
    dataset = generateSynthetic({ seed: 1, numItems: shape.N - 1, maxLength: shape.L });
    synthetic.set(shape.name, dataset);
  }
  return dataset;
}

/** Host weights exactly as createParameters initialises them for `config.seed`. */
function initialWeights(config: MindConfig, shape: ModelShape): Map<string, { data: Float32Array; shape: number[] }> {
  const rng = new Random(config.seed).fork('parameters');
  return new Map(
    parameterSpecs(config, shape).map((spec) => [
      spec.name,
      { data: spec.init(rng.fork(spec.name), spec.shape.reduce((a, b) => a * b, 1)), shape: spec.shape },
    ]),
  );
}

/**
 * One training step as the trainer runs it (src/train/trainer.ts), for the default model
 * configuration with `overrides` (test/bench/tfjs-baseline checks others): MindModel.loss, backward,
 * the two Adams (embedding tables, dense weights), and the loss read back. The agreement check
 * compares the loss and every parameter's gradient of step 0, before any update; the tfjs model
 * gets the routing logits MindModel draws for that step (sampleInitialLogits with the seed
 * MindModel.loss derives from config.seed and the step), so both compute the same function.
 */
export function trainStepCase(overrides: Partial<MindConfig> = {}): BenchCase {
  return {
    name: 'train.step',
    // Histories, targets (twice: attention and the loss) and negatives.
    skip: skipSlowCpuGather(({ B, L, S }) => B * L + 2 * B + S),
    async prepare(shape, ctx) {
      const { B, L, d, K, R, S, N } = shape;
      const config = resolveConfig({ ...overrides, dim: d, kMax: K, iterations: R, numSampled: S });
      const modelShape: ModelShape = { numItems: N, numFeatureRows: 0, profileSpaces: shape.profileSpaces, profileDense: 0 };
      const weights = initialWeights(config, modelShape);
      const rng = new Random(14).fork(`step/${shape.name}`);
      const lengths = randomLengths(rng, B, L, 1);
      const histories = new Int32Array(B * L);
      lengths.forEach((len, b) => {
        for (let i = 0; i < len; i++) histories[b * L + i] = 1 + rng.int(N - 1);
      });
      const batch: StepBatch & UserBatch = {
        histories,
        lengths,
        profileCategorical: Int32Array.from({ length: B * shape.profileSpaces.length }, (_, at) => rng.int(shape.profileSpaces[at % shape.profileSpaces.length])),
        profileDense: new Float32Array(0),
        targets: Int32Array.from({ length: B }, () => 1 + rng.int(N - 1)),
        negatives: createSampler('logUniform', { numItems: N }).sample(S, rng),
      };
      const sampler = createSampler('logUniform', { numItems: N });
      const candidates = { negatives: batch.negatives, logExpectedCount: (ids: Int32Array) => sampler.logExpectedCount(ids, S) };
      const routingSeed = new Random(config.seed).fork('step').fork(0).uint32();
      const b0 = ctx.noGrad(() => sampleInitialLogits(ctx, { batch: B, kMax: K, length: L, seed: routingSeed, initStd: config.initStd }));
      const initialLogits = (await b0.read()) as Float32Array;
      b0.dispose();
      const logQ = logQTable(N, S);

      return {
        work: {},
        ours(ctx) {
          const model = new MindModel(ctx, config, modelShape, undefined, new Map([...weights].map(([name, w]) => [name, w.data])));
          const params = [...model.params.entries()];
          const embeddings = ['item_embedding', 'profile_embedding'];
          const optimizers = [
            new Adam(ctx, params.filter(([name]) => embeddings.includes(name)).map(([, p]) => p), { lr: config.learningRate }),
            new Adam(ctx, params.filter(([name]) => !embeddings.includes(name)).map(([, p]) => p), { lr: config.learningRate }),
          ];
          let step = 0;
          let trainerBatches: Iterator<unknown> | undefined;
          const nextTrainerBatch = () => {
            const next = trainerBatches?.next();
            if (next && !next.done) return;
            trainerBatches = batches(syntheticFor(shape), { batchSize: B, seed: 1, epoch: step + 1 });
            trainerBatches.next();
          };
          return {
            async split() {
              nextTrainerBatch(); // the data set is built once, outside the timing
              const start = performance.now();
              nextTrainerBatch();
              sampler.sample(S, new Random(14).fork('negatives').fork(step));
              const built = performance.now();
              const before = { dispatches: ctx.gpu.stats.dispatches, submits: ctx.gpu.stats.submits };
              const read = await ctx.tidy(async () => {
                const loss = model.loss(batch, candidates, step++);
                await loss.backward();
                for (const opt of optimizers) opt.step();
                ctx.submit();
                return { submitted: performance.now(), loss: loss.read() };
              });
              await read.loss;
              const done = performance.now();
              return {
                batchMs: built - start,
                hostMs: read.submitted - built,
                gpuMs: done - read.submitted,
                dispatches: ctx.gpu.stats.dispatches - before.dispatches,
                // The readback's copy is a second, small submit here (the timed step has one).
                submits: ctx.gpu.stats.submits - before.submits,
              };
            },
            async iterate(boundary) {
              await ctx.tidy(async () => {
                await boundary?.('forward');
                const loss = model.loss(batch, candidates, step++);
                await boundary?.('backward');
                await loss.backward();
                await boundary?.('optimizer');
                for (const opt of optimizers) opt.step();
                await loss.read();
              });
            },
            outputs() {
              return ctx.tidy(async () => {
                const loss = model.loss(batch, candidates, 0);
                await loss.backward();
                const out: Outputs = new Map([['loss', (await loss.read()) as Float32Array]]);
                for (const [name, p] of params) {
                  out.set(`d${name}`, await denseGrad(p.grad, p.size));
                  p.grad?.dispose();
                  p.grad = null;
                }
                return out;
              });
            },
            dispose() {
              for (const opt of optimizers) opt.dispose();
              model.dispose();
            },
          };
        },
        tf() {
          const model = new TfMind(config, modelShape, weights);
          const x = model.inputs(batch, logQ);
          const init = tf.tensor3d(initialLogits, [B, K, L]);
          const names = [...model.variables.keys()];
          return {
            async iterate() {
              // The readback comes after the Adam updates in queue order, so it ends the step.
              const loss = model.step(x);
              await loss.data();
              loss.dispose();
            },
            async outputs() {
              const { value, grads } = model.gradients(x, init);
              const variableNames = names.map((name) => model.variables.get(name)!.name);
              return tfOutputs(['loss', ...names.map((n) => `d${n}`)], [value, ...variableNames.map((v) => grads[v])]);
            },
            compute: () => model.step(x),
            dispose() {
              disposeInputs(x);
              init.dispose();
              model.dispose();
            },
          };
        },
      };
    },
  };
}

export const CASES: BenchCase[] = [routingCase(false), routingCase(true), attentionCase, sampledSoftmaxCase, trainStepCase(), retrievalCase({ queries: () => RETRIEVAL.Q, items: retrievalItems })];
