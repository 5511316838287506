/**
 * Pipelines compiled ahead (src/train/warm-up.ts, GpuRuntime.recordKernels/compileAhead,
 * PipelineCache.compileAhead): the dry run computes nothing and changes no weight, a run
 * warmed up compiles nothing synchronously afterwards (training steps and validation), and it
 * ends bitwise where a run without warm-up ends.
 */
import { describe, expect, test } from 'vitest';
import { createContext } from '../../src/autograd/context.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { evaluateModel } from '../../src/serve/retrieval.js';
import { train } from '../../src/train/trainer.js';
import { useContext } from '../helpers/gpu.js';

const dataset = generateSynthetic({ seed: 3, numItems: 60, numCategories: 6, numUsers: 40, minSequenceLength: 4, maxSequenceLength: 10, maxLength: 6 });
const config = { dim: 8, kMax: 2, hiddenUnits: [8], profileDim: 4, numSampled: 8, learningRate: 0.02, seed: 5, dropout: 0.2 };
// One step, then the validation: the dry run sees the same batch. (Later batches may pick other
// matmul tiles, as their candidate count differs; those compile on first use.)
const options = { epochs: 1, batchSize: 16, maxSteps: 1, evaluate: evaluateModel };

/** Counts synchronous pipeline compilations on a fresh context while `run` trains on it. */
async function syncCompiles(warmUp: boolean | undefined) {
  const ctx = await createContext();
  try {
    let compiles = 0;
    const device = ctx.gpu.device;
    const compile = device.createComputePipeline.bind(device);
    device.createComputePipeline = (descriptor) => {
      compiles++;
      return compile(descriptor);
    };
    const result = await train(ctx, dataset, config, warmUp === undefined ? options : { ...options, warmUp });
    const weights = result.state.weights;
    result.model.dispose();
    return { compiles, weights, warmUp: result.warmUp, pipelines: ctx.gpu.pipelines.size };
  } finally {
    ctx.destroy();
  }
}

describe('pipelines compiled ahead of the first step', () => {
  const getCtx = useContext();

  test('a warmed-up run compiles nothing synchronously (steps and validation) and ends bitwise where a cold run ends', async () => {
    const cold = await syncCompiles(false);
    // Warm-up is the default.
    const warm = await syncCompiles(undefined);
    expect(cold.warmUp).toBeUndefined();
    expect(cold.compiles).toBe(cold.pipelines);
    expect(cold.compiles).toBeGreaterThan(10);
    expect(warm.compiles).toBe(0);
    // Every pipeline the cold run needed was found by the dry run, and nothing else.
    expect(warm.warmUp!.kernels).toBe(cold.pipelines);
    expect(warm.warmUp!.compiled).toBe(warm.warmUp!.kernels);
    expect(warm.pipelines).toBe(cold.pipelines);
    for (const [name, w] of cold.weights) expect(Buffer.from(warm.weights.get(name)!.buffer), name).toEqual(Buffer.from(w.buffer));
  }, 120_000);

  test('a dry run encodes nothing: buffers keep their contents, reads give zeros, no dispatch is counted', async () => {
    const ctx = getCtx();
    const x = ctx.tensor([1, 2, 3, 4], [4]);
    const dispatches = ctx.gpu.stats.dispatches;
    let readInside: ArrayLike<number> = [];
    const specs = await ctx.gpu.recordKernels(async () => {
      const y = ctx.fill([4], 7);
      ctx.gpu.copy(y.buffer, 0, x.buffer, 0, 16);
      ctx.gpu.clear(x.buffer, 16);
      readInside = await y.read();
      y.dispose();
    });
    expect(specs.map((s) => s.name)).toEqual(['elementwise.fill']);
    expect(ctx.gpu.stats.dispatches).toBe(dispatches);
    expect(Array.from(readInside)).toEqual([0, 0, 0, 0]);
    expect(Array.from(await x.read())).toEqual([1, 2, 3, 4]);
    // After the recording, work runs again.
    const z = ctx.fill([2], 5);
    expect(Array.from(await z.read())).toEqual([5, 5]);
    x.dispose();
    z.dispose();
  });

  test('a kernel that fails to compile ahead is named; a nested recording is refused', async () => {
    const ctx = getCtx();
    const bad = { name: 'broken.entry', id: 'test.broken', source: '@compute @workgroup_size(1) fn main() { let x: u32 = 1.5; }', entryPoint: 'main' };
    await expect(ctx.gpu.pipelines.compileAhead([bad])).rejects.toThrow(/kernel broken\.entry failed to compile/);
    await expect(ctx.gpu.recordKernels(() => ctx.gpu.recordKernels(() => {}))).rejects.toThrow(/a recording is already running/);
    // The failed recording left the runtime usable.
    const t = ctx.fill([1], 2);
    expect(Array.from(await t.read())).toEqual([2]);
    t.dispose();
  });
});
