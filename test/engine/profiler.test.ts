/** Per-kernel GPU timing through timestamp queries, and the path without the feature. */
import { describe, expect, test } from 'vitest';
import { add, createContext, matmul } from '../../src/index.js';
import { randomArray } from '../helpers/gpu.js';

async function runSomeKernels(profile: boolean, disable: GPUFeatureName[]) {
  const ctx = await createContext({ profile, disableFeatures: disable });
  try {
    const a = ctx.tensor(randomArray(64 * 64, 1), [64, 64]);
    const c = add(matmul(a, a), a);
    const values = await c.read();
    return { values, timings: await ctx.gpu.kernelTimings(), timestamps: ctx.gpu.features.timestamps };
  } finally {
    ctx.destroy();
  }
}

describe('profiling', () => {
  test('with timestamp-query, every kernel gets a timing', async () => {
    const { timings, timestamps } = await runSomeKernels(true, []);
    expect(timestamps, 'this adapter offers timestamp-query (lavapipe and real GPUs do)').toBe(true);
    expect([...timings.keys()].sort()).toEqual(['elementwise.add', 'matmul.nn']);
    for (const t of timings.values()) {
      expect(t.calls).toBe(1);
      // A kernel takes time: a timing of exactly 0 is a missing or unresolved timestamp.
      expect(t.totalMs).toBeGreaterThan(0);
    }
  });

  test('without timestamp-query, profiling is off and results are identical', async () => {
    const profiled = await runSomeKernels(true, []);
    const plain = await runSomeKernels(true, ['timestamp-query']);
    expect(plain.timestamps).toBe(false);
    expect(plain.timings.size).toBe(0);
    expect(Array.from(plain.values)).toEqual(Array.from(profiled.values));
  });
});
