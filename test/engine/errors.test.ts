import { describe, expect, test, vi } from 'vitest';
import { add } from '../../src/autograd/ops/elementwise.js';
import { matmul } from '../../src/autograd/ops/matmul.js';
import elementwiseKernels from '../../kernels/elementwise.wgsl?raw';
import indexWgsl from '../../kernels/common/index.wgsl?raw';
import { randomArray, useContext } from '../helpers/gpu.js';

const getCtx = useContext();

describe('pipeline cache', () => {
  test('running an op twice compiles once; new sizes reuse the pipeline, new flags do not', async () => {
    const ctx = getCtx();
    const a = ctx.tensor(randomArray(35, 1), [5, 7]);
    const b = ctx.tensor(randomArray(28, 2), [7, 4]);
    const start = ctx.gpu.pipelines.size;
    matmul(a, b);
    expect(ctx.gpu.pipelines.size).toBe(start + 1);
    matmul(a, b);
    matmul(ctx.tensor(randomArray(70, 3), [10, 7]), b);
    expect(ctx.gpu.pipelines.size).toBe(start + 1);
    matmul(a, a, { transB: true });
    expect(ctx.gpu.pipelines.size).toBe(start + 2);
    await ctx.sync();
  });
});

describe('WebGPU errors', () => {
  test('a WGSL compile error surfaces at the next sync as an Error naming the kernel', async () => {
    const ctx = getCtx();
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    const out = ctx.empty([4]);
    ctx.run(
      { name: 'test.broken_kernel', source: '@compute @workgroup_size(1) fn main() { let x: f32 = ; }', entryPoint: 'main' },
      [out],
      [1],
    );
    await expect(ctx.sync()).rejects.toThrow(/kernel test\.broken_kernel failed to compile/);
    // The failed submit that held the broken dispatch is not reported a second time.
    await expect(ctx.sync()).resolves.toBeUndefined();
    quiet.mockRestore();
    // Once reported, the errors are gone: later work runs normally.
    const x = ctx.tensor([1, 2], [2]);
    expect(Array.from(await add(x, x).read())).toEqual([2, 4]);
  });

  test('a binding validation error surfaces at the next read as an Error naming the kernel', async () => {
    const ctx = getCtx();
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    const x = ctx.tensor([1, 2, 3], [3]);
    // A storage buffer where the kernel declares its uniform block (through the positional
    // path, which checks nothing; KernelEntry.run would throw before dispatch).
    const elementwise = `${indexWgsl}\n${elementwiseKernels}`;
    ctx.run({ name: 'elementwise.add', source: elementwise, entryPoint: 'add' }, [x, x, x, ctx.empty([3])], [1]);
    await expect(x.read()).rejects.toThrow(/WebGPU error in a submit with kernels \[elementwise\.add\]/);
    quiet.mockRestore();
    const y = ctx.tensor([1, 2], [2]);
    expect(Array.from(await add(y, y).read())).toEqual([2, 4]);
  });
});
