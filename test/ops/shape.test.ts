import { describe, expect, test } from 'vitest';
import { gradCheck } from '../../src/autograd/grad-check.js';
import { biasAdd } from '../../src/autograd/ops/bias.js';
import { concatLast } from '../../src/autograd/ops/concat.js';
import { mul } from '../../src/autograd/ops/elementwise.js';
import { reshape } from '../../src/autograd/ops/reshape.js';
import { tile } from '../../src/autograd/ops/tile.js';
import * as elementwise from '../../src/reference/elementwise.js';
import * as ref from '../../src/reference/shape.js';
import { maxRelativeError, randomArray, useContext } from '../helpers/gpu.js';

const getCtx = useContext();
const f64 = (a: Float32Array) => Float64Array.from(a);

describe('concatLast', () => {
  test.each([
    [3, [2, 5, 1]],
    [1, [1]],
    [33, [7, 0, 65]],
    [0, [3, 4]],
  ])('rows %i, widths %j against the reference', async (rows, widths) => {
    const ctx = getCtx();
    const parts = widths.map((w, i) => randomArray(rows * w, 10 + i));
    const out = ctx.tidy(() => concatLast(parts.map((p, i) => ctx.tensor(p, [rows, widths[i]]))));
    const total = widths.reduce((a, b) => a + b, 0);
    expect(out.shape).toEqual([rows, total]);
    expect(Array.from(await out.read())).toEqual(Array.from(ref.concatLast(parts.map(f64), rows, widths)));
    out.dispose();
  });

  test('gradient goes to each block, including through an input used twice', async () => {
    const widths = [3, 1, 4];
    const rows = 5;
    const result = await gradCheck({
      ctx: getCtx(),
      inputs: widths.map((w, i) => ({ data: randomArray(rows * w, 20 + i), shape: [rows, w], check: true })),
      gpu: ([a, b, c]) => concatLast([a, b, c, a]),
      reference: ([a, b, c]) => ref.concatLast([a, b, c, a], rows, [...widths, widths[0]]),
    });
    for (const err of result.maxError) expect(err).toBeLessThan(2e-3);
  });

  test('rejects row counts that differ', () => {
    const ctx = getCtx();
    expect(() => concatLast([ctx.zeros([2, 3]), ctx.zeros([3, 3])])).toThrow(/tensors\[1\] \[3, 3\] has 3 rows, tensors\[0\] has 2/);
  });
});

describe('tile', () => {
  test.each([
    [2, 3, 4],
    [1, 1, 1],
    [7, 65, 5],
    [3, 0, 2],
    [0, 4, 2],
  ])('[%i, %i] × K=%i against the reference', async (batches, width, copies) => {
    const ctx = getCtx();
    const data = randomArray(batches * width, 30);
    const out = ctx.tidy(() => tile(ctx.tensor(data, [batches, width]), copies));
    expect(out.shape).toEqual([batches, copies, width]);
    expect(Array.from(await out.read())).toEqual(Array.from(ref.tile(f64(data), batches, width, copies)));
    out.dispose();
  });

  test('gradient sums over the copies', async () => {
    for (const [batches, width, copies] of [
      [3, 5, 4],
      [2, 3, 40],
      [2, 2, 0],
    ]) {
      const result = await gradCheck({
        ctx: getCtx(),
        inputs: [{ data: randomArray(batches * width, 31), shape: [batches, width], check: true }],
        gpu: ([x]) => tile(x, copies),
        reference: ([x]) => ref.tile(x, batches, width, copies),
      });
      expect(result.maxError[0], `K=${copies}`).toBeLessThan(2e-3);
    }
  });
});

describe('reshape', () => {
  test('shares the buffer, infers -1 and reshapes the gradient back', async () => {
    const ctx = getCtx();
    const data = randomArray(24, 40);
    const x = ctx.tensor(data, [2, 3, 4]);
    const y = reshape(x, [6, -1]);
    expect(y.shape).toEqual([6, 4]);
    expect(y.buffer).toBe(x.buffer);
    expect(await y.read()).toEqual(data);
    expect(() => reshape(x, [5, -1])).toThrow(/reshape: cannot view \[2, 3, 4\] as \[5, -1\]/);
    expect(() => reshape(x, [-1, -1])).toThrow(/cannot view/);
    expect(() => reshape(x, [4, 5])).toThrow(/cannot view/);
    const w = randomArray(24, 41);
    const result = await gradCheck({
      ctx,
      inputs: [
        { data, shape: [2, 3, 4], check: true },
        { data: w, shape: [6, 4] },
      ],
      gpu: ([a, b]) => mul(reshape(a, [6, 4]), b),
      reference: ([a, b]) => elementwise.mul(a, b),
    });
    expect(result.maxError[0]).toBeLessThan(2e-3);
  });
});

describe('biasAdd', () => {
  test.each([
    [[3, 4]],
    [[1, 1]],
    [[33, 65]],
    [[2, 3, 5]],
    [[0, 7]],
    [[7]],
  ])('x %j against the reference', async (shape) => {
    const ctx = getCtx();
    const n = shape[shape.length - 1];
    const size = shape.reduce((a, b) => a * b, 1);
    const x = randomArray(size, 50);
    const b = randomArray(n, 51);
    const out = ctx.tidy(() => biasAdd(ctx.tensor(x, shape), ctx.tensor(b, [n])));
    expect(out.shape).toEqual(shape);
    expect(maxRelativeError(await out.read(), elementwise.biasAdd(f64(x), f64(b)))).toBeLessThanOrEqual(1);
    out.dispose();
  });

  test('gradients: dx = dy, db = column sums', async () => {
    for (const shape of [
      [6, 5],
      [2, 70, 3],
    ]) {
      const n = shape[shape.length - 1];
      const size = shape.reduce((a, b) => a * b, 1);
      const result = await gradCheck({
        ctx: getCtx(),
        inputs: [
          { data: randomArray(size, 52), shape, check: true },
          { data: randomArray(n, 53), shape: [n], check: true },
        ],
        gpu: ([x, b]) => biasAdd(x, b),
        reference: ([x, b]) => elementwise.biasAdd(x, b),
      });
      for (const err of result.maxError) expect(err, JSON.stringify(shape)).toBeLessThan(2e-3);
    }
  });

  test('rejects a bias of the wrong length', () => {
    const ctx = getCtx();
    expect(() => biasAdd(ctx.zeros([2, 3]), ctx.zeros([4]))).toThrow(/biasAdd: x \[2, 3\] must end in the bias length 4/);
  });
});
