import { describe, expect, test } from 'vitest';
import { gradCheck } from '../../src/autograd/grad-check.js';
import {
  addB, addScalar, div, exp, log, maskedSoftmax, mulB, rowMax, rowMean, rowSum, rsqrt, sigmoid, sub, swapAxes, tanh,
} from '../../src/autograd/ops/primitives.js';
import * as ref from '../../src/reference/primitives.js';
import { maxRelativeError, randomArray, useContext } from '../helpers/gpu.js';

const getCtx = useContext();
const f64 = (a: Float32Array) => Float64Array.from(a);

// 256 threads per workgroup: element and row counts below, at and above one workgroup.
const SIZES = [1, 7, 255, 256, 257, 65 * 33];

describe('unary maps forward', () => {
  test.each(SIZES)('n = %i against the float64 reference', async (n) => {
    const ctx = getCtx();
    const x = randomArray(n, n + 3, -3, 3);
    const pos = randomArray(n, n + 4, 0.05, 4);
    // Large magnitudes: tanh and sigmoid must not overflow to NaN.
    const big = randomArray(n, n + 5, -200, 200);
    const outs = ctx.tidy(() => {
      const tx = ctx.tensor(x, [n]);
      const tp = ctx.tensor(pos, [n]);
      const tb = ctx.tensor(big, [n]);
      return [exp(tx), log(tp), tanh(tx), rsqrt(tp), sigmoid(tx), addScalar(tx, 0.25), tanh(tb), sigmoid(tb)];
    });
    const expected = [
      ref.exp(f64(x)), ref.log(f64(pos)), ref.tanh(f64(x)), ref.rsqrt(f64(pos)), ref.sigmoid(f64(x)),
      ref.addScalar(f64(x), 0.25), ref.tanh(f64(big)), ref.sigmoid(f64(big)),
    ];
    for (let i = 0; i < outs.length; i++) {
      expect(maxRelativeError(await outs[i].read(), expected[i], 1e-5, 1e-6), `op ${i}`).toBeLessThanOrEqual(1);
      outs[i].dispose();
    }
  });

  test('rejects a non-finite scalar and a non-tensor', () => {
    const ctx = getCtx();
    expect(() => addScalar(ctx.zeros([2]), Infinity)).toThrow(/addScalar: c must be finite, got Infinity/);
    expect(() => exp(3 as never)).toThrow(/exp: x must be a Tensor/);
  });
});

describe('broadcast binary forward', () => {
  // b shapes: same shape, per row (trailing 1), per column (leading broadcast), a middle block, scalar.
  const cases: [number[], number[]][] = [
    [[3, 257], [3, 257]],
    [[257, 5], [257, 1]],
    [[300, 7], [7]],
    [[4, 65, 3], [65, 1]],
    [[2, 3, 4, 5], [1, 3, 4, 1]],
    [[256], [1]],
  ];
  test.each(cases)('a %j, b %j', async (aShape, bShape) => {
    const ctx = getCtx();
    const na = aShape.reduce((p, q) => p * q, 1);
    const nb = bShape.reduce((p, q) => p * q, 1);
    const a = randomArray(na, na, -2, 2);
    const b = randomArray(nb, nb + 9, 0.5, 2);
    const outs = ctx.tidy(() => {
      const ta = ctx.tensor(a, aShape);
      const tb = ctx.tensor(b, bShape);
      return [addB(ta, tb), sub(ta, tb), mulB(ta, tb), div(ta, tb)];
    });
    const ops = ['add', 'sub', 'mul', 'div'] as const;
    for (let i = 0; i < ops.length; i++) {
      const want = ref.broadcast(ops[i], f64(a), aShape, f64(b), bShape);
      expect(maxRelativeError(await outs[i].read(), want, 1e-5, 1e-6), ops[i]).toBeLessThanOrEqual(1);
      outs[i].dispose();
    }
  });

  test('rejects shapes that do not broadcast, naming both', () => {
    const ctx = getCtx();
    expect(() => sub(ctx.zeros([3, 4]), ctx.zeros([3]))).toThrow(/sub: b \[3\] does not broadcast against a \[3, 4\]: axis 1 is 3/);
    expect(() => div(ctx.zeros([2, 3, 4]), ctx.zeros([2, 1, 4]))).toThrow(/not one contiguous block/);
    expect(() => mulB(ctx.zeros([4]), ctx.zeros([1, 4]))).toThrow(/b has more axes than a/);
  });
});

describe('row reductions and masked softmax forward', () => {
  test.each(SIZES)('%i rows of 33, and one row of that width', async (n) => {
    const ctx = getCtx();
    for (const [rows, width] of [[n, 33], [3, n]]) {
      const x = randomArray(rows * width, rows + width, -4, 4);
      const outs = ctx.tidy(() => {
        const t = ctx.tensor(x, [rows, width]);
        return [rowSum(t), rowMean(t), rowMax(t), maskedSoftmax(t)];
      });
      const want = [ref.rowSum(f64(x), width), ref.rowMean(f64(x), width), ref.rowMax(f64(x), width), ref.maskedSoftmax(f64(x), width)];
      for (let i = 0; i < outs.length; i++) {
        expect(maxRelativeError(await outs[i].read(), want[i], 1e-5, 1e-5), `rows ${rows} width ${width} op ${i}`).toBeLessThanOrEqual(1);
        outs[i].dispose();
      }
    }
  });

  test('masked softmax: weights past each length are exactly 0, an all-masked row is zeros', async () => {
    const ctx = getCtx();
    const [B, K, L] = [5, 3, 300];
    const x = randomArray(B * K * L, 11, -30, 30);
    // A negative length and one past L are clamped; 0 masks the whole row.
    const lengths = Int32Array.of(0, 1, 257, 300, -2);
    const y = ctx.tidy(() => maskedSoftmax(ctx.tensor(x, [B, K, L]), ctx.tensor(lengths, [B])));
    const got = await y.read();
    y.dispose();
    expect(maxRelativeError(got, ref.maskedSoftmax(f64(x), L, lengths), 1e-5, 1e-6)).toBeLessThanOrEqual(1);
    for (let r = 0; r < B * K; r++) {
      const len = Math.min(Math.max(lengths[Math.floor(r / K)], 0), L);
      let s = 0;
      for (let c = 0; c < L; c++) {
        const v = got[r * L + c];
        expect(Number.isNaN(v)).toBe(false);
        if (c >= len) expect(v).toBe(0);
        s += v;
      }
      expect(s).toBeCloseTo(len > 0 ? 1 : 0, 5);
    }
  });

  test('masked softmax rejects lengths that do not divide the rows; reductions reject empty rows', () => {
    const ctx = getCtx();
    expect(() => maskedSoftmax(ctx.zeros([6, 4]), ctx.tensor(Int32Array.of(1, 2, 3, 4), [4]))).toThrow(
      /maskedSoftmax: lengths \[4\] must divide the 6 rows/,
    );
    expect(() => rowMax(ctx.zeros([3, 0]))).toThrow(/rowMax: x \[3, 0\] has empty rows/);
  });

  test.each([[[2, 3, 4], 0], [[3, 257, 5], 1], [[2, 3, 4, 5], 1], [[300, 2], 0]] as [number[], number][])(
    'swapAxes %j at axis %i',
    async (shape, axis) => {
      const ctx = getCtx();
      const n = shape.reduce((p, q) => p * q, 1);
      const x = randomArray(n, n);
      const y = ctx.tidy(() => swapAxes(ctx.tensor(x, shape), axis));
      expect(Array.from(await y.read())).toEqual(Array.from(Float32Array.from(ref.swapAxes(f64(x), shape, axis))));
      y.dispose();
    },
  );
});

describe('gradients against finite differences of the float64 references', () => {
  const n = 37;
  const check = async (inputs: { data: Float32Array | Int32Array; shape: number[]; check?: boolean }[], gpu: Parameters<typeof gradCheck>[0]['gpu'], reference: Parameters<typeof gradCheck>[0]['reference']) => {
    const result = await gradCheck({ ctx: getCtx(), inputs, gpu, reference });
    for (const err of result.maxError) expect(err).toBeLessThan(2e-3);
    return result;
  };

  test('exp, log, tanh, rsqrt, sigmoid, addScalar', async () => {
    const x = randomArray(n, 70, -1.5, 1.5);
    const p = randomArray(n, 71, 0.3, 3);
    await check([{ data: x, shape: [n], check: true }], ([t]) => exp(t), ([t]) => ref.exp(t));
    await check([{ data: p, shape: [n], check: true }], ([t]) => log(t), ([t]) => ref.log(t));
    await check([{ data: x, shape: [n], check: true }], ([t]) => tanh(t), ([t]) => ref.tanh(t));
    await check([{ data: p, shape: [n], check: true }], ([t]) => rsqrt(t), ([t]) => ref.rsqrt(t));
    await check([{ data: x, shape: [n], check: true }], ([t]) => sigmoid(addScalar(t, 0.5)), ([t]) => ref.sigmoid(ref.addScalar(t, 0.5)));
  });

  test.each([
    [[6, 7], [6, 1]],
    [[4, 5, 3], [3]],
    [[2, 5, 3], [5, 1]],
    [[5, 4], [5, 4]],
  ] as [number[], number[]][])('add/sub/mul/div with a %j and b %j (both gradients)', async (aShape, bShape) => {
    const na = aShape.reduce((p, q) => p * q, 1);
    const nb = bShape.reduce((p, q) => p * q, 1);
    const a = randomArray(na, 80);
    const b = randomArray(nb, 81, 0.5, 1.5);
    for (const op of ['add', 'sub', 'mul', 'div'] as const) {
      const fn = { add: addB, sub, mul: mulB, div }[op];
      await check(
        [{ data: a, shape: aShape, check: true }, { data: b, shape: bShape, check: true }],
        ([ta, tb]) => fn(ta, tb),
        ([ra, rb]) => ref.broadcast(op, ra, aShape, rb, bShape),
      );
    }
  });

  test('rowSum, rowMean, rowMax', async () => {
    // Distinct values per row, well apart, so the max does not switch within the step.
    const x = Float32Array.from({ length: 6 * 7 }, (_, i) => ((i * 37) % 42) * 0.1 - 2);
    await check([{ data: x, shape: [6, 7], check: true }], ([t]) => rowSum(t), ([t]) => ref.rowSum(t, 7));
    await check([{ data: x, shape: [6, 7], check: true }], ([t]) => rowMean(t), ([t]) => ref.rowMean(t, 7));
    await check([{ data: x, shape: [2, 3, 7], check: true }], ([t]) => rowMax(t), ([t]) => ref.rowMax(t, 7));
  });

  test('maskedSoftmax with lengths (an all-masked row included) and swapAxes', async () => {
    const [B, K, L] = [4, 3, 6];
    const lengths = Int32Array.of(6, 0, 2, 5);
    await check(
      [{ data: randomArray(B * K * L, 90, -2, 2), shape: [B, K, L], check: true }, { data: lengths, shape: [B] }],
      ([t, l]) => maskedSoftmax(t, l),
      ([t]) => ref.maskedSoftmax(t, L, lengths),
    );
    await check(
      [{ data: randomArray(60, 91), shape: [3, 4, 5], check: true }],
      ([t]) => swapAxes(t, 1),
      ([t]) => ref.swapAxes(t, [3, 4, 5], 1),
    );
  });
});
