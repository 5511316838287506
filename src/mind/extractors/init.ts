/** Parameter initialisers shared by the model and the extractors (f32 arrays of `size` values). */
import type { Random } from '../../data/random.js';

/** N(0, std²) values. */
export function normal(std: number) {
  return (rng: Random, size: number): Float32Array => Float32Array.from({ length: size }, () => rng.normal() * std);
}

/** Glorot/Xavier uniform in ±√(6 / (fanIn + fanOut)) (Glorot & Bengio, AISTATS 2010, eq. 16). */
export function glorot(fanIn: number, fanOut: number) {
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  return (rng: Random, size: number): Float32Array => Float32Array.from({ length: size }, () => (rng.next() * 2 - 1) * limit);
}
