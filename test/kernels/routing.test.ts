import { describe, expect, test } from 'vitest';
import { gradCheck } from '../../src/autograd/grad-check.js';
import type { Context } from '../../src/autograd/context.js';
import type { Tensor } from '../../src/autograd/tensor.js';
import {
  type B2IRoutingOptions,
  type RoutingLayout,
  activeInterestCount,
  b2iRouting,
  routingLayout,
  sampleInitialLogits,
} from '../../src/mind/ops/routing.js';
import { initialLogitsReference, philox4x32_10 } from '../../src/reference/rng.js';
import { type RoutingReferenceArgs, routingForwardReference, routingStopGradientReference } from '../../src/reference/routing.js';
import { maxRelativeError, randomArray, useContext } from '../helpers/gpu.js';

const getCtx = useContext();

interface Case {
  B: number;
  L: number;
  dIn: number;
  d: number;
  kMax: number;
  lengths: number[];
  iterations?: number;
  softmaxOver?: 'interests' | 'behaviors';
  dynamicK?: boolean;
  seed?: number;
  /** Scales of E, S and the initial logits. */
  scale?: [number, number, number];
  workgroupMemoryBytes?: number;
}

function caseData(c: Case) {
  const seed = c.seed ?? 1;
  const [se, ss, sb] = c.scale ?? [1, 1, 1];
  return {
    E: randomArray(c.B * c.L * c.dIn, seed, -se, se),
    S: randomArray(c.dIn * c.d, seed + 1, -ss, ss),
    b0: randomArray(c.B * c.kMax * c.L, seed + 2, -sb, sb),
    lengths: Int32Array.from(c.lengths),
  };
}

function referenceArgs(c: Case, data: ReturnType<typeof caseData>): RoutingReferenceArgs {
  return { ...data, B: c.B, L: c.L, dIn: c.dIn, d: c.d, kMax: c.kMax, iterations: c.iterations ?? 3, softmaxOver: c.softmaxOver, dynamicK: c.dynamicK };
}

function options(c: Case, extra: Partial<B2IRoutingOptions> = {}): B2IRoutingOptions {
  return {
    kMax: c.kMax,
    iterations: c.iterations ?? 3,
    softmaxOver: c.softmaxOver,
    dynamicK: c.dynamicK,
    workgroupMemoryBytes: c.workgroupMemoryBytes,
    ...extra,
  };
}

/** Largest |a − e| / (tol·|e| + tol·1e-2·max|e|): ≤ 1 passes; the floor keeps near-zero entries fair. */
function closeness(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): number {
  let scale = 0;
  for (let i = 0; i < expected.length; i++) scale = Math.max(scale, Math.abs(expected[i]));
  return maxRelativeError(actual, expected, tol, tol * 1e-2 * Math.max(scale, 1e-30));
}

/** Runs forward and (with `dU`) the backward on the GPU: U, dE, dS as host arrays. */
async function runGpu(ctx: Context, c: Case, data: ReturnType<typeof caseData>, gradient?: 'stop' | 'full', dU?: Float32Array) {
  return ctx.tidy(async () => {
    const E = ctx.tensor(data.E, [c.B, c.L, c.dIn], { requiresGrad: !!dU });
    const S = ctx.tensor(data.S, [c.dIn, c.d], { requiresGrad: !!dU });
    const U = b2iRouting(E, ctx.tensor(data.lengths, [c.B]), S, options(c, { initLogits: ctx.tensor(data.b0, [c.B, c.kMax, c.L]), gradient }));
    const u = await U.read();
    if (!dU) return { U: u };
    await U.backward(ctx.tensor(dU, U.shape));
    return { U: u, dE: await (E.grad as Tensor).read(), dS: await (S.grad as Tensor).read() };
  });
}

async function expectForwardMatches(c: Case, tol = 1e-4) {
  const data = caseData(c);
  const { U } = await runGpu(getCtx(), c, data);
  const ref = routingForwardReference(referenceArgs(c, data));
  expect(U.every(Number.isFinite)).toBe(true);
  expect(maxRelativeError(U, ref, tol, 1e-5)).toBeLessThanOrEqual(1);
  return { U, ref };
}

async function expectStopGradientMatches(c: Case) {
  const data = caseData(c);
  const dU = randomArray(c.B * c.kMax * c.d, 99);
  const got = await runGpu(getCtx(), c, data, 'stop', dU);
  const ref = routingStopGradientReference(referenceArgs(c, data), dU);
  expect(maxRelativeError(got.U, routingForwardReference(referenceArgs(c, data)), 1e-4, 1e-5)).toBeLessThanOrEqual(1);
  expect(got.dE!.every(Number.isFinite) && got.dS!.every(Number.isFinite)).toBe(true);
  // The rule is exact in float64, so float32 meets it far tighter than the 2e-3 allowed against
  // finite differences (the worst case here is ~1e-4).
  expect(closeness(got.dE!, ref.dE, 5e-4)).toBeLessThanOrEqual(1);
  expect(closeness(got.dS!, ref.dS, 5e-4)).toBeLessThanOrEqual(1);
}

async function expectFullGradientMatchesFiniteDifferences(c: Case) {
  const data = caseData(c);
  const result = await gradCheck({
    ctx: getCtx(),
    inputs: [
      { data: data.E, shape: [c.B, c.L, c.dIn], check: true },
      { data: data.lengths, shape: [c.B] },
      { data: data.S, shape: [c.dIn, c.d], check: true },
      { data: data.b0, shape: [c.B, c.kMax, c.L] },
    ],
    gpu: ([E, lengths, S, b0]) => b2iRouting(E, lengths, S, options(c, { initLogits: b0, gradient: 'full' })),
    reference: ([E, lengths, S, b0]) => routingForwardReference({ ...referenceArgs(c, data), E, lengths, S, b0 }),
  });
  for (const err of result.maxError) expect(err).toBeLessThan(2e-3);
}

/** The largest workgroup-memory budget (bytes) whose routing layout satisfies `wanted`. */
function budgetWhere(c: Case, pass: 'forward' | 'backward', wanted: (layout: RoutingLayout) => boolean): number {
  for (let bytes = 32768; bytes > 0; bytes -= 16) {
    let layout: RoutingLayout;
    try {
      layout = routingLayout(bytes, c.kMax, c.L, c.d, pass);
    } catch {
      break;
    }
    if (wanted(layout)) return bytes;
  }
  throw new Error('no workgroup-memory budget gives the wanted layout');
}

/** Tiny shapes for finite differences: a full, a short, an empty and a length-1 history. */
const tiny: Case = { B: 4, L: 5, dIn: 3, d: 4, kMax: 3, lengths: [5, 2, 0, 1] };

describe('initial logits (Philox4x32-10 + Box-Muller)', () => {
  test('the reference Philox matches the Random123 known-answer vectors', () => {
    expect(Array.from(philox4x32_10([0, 0, 0, 0], [0, 0]))).toEqual([0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]);
    expect(Array.from(philox4x32_10([0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff], [0xffffffff, 0xffffffff]))).toEqual([
      0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd,
    ]);
    expect(Array.from(philox4x32_10([0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344], [0xa4093822, 0x299f31d0]))).toEqual([
      0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1,
    ]);
  });

  test('GPU draws match the float64 reference', async () => {
    const ctx = getCtx();
    const seed = 2 ** 40 + 12345;
    const got = await sampleInitialLogits(ctx, { batch: 3, kMax: 5, length: 37, seed, initStd: 0.7 }).read();
    const ref = initialLogitsReference({ seed, B: 3, K: 5, L: 37, initStd: 0.7 });
    for (let i = 0; i < ref.length; i++) expect(Math.abs(got[i] - ref[i])).toBeLessThan(1e-6 * Math.max(1, Math.abs(ref[i])));
  });

  test('draws look Gaussian with the requested std', async () => {
    const initStd = 2.5;
    const x = await sampleInitialLogits(getCtx(), { batch: 32, kMax: 16, length: 512, seed: 7, initStd }).read();
    const n = x.length;
    let mean = 0;
    for (const v of x) mean += v;
    mean /= n;
    let varSum = 0;
    let within1 = 0;
    let beyond2 = 0;
    let lag = 0;
    for (let i = 0; i < n; i++) {
      varSum += (x[i] - mean) ** 2;
      if (Math.abs(x[i]) < initStd) within1++;
      if (Math.abs(x[i]) > 2 * initStd) beyond2++;
      if (i > 0) lag += (x[i] - mean) * (x[i - 1] - mean);
    }
    const std = Math.sqrt(varSum / n);
    expect(Math.abs(mean)).toBeLessThan((4 * initStd) / Math.sqrt(n));
    expect(Math.abs(std / initStd - 1)).toBeLessThan(0.01);
    expect(Math.abs(within1 / n - 0.6827)).toBeLessThan(0.005);
    expect(Math.abs(beyond2 / n - 0.0455)).toBeLessThan(0.002);
    expect(Math.abs(lag / varSum)).toBeLessThan(0.01);
  });

  test('the forward draws exactly sampleInitialLogits(seed); seeds reproduce, calls and samples differ', async () => {
    const ctx = getCtx();
    const c: Case = { B: 3, L: 9, dIn: 4, d: 5, kMax: 4, lengths: [9, 9, 6] };
    const data = caseData(c);
    // Samples 0 and 1 share the same history.
    data.E.copyWithin(c.L * c.dIn, 0, c.L * c.dIn);
    const run = (extra: Partial<B2IRoutingOptions>) =>
      ctx.tidy(() =>
        b2iRouting(ctx.tensor(data.E, [c.B, c.L, c.dIn]), ctx.tensor(data.lengths, [c.B]), ctx.tensor(data.S, [c.dIn, c.d]), {
          kMax: c.kMax,
          ...extra,
        }).read(),
      );
    const seeded = await run({ seed: 5, initStd: 0.5 });
    const b0 = sampleInitialLogits(ctx, { batch: c.B, kMax: c.kMax, length: c.L, seed: 5, initStd: 0.5 });
    expect(Array.from(await run({ initLogits: b0 }))).toEqual(Array.from(seeded));
    b0.dispose();
    expect(Array.from(await run({ seed: 5, initStd: 0.5 }))).toEqual(Array.from(seeded));
    expect(Array.from(await run({ seed: 6, initStd: 0.5 }))).not.toEqual(Array.from(seeded));
    const unseeded = await run({});
    expect(Array.from(await run({}))).not.toEqual(Array.from(unseeded));
    const perSample = c.kMax * c.d;
    expect(Array.from(seeded.slice(0, perSample))).not.toEqual(Array.from(seeded.slice(perSample, 2 * perSample)));
  });

  test("'shared' draws match the float64 reference: keyed by (seed, j, i), equal in every row, apart from 'perSample'", async () => {
    const ctx = getCtx();
    const seed = 2 ** 40 + 12345;
    const args = { batch: 3, kMax: 5, length: 37, seed, initStd: 0.7 };
    const got = await sampleInitialLogits(ctx, { ...args, initDraw: 'shared' }).read();
    const ref = initialLogitsReference({ seed, B: 3, K: 5, L: 37, initStd: 0.7, draw: 'shared' });
    for (let i = 0; i < ref.length; i++) expect(Math.abs(got[i] - ref[i])).toBeLessThan(1e-6 * Math.max(1, Math.abs(ref[i])));
    const row = 5 * 37;
    expect(Array.from(got.slice(row, 2 * row))).toEqual(Array.from(got.slice(0, row)));
    expect(Array.from(got.slice(2 * row))).toEqual(Array.from(got.slice(0, row)));
    // A shorter padded length gives each position the same logit: the key is i, not L.
    const shorter = await sampleInitialLogits(ctx, { ...args, batch: 1, length: 9, initDraw: 'shared' }).read();
    for (let j = 0; j < 5; j++) expect(Array.from(shorter.slice(j * 9, (j + 1) * 9))).toEqual(Array.from(got.slice(j * 37, j * 37 + 9)));
    const perSample = await sampleInitialLogits(ctx, args).read();
    expect(Array.from(got.slice(0, row))).not.toEqual(Array.from(perSample.slice(0, row)));
  });

  test("the 'shared' forward draws sampleInitialLogits('shared') and gives a sample the same U in any row", async () => {
    const ctx = getCtx();
    const c: Case = { B: 3, L: 9, dIn: 4, d: 5, kMax: 4, lengths: [9, 6, 9] };
    const data = caseData(c);
    // Rows 0 and 2 hold the same history.
    data.E.copyWithin(2 * c.L * c.dIn, 0, c.L * c.dIn);
    const run = (extra: Partial<B2IRoutingOptions>) =>
      ctx.tidy(() =>
        b2iRouting(ctx.tensor(data.E, [c.B, c.L, c.dIn]), ctx.tensor(data.lengths, [c.B]), ctx.tensor(data.S, [c.dIn, c.d]), {
          kMax: c.kMax,
          dynamicK: true,
          ...extra,
        }).read(),
      );
    const shared = await run({ seed: 5, initStd: 0.5, initDraw: 'shared' });
    const b0 = sampleInitialLogits(ctx, { batch: c.B, kMax: c.kMax, length: c.L, seed: 5, initStd: 0.5, initDraw: 'shared' });
    expect(Array.from(await run({ initLogits: b0 }))).toEqual(Array.from(shared));
    b0.dispose();
    const perRow = c.kMax * c.d;
    expect(Array.from(shared.slice(2 * perRow))).toEqual(Array.from(shared.slice(0, perRow)));
    const perSample = await run({ seed: 5, initStd: 0.5 });
    expect(Array.from(perSample.slice(2 * perRow))).not.toEqual(Array.from(perSample.slice(0, perRow)));
    // Against the float64 routing with the reference's shared logits.
    const ref = routingForwardReference({
      ...referenceArgs({ ...c, dynamicK: true }, data),
      b0: initialLogitsReference({ seed: 5, B: c.B, K: c.kMax, L: c.L, initStd: 0.5, draw: 'shared' }),
    });
    expect(maxRelativeError(shared, ref, 1e-4, 1e-5)).toBeLessThanOrEqual(1);
  });
});

describe('forward matches the float64 reference', () => {
  const combos = (['interests', 'behaviors'] as const).flatMap((softmaxOver) =>
    [false, true].flatMap((dynamicK) => [1, 3].map((iterations) => ({ softmaxOver, dynamicK, iterations }))),
  );
  test.each(combos)('softmaxOver=$softmaxOver dynamicK=$dynamicK iterations=$iterations', async (o) => {
    // L = 33 and 7 are not multiples of anything in the kernels; lengths cover full, 0, 1 and
    // kMax > length; dIn and d cover unaligned and vec4-aligned rows in both orders.
    await expectForwardMatches({ B: 5, L: 33, dIn: 6, d: 8, kMax: 5, lengths: [33, 0, 1, 4, 17], ...o });
    await expectForwardMatches({ B: 3, L: 7, dIn: 4, d: 3, kMax: 8, lengths: [7, 2, 5], seed: 4, ...o });
  });

  test('K = 1, and a batch of empty histories gives exact zeros', async () => {
    await expectForwardMatches({ B: 3, L: 7, dIn: 5, d: 6, kMax: 1, lengths: [7, 3, 1] });
    await expectForwardMatches({ B: 3, L: 7, dIn: 5, d: 6, kMax: 1, lengths: [7, 3, 1], softmaxOver: 'behaviors' });
    const { U } = await expectForwardMatches({ B: 2, L: 7, dIn: 5, d: 6, kMax: 4, lengths: [0, 0] });
    expect(U.every((v) => v === 0)).toBe(true);
  });

  test('degenerate sizes: no samples, no history, width 1', async () => {
    const ctx = getCtx();
    const empty = b2iRouting(ctx.tensor(new Float32Array(0), [0, 5, 3]), ctx.tensor(new Int32Array(0), [0]), ctx.tensor(randomArray(12, 1), [3, 4]), { kMax: 2 });
    expect(empty.shape).toEqual([0, 2, 4]);
    const noHistory = await b2iRouting(ctx.tensor(new Float32Array(0), [2, 0, 3]), ctx.tensor(Int32Array.from([0, 0]), [2]), ctx.tensor(randomArray(12, 1), [3, 4]), { kMax: 2 }).read();
    expect(Array.from(noHistory)).toEqual(new Array(16).fill(0));
    await expectForwardMatches({ B: 2, L: 6, dIn: 1, d: 1, kMax: 3, lengths: [6, 2] });
    await expectStopGradientMatches({ B: 2, L: 6, dIn: 1, d: 1, kMax: 3, lengths: [6, 2] });
  });

  test('inactive interests are exact zeros', async () => {
    const c: Case = { B: 2, L: 40, dIn: 4, d: 6, kMax: 8, lengths: [5, 40], dynamicK: true };
    const { U } = await expectForwardMatches(c);
    const active = activeInterestCount(Int32Array.from(c.lengths), c.kMax);
    expect(Array.from(active)).toEqual([2, 5]);
    for (let b = 0; b < c.B; b++) {
      for (let j = active[b]; j < c.kMax; j++) {
        for (let k = 0; k < c.d; k++) expect(U[(b * c.kMax + j) * c.d + k]).toBe(0);
      }
    }
  });

  test('huge inputs and logits (±1e4) give no NaN and match', async () => {
    for (const softmaxOver of ['interests', 'behaviors'] as const) {
      await expectForwardMatches({ B: 3, L: 33, dIn: 8, d: 8, kMax: 4, lengths: [33, 9, 1], scale: [1e4, 1, 1e4], softmaxOver });
      await expectForwardMatches({ B: 2, L: 12, dIn: 8, d: 8, kMax: 4, lengths: [12, 5], scale: [1e4, 1e4, 1], softmaxOver, seed: 3 });
    }
  });

  test('a larger shape: B=3, L=256, dIn=d=64, K=16', async () => {
    await expectForwardMatches({ B: 3, L: 256, dIn: 64, d: 64, kMax: 16, lengths: [256, 100, 3], dynamicK: true });
  });

  test('Ê larger than workgroup memory (L=256, d=256): streamed in chunks', async () => {
    const ctx = getCtx();
    const layout = routingLayout(ctx.gpu.limits.maxComputeWorkgroupStorageSize, 16, 256, 256, 'forward');
    expect(layout.chunk).toBeLessThan(256);
    await expectForwardMatches({ B: 2, L: 256, dIn: 32, d: 256, kMax: 16, lengths: [256, 77] });
  });

  test('the K×d matrix in global memory when workgroup memory is short', async () => {
    const shape: Case = { B: 3, L: 33, dIn: 6, d: 64, kMax: 16, lengths: [33, 20, 1] };
    const c = { ...shape, workgroupMemoryBytes: budgetWhere(shape, 'forward', (l) => !l.vShared && l.chunk < shape.L) };
    await expectForwardMatches(c);
    await expectForwardMatches({ ...c, softmaxOver: 'behaviors', dynamicK: true });
  });
});

describe('gradients', () => {
  const combos = (['interests', 'behaviors'] as const).flatMap((softmaxOver) =>
    [false, true].flatMap((dynamicK) => [1, 3].map((iterations) => ({ softmaxOver, dynamicK, iterations }))),
  );

  test.each(combos)("'stop' matches SPEC's rule: softmaxOver=$softmaxOver dynamicK=$dynamicK iterations=$iterations", async (o) => {
    await expectStopGradientMatches({ B: 5, L: 33, dIn: 6, d: 8, kMax: 5, lengths: [33, 0, 1, 4, 17], ...o });
  });

  test.each(combos)("'full' matches finite differences: softmaxOver=$softmaxOver dynamicK=$dynamicK iterations=$iterations", async (o) => {
    await expectFullGradientMatchesFiniteDifferences({ ...tiny, ...o });
  });

  test('gradients are bitwise reproducible (dS sums partials in a fixed order)', async () => {
    const c: Case = { B: 24, L: 50, dIn: 8, d: 8, kMax: 4, lengths: Array.from({ length: 24 }, (_, b) => 1 + ((b * 17) % 50)) };
    const data = caseData(c);
    const dU = randomArray(c.B * c.kMax * c.d, 5);
    const first = await runGpu(getCtx(), c, data, 'full', dU);
    const second = await runGpu(getCtx(), c, data, 'full', dU);
    expect(Array.from(second.dS!)).toEqual(Array.from(first.dS!));
    expect(Array.from(second.dE!)).toEqual(Array.from(first.dE!));
  });

  test("'stop' is the true derivative when iterations = 1", async () => {
    const c = { ...tiny, iterations: 1 };
    const data = caseData(c);
    const result = await gradCheck({
      ctx: getCtx(),
      inputs: [
        { data: data.E, shape: [c.B, c.L, c.dIn], check: true },
        { data: data.lengths, shape: [c.B] },
        { data: data.S, shape: [c.dIn, c.d], check: true },
        { data: data.b0, shape: [c.B, c.kMax, c.L] },
      ],
      gpu: ([E, lengths, S, b0]) => b2iRouting(E, lengths, S, options(c, { initLogits: b0 })),
      reference: ([E, lengths, S, b0]) => routingForwardReference({ ...referenceArgs(c, data), E, lengths, S, b0 }),
    });
    for (const err of result.maxError) expect(err).toBeLessThan(2e-3);
  });

  test('streamed tiles, with the K×d4 matrix shared or global, give the same gradients', async () => {
    // d = 256 streams Ê through the tile under the device's own budget.
    const wide: Case = { B: 2, L: 30, dIn: 1, d: 256, kMax: 2, lengths: [30, 17] };
    expect(routingLayout(getCtx().gpu.limits.maxComputeWorkgroupStorageSize, wide.kMax, wide.L, wide.d, 'backward')).toMatchObject({ vShared: true });
    expect(routingLayout(getCtx().gpu.limits.maxComputeWorkgroupStorageSize, wide.kMax, wide.L, wide.d, 'backward').chunk).toBeLessThan(wide.L);
    await expectFullGradientMatchesFiniteDifferences(wide);
    await expectFullGradientMatchesFiniteDifferences({ ...wide, softmaxOver: 'behaviors', dynamicK: true });
    // A budget too small for the matrix: chunks of 4 rows and the matrix in global memory.
    const c: Case = { ...tiny, workgroupMemoryBytes: budgetWhere(tiny, 'backward', (l) => !l.vShared && l.chunk === 4) };
    await expectFullGradientMatchesFiniteDifferences({ ...c, softmaxOver: 'behaviors' });
    await expectFullGradientMatchesFiniteDifferences(c);
    await expectStopGradientMatches({ ...c, iterations: 3 });
  });

  test('huge inputs: finite gradients matching the reference', async () => {
    await expectStopGradientMatches({ B: 3, L: 12, dIn: 8, d: 8, kMax: 4, lengths: [12, 5, 1], scale: [1e4, 1, 1e4] });
    const c: Case = { ...tiny, scale: [1e4, 1, 1e4] };
    const data = caseData(c);
    const dU = randomArray(c.B * c.kMax * c.d, 5);
    const got = await runGpu(getCtx(), c, data, 'full', dU);
    expect(got.dE!.every(Number.isFinite) && got.dS!.every(Number.isFinite)).toBe(true);
  });

  test('larger shapes: L=256 with K=16, and the streamed L=256, d=256', async () => {
    await expectStopGradientMatches({ B: 3, L: 256, dIn: 64, d: 64, kMax: 16, lengths: [256, 100, 3], iterations: 3 });
    await expectStopGradientMatches({ B: 2, L: 256, dIn: 16, d: 256, kMax: 16, lengths: [256, 77], softmaxOver: 'behaviors' });
  });
});

describe('dispatches', () => {
  /** Dispatches per routing kernel recorded while `fn` runs. */
  function countDispatches(ctx: Context, fn: () => void): Record<string, number> {
    const before = new Map(ctx.gpu.stats.dispatchesByKernel);
    fn();
    const counts: Record<string, number> = {};
    for (const [name, n] of ctx.gpu.stats.dispatchesByKernel) {
      const diff = n - (before.get(name) ?? 0);
      if (diff > 0 && name.startsWith('routing.')) counts[name] = diff;
    }
    return counts;
  }

  test.each(['stop', 'full'] as const)("forward and backward counts do not depend on iterations (gradient '%s')", async (gradient) => {
    const ctx = getCtx();
    const c: Case = { B: 3, L: 600, dIn: 8, d: 16, kMax: 4, lengths: [600, 10, 0] };
    const data = caseData(c);
    const counts = (iterations: number) =>
      ctx.tidy(() => {
        const E = ctx.tensor(data.E, [c.B, c.L, c.dIn], { requiresGrad: true });
        const S = ctx.tensor(data.S, [c.dIn, c.d], { requiresGrad: true });
        const lengths = ctx.tensor(data.lengths, [c.B]);
        const seed = ctx.tensor(randomArray(c.B * c.kMax * c.d, 3), [c.B, c.kMax, c.d]);
        let U: Tensor | undefined;
        const forward = countDispatches(ctx, () => {
          U = b2iRouting(E, lengths, S, { kMax: c.kMax, iterations, gradient });
        });
        const backward = countDispatches(ctx, () => ctx.tape.backward(U!, seed));
        return { forward, backward };
      });
    const one = counts(1);
    expect(one.forward).toEqual({ 'routing.project': 1, 'routing.forward': 1 });
    expect(one.backward).toEqual({
      'routing.backward': 1,
      'routing.input_grad': 1,
      // dS = Eᵀ·dÊ over K = B·L = 1800 rows: split-K partial sums, then their fixed-order sum.
      'routing.weight_grad': 1,
      'routing.weight_grad.reduce': 1,
    });
    expect(counts(5)).toEqual(one);
    await ctx.sync();
  });
});

describe('validation', () => {
  test('bad arguments are named with their values', () => {
    const ctx = getCtx();
    ctx.tidy(() => {
      const E = ctx.tensor(randomArray(2 * 4 * 3, 1), [2, 4, 3]);
      const S = ctx.tensor(randomArray(3 * 5, 2), [3, 5]);
      const lengths = ctx.tensor(Int32Array.from([4, 1]), [2]);
      const call = (opts: Partial<B2IRoutingOptions>, e = E, l = lengths, s = S) => () => b2iRouting(e, l, s, { kMax: 2, ...opts });
      expect(call({ kMax: 17 })).toThrow(/kMax must be an integer in 1\.\.16.*got 17/);
      expect(call({ kMax: 0 })).toThrow(/kMax.*got 0/);
      expect(call({ kMax: 2.5 })).toThrow(/kMax.*got 2\.5/);
      expect(call({ iterations: 0 })).toThrow(/iterations must be an integer ≥ 1, got 0/);
      expect(call({ initStd: -1 })).toThrow(/initStd.*got -1/);
      expect(call({ initStd: NaN })).toThrow(/initStd.*got NaN/);
      expect(call({ seed: -3 })).toThrow(/seed.*got -3/);
      expect(call({ initDraw: 'row' as 'shared' })).toThrow(/initDraw must be 'perSample' or 'shared', got row/);
      expect(() => sampleInitialLogits(ctx, { batch: 1, kMax: 1, length: 1, seed: 1, initDraw: 'row' as 'shared' })).toThrow(
        /sampleInitialLogits: initDraw must be 'perSample' or 'shared', got row/,
      );
      expect(call({ softmaxOver: 'rows' as 'interests' })).toThrow(/softmaxOver.*got rows/);
      expect(call({ gradient: 'none' as 'stop' })).toThrow(/gradient.*got none/);
      expect(call({ initLogits: ctx.tensor(randomArray(2 * 3 * 4, 3), [2, 3, 4]) })).toThrow(/initLogits must have shape \[B, kMax, L\] = \[2, 2, 4\], got \[2, 3, 4\]/);
      expect(call({}, ctx.tensor(randomArray(8, 1), [2, 4]))).toThrow(/behaviors must have rank 3/);
      expect(call({}, E, ctx.tensor(Int32Array.from([4, 5]), [2]))).toThrow(/lengths\[1\] = 5 is outside \[0, L\] = \[0, 4\]/);
      expect(call({}, E, ctx.tensor(Int32Array.from([-1, 0]), [2]))).toThrow(/lengths\[0\] = -1/);
      expect(call({}, E, ctx.tensor(Int32Array.from([1, 1, 1]), [3]))).toThrow(/lengths must have shape \[B\] = \[2\], got \[3\]/);
      expect(call({}, E, ctx.tensor([1, 1], [2]))).toThrow(/lengths must be i32, got f32/);
      expect(call({}, E, ctx.empty([2], 'i32'))).toThrow(/lengths has no host copy/);
      expect(call({}, E, lengths, ctx.tensor(randomArray(4 * 5, 2), [4, 5]))).toThrow(/S must have shape \[dIn, d\] with dIn = 3.*\[4, 5\]/);
      expect(call({}, E, lengths, ctx.empty([3, 5], 'i32'))).toThrow(/S must be f32, got i32/);
      expect(call({ workgroupMemoryBytes: 64 })).toThrow(/d = 5 is too wide for 64 bytes of workgroup memory/);
    });
  });

  test('activeInterestCount follows the SPEC formula', () => {
    const lengths = Int32Array.from({ length: 300 }, (_, i) => i);
    const expected = Array.from(lengths, (len) => Math.max(1, Math.min(7, Math.floor(Math.log2(Math.max(len, 1))))));
    expect(Array.from(activeInterestCount(lengths, 7))).toEqual(expected);
    expect(() => activeInterestCount(lengths, 0)).toThrow(/kMax must be an integer ≥ 1, got 0/);
  });
});
