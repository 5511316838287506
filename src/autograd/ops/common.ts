/** Small helpers shared by the op files: argument checks and dispatch sizing. */
import { gridFor } from '../../gpu/runtime.js';
import { type DType, Tensor, formatShape } from '../tensor.js';

/** Workgroups for one thread per element with 256-wide workgroups (the kernels' flat_index), split as gridFor(…, limit) does. */
export function flatGrid(n: number, workgroupSize = 256, limit?: number): [number, number] {
  return gridFor(Math.ceil(n / workgroupSize), limit);
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((n, i) => n === b[i]);
}

/** Throws unless `t` is a live tensor of dtype `dtype` (and rank `rank`, when given). */
export function expectTensor(op: string, name: string, t: unknown, dtype: DType, rank?: number): asserts t is Tensor {
  if (!(t instanceof Tensor)) throw new Error(`${op}: ${name} must be a Tensor, got ${typeof t}`);
  if (t.isDisposed) throw new Error(`${op}: ${name} ${formatShape(t.shape)} has been disposed`);
  if (t.dtype !== dtype) throw new Error(`${op}: ${name} must be ${dtype}, got ${t.dtype}`);
  if (rank !== undefined && t.rank !== rank) {
    throw new Error(`${op}: ${name} must have rank ${rank}, got shape ${formatShape(t.shape)}`);
  }
}

export function expectSameShape(op: string, a: Tensor, b: Tensor, names = ['a', 'b']): void {
  if (!sameShape(a.shape, b.shape)) {
    throw new Error(`${op}: ${names[0]} ${formatShape(a.shape)} and ${names[1]} ${formatShape(b.shape)} differ in shape`);
  }
}

/** Packs a uniform block of u32 and f32 fields (each 4 bytes, in order). */
export function uniforms(...fields: ({ u32: number } | { i32: number } | { f32: number })[]): { uniform: ArrayBufferView } {
  const buf = new ArrayBuffer(Math.max(16, Math.ceil((fields.length * 4) / 16) * 16));
  const view = new DataView(buf);
  fields.forEach((f, i) => {
    if ('u32' in f) view.setUint32(i * 4, f.u32, true);
    else if ('i32' in f) view.setInt32(i * 4, f.i32, true);
    else view.setFloat32(i * 4, f.f32, true);
  });
  return { uniform: new Uint8Array(buf) };
}
