/**
 * Float64 reference of kernels/rng.wgsl: Philox4x32-10 (Random123's variant) and the Box-Muller
 * normal drawn from one Philox block, and the initial routing logits built on them.
 */

const M0 = 0xd2511f53n;
const M1 = 0xcd9e8d57n;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** Philox4x32 with 10 rounds: 4 counter words and 2 key words (uint32) → 4 random words. */
export function philox4x32_10(counter: readonly number[], key: readonly number[]): Uint32Array {
  let [c0, c1, c2, c3] = counter.map((x) => BigInt(x >>> 0));
  let k0 = key[0] >>> 0;
  let k1 = key[1] >>> 0;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const p0 = M0 * c0;
    const p1 = M1 * c2;
    const hi = (p: bigint) => p >> 32n;
    const lo = (p: bigint) => p & 0xffffffffn;
    [c0, c1, c2, c3] = [hi(p1) ^ c1 ^ BigInt(k0), lo(p1), hi(p0) ^ c3 ^ BigInt(k1), lo(p0)];
  }
  return Uint32Array.from([c0, c1, c2, c3].map(Number));
}

/** A standard normal from the first two words of Philox(counter, key), as rng_normal draws it. */
export function normalFromPhilox(counter: readonly number[], key: readonly number[]): number {
  const x = philox4x32_10(counter, key);
  const u1 = ((x[0] >>> 8) + 1) / 2 ** 24;
  const u2 = (x[1] >>> 8) / 2 ** 24;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/**
 * The routing kernels' initial logits `[B, K, L]` (SPEC 1.3): initStd · N(0,1) from the Philox
 * counter (i, j, b, 0) with `draw` 'perSample' (training, the default), or (i, j, 0, 1) with
 * 'shared' (serving: no row index, every row the same). The key is the seed's two 32-bit halves.
 */
export function initialLogitsReference(args: {
  seed: number;
  B: number;
  K: number;
  L: number;
  initStd?: number;
  draw?: 'perSample' | 'shared';
}): Float64Array {
  const { seed, B, K, L, initStd = 1, draw = 'perSample' } = args;
  const key = [seed % 2 ** 32, Math.floor(seed / 2 ** 32)];
  const out = new Float64Array(B * K * L);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < K; j++) {
      for (let i = 0; i < L; i++) {
        const counter = draw === 'shared' ? [i, j, 0, 1] : [i, j, b, 0];
        out[(b * K + j) * L + i] = initStd * normalFromPhilox(counter, key);
      }
    }
  }
  return out;
}
