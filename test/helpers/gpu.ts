/**
 * Shared test set-up: one WebGPU context per test file. A missing adapter fails every GPU test
 * loudly (in CI and elsewhere): a skipped GPU test would hide exactly what these tests prove.
 */
import { afterAll, beforeAll } from 'vitest';
import { type Context, type ContextOptions, createContext } from '../../src/index.js';

/** Returns a getter for a context created before the file's tests and destroyed after them. */
export function useContext(options: ContextOptions = {}): () => Context {
  let ctx: Context | undefined;
  beforeAll(async () => {
    ctx = await createContext(options);
  });
  afterAll(() => ctx?.destroy());
  return () => {
    if (!ctx) throw new Error('no WebGPU context (creation failed; see the error above)');
    return ctx;
  };
}

/** Seeded uniform floats in [lo, hi). */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * (hi - lo);
  }
  return out;
}

/** Largest |a − b| / (atol + rtol·|b|) ratio; ≤ 1 means within tolerance. */
export function maxRelativeError(actual: ArrayLike<number>, expected: ArrayLike<number>, rtol = 1e-4, atol = 1e-5): number {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} != ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const b = expected[i];
    if (!Number.isFinite(a)) return Infinity;
    worst = Math.max(worst, Math.abs(a - b) / (atol + rtol * Math.abs(b)));
  }
  return worst;
}
