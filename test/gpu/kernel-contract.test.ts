/**
 * The WGSL contract reader (src/gpu/kernel-contract.ts) against hand-written snippets. Struct
 * layouts are checked against the offsets worked out by hand from the WGSL spec's alignment and
 * size table (§14.4.1): scalars 4/4, vec2 8/8, vec3 16/12, vec4 16/16, matCxR column stride of
 * vecR, array stride roundUp(align, size), struct align = largest member align.
 */
import { describe, expect, test } from 'vitest';
import { packUniform, parseKernel, typeName } from '../../src/gpu/kernel-contract.js';

const offsets = (src: string, struct: string) => {
  const s = parseKernel(src, 'k').structs.get(struct)!;
  return { size: s.size, align: s.align, fields: Object.fromEntries(s.fields.map((f) => [f.name, f.offset])) };
};

describe('struct layout', () => {
  test('scalars, vec2 and vec3 alignment, nested structs, arrays of structs', () => {
    // A: u@0 v@4 w(vec2)@8 x@16, size roundUp(8, 20) = 24.
    // B: a(vec2)@0, b(vec3, align 16)@16, c@28, d@32, e(A, align 8)@40 (size 24),
    //    f(vec3)@64, g(array<A, 3>, stride 24)@80 (size 72), h@152, size roundUp(16, 156) = 160.
    const src = `
      struct A { u: f32, v: f32, w: vec2<f32>, x: f32 }
      struct B {
        a: vec2<f32>, b: vec3<f32>, c: f32, d: f32, e: A, f: vec3f, g: array<A, 3>, h: i32,
      }`;
    expect(offsets(src, 'A')).toEqual({ size: 24, align: 8, fields: { u: 0, v: 4, w: 8, x: 16 } });
    expect(offsets(src, 'B')).toEqual({ size: 160, align: 16, fields: { a: 0, b: 16, c: 28, d: 32, e: 40, f: 64, g: 80, h: 152 } });
  });

  test('vec4 arrays, matrices, @size and @align', () => {
    // n@0; arr (array<vec4<f32>, 3>, align 16, stride 16)@16 size 48; m (mat3x3: 3 columns of
    // vec3 at stride 16, align 16)@64 size 48; q (mat2x2: columns vec2 at stride 8)@112 size 16;
    // s (@size(20))@128 ends at 148; t (@align(32))@160; size roundUp(32, 164) = 192.
    const src = `
      // a comment naming struct Fake { x: f32 }
      struct P {
        n: u32,
        arr: array<vec4<f32>, 3>,
        m: mat3x3<f32>,
        q: mat2x2f,
        @size(20) s: f32,
        @align(32) t: u32,
      }`;
    expect(offsets(src, 'P')).toEqual({ size: 192, align: 32, fields: { n: 0, arr: 16, m: 64, q: 112, s: 128, t: 160 } });
    const p = parseKernel(src, 'k').structs.get('P')!;
    expect(typeName(p.fields[1].type)).toBe('array<vec4<f32>, 3>');
    expect(parseKernel(src, 'k').structs.has('Fake')).toBe(false);
  });

  test('arrays of vec3 are strided by their 16-byte alignment, not their 12-byte size', () => {
    // v (array<vec3<f32>, 2>): stride 16, size 32, @0; after@32; size 48.
    const src = 'struct V { v: array<vec3<f32>, 2>, after: u32 }';
    expect(offsets(src, 'V')).toEqual({ size: 48, align: 16, fields: { v: 0, after: 32 } });
  });

  test('a struct used before it is declared; runtime-sized arrays last', () => {
    const src = `
      struct Outer { a: u32, inner: Inner, rest: array<f32> }
      struct Inner { x: vec3<u32> }`;
    // Inner: align 16, size 16. Outer: a@0, inner@16, rest (stride 4)@32.
    expect(offsets(src, 'Outer').fields).toEqual({ a: 0, inner: 16, rest: 32 });
    expect(() => parseKernel('struct Bad { rest: array<f32>, x: u32 }', 'k')).toThrow(/Bad\.rest is a runtime-sized array but not the last field/);
  });
});

describe('resources and entry points', () => {
  const src = `
    struct Params { n: u32, alpha: f32 }
    struct Pair { a: f32, out: f32 }
    @group(0) @binding(0) var<uniform> params: Params;
    @group(0) @binding(1) var<storage, read> a: array<f32>;
    @group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
    @group(0) @binding(3) var<storage, read_write> out: array<f32>;
    @group(0) @binding(3) var<storage, read_write> out4: array<vec4<f32>>;
    var<workgroup> scratch: array<f32, 2u * 64u>;

    fn load_b(i: u32) -> vec4<f32> { return b[i]; }
    fn via_helper(i: u32) -> f32 { return load_b(i).x; }

    @compute @workgroup_size(64)
    fn first(@builtin(global_invocation_id) gid: vec3<u32>) {
      // out4 in a comment is not a use; nor is a member named like a resource: params.n
      if (gid.x < params.n) { out[gid.x] = a[gid.x] + via_helper(gid.x); }
    }

    @compute @workgroup_size(64)
    fn second(@builtin(global_invocation_id) gid: vec3<u32>) {
      let a = 2.0;          // shadows the resource a in this block
      var<function> b: f32 = a;
      var pair: Pair;       // a member named like a resource is not a use: pair.out
      pair.out = b;
      out4[gid.x] = vec4<f32>(a, b, pair.out, 0.0);
    }

    @compute @workgroup_size(64)
    fn third(@builtin(global_invocation_id) gid: vec3<u32>) {
      { let a = 1.0; out[0] = a; }
      out[1] = a[1];        // the block ended: this is the resource again
    }`;
  const c = parseKernel(src, 'snippet');

  test('reads every @group/@binding resource with its space, access and type', () => {
    expect([...c.bindings.values()].map((r) => [r.name, r.binding, r.space, r.access, typeName(r.type)])).toEqual([
      ['params', 0, 'uniform', 'read', 'Params'],
      ['a', 1, 'storage', 'read', 'array<f32>'],
      ['b', 2, 'storage', 'read', 'array<vec4<f32>>'],
      ['out', 3, 'storage', 'read_write', 'array<f32>'],
      ['out4', 3, 'storage', 'read_write', 'array<vec4<f32>>'],
    ]);
  });

  test('an entry point uses what it and its callees name, minus comments, members and shadowed names', () => {
    expect(c.entryPoints.get('first')).toEqual(['params', 'a', 'b', 'out']);
    expect(c.entryPoints.get('second')).toEqual(['out4']);
    expect(c.entryPoints.get('third')).toEqual(['a', 'out']);
    expect([...c.entryPoints.keys()]).toEqual(['first', 'second', 'third']);
  });

  test('override constants are listed', () => {
    expect([...parseKernel('override K: u32; override WG_X: u32 = 8u; const C = 1u;', 'k').overrides]).toEqual(['K', 'WG_X']);
  });

  test('one entry point using two resources at one binding is an error naming both', () => {
    const bad = `
      @group(0) @binding(0) var<storage, read_write> x: array<f32>;
      @group(0) @binding(0) var<storage, read_write> y: array<f32>;
      @compute @workgroup_size(1) fn main() { x[0] = y[0]; }`;
    expect(() => parseKernel(bad, 'twice')).toThrow(/kernel twice: entry point main uses both x and y at @binding\(0\)/);
  });
});

describe('uniform layout rules', () => {
  test('an array with a 4-byte stride in a uniform block is rejected, naming kernel and field', () => {
    const src = `
      struct U { w: array<f32, 4>, n: u32 }
      @group(0) @binding(0) var<uniform> u: U;`;
    expect(() => parseKernel(src, 'strided')).toThrow(/kernel strided: uniform u\.w is an array with a 4-byte stride/);
  });

  test('a struct member at an offset that is not a multiple of 16 is rejected', () => {
    const src = `
      struct In { x: f32 }
      struct U { n: u32, inner: In }
      @group(0) @binding(0) var<uniform> u: U;`;
    expect(() => parseKernel(src, 'nested')).toThrow(/kernel nested: uniform field u\.inner is at offset 4/);
  });
});

describe('packUniform', () => {
  const src = `
    struct Params { n: u32, shift: i32, scale: f32, offset: vec3<f32>, tail: u32, rows: array<vec4<u32>, 2>, _pad: u32 }
    @group(0) @binding(0) var<uniform> params: Params;`;
  const type = parseKernel(src, 'pk').bindings.get('params')!.type;
  const where = 'kernel pk.main';
  const good = { n: 7, shift: -3, scale: 0.5, offset: [1, 2, 3], tail: 9, rows: [[1, 2, 3, 4], [5, 6, 7, 8]] };

  test('writes each field at its offset, little-endian; padding and _fields are zero', () => {
    // n@0 shift@4 scale@8 offset(vec3)@16 tail@28 rows@32 (2 × 16) _pad@64, size 80.
    const bytes = packUniform(where, type, good, 'params');
    expect(bytes.length).toBe(80);
    const v = new DataView(bytes.buffer);
    expect([v.getUint32(0, true), v.getInt32(4, true), v.getFloat32(8, true), v.getUint32(12, true)]).toEqual([7, -3, 0.5, 0]);
    expect([16, 20, 24].map((o) => v.getFloat32(o, true))).toEqual([1, 2, 3]);
    expect(v.getUint32(28, true)).toBe(9);
    expect(Array.from({ length: 8 }, (_, k) => v.getUint32(32 + 4 * k, true))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(v.getUint32(64, true)).toBe(0);
  });

  test('errors name the kernel, entry point and field', () => {
    const { scale: _, ...missing } = good;
    expect(() => packUniform(where, type, missing, 'params')).toThrow('kernel pk.main: missing field params.scale (f32 at offset 8 of Params)');
    expect(() => packUniform(where, type, { ...good, sclae: 1 }, 'params')).toThrow(/kernel pk\.main: params has no field 'sclae'/);
    expect(() => packUniform(where, type, { ...good, n: -1 }, 'params')).toThrow(/kernel pk\.main: params\.n must be an integer in \[0, 2\^32\) \(u32\), got -1/);
    expect(() => packUniform(where, type, { ...good, n: 2 ** 32 }, 'params')).toThrow(/params\.n must be an integer/);
    expect(() => packUniform(where, type, { ...good, shift: 2 ** 31 }, 'params')).toThrow(/params\.shift must be an integer in \[-2\^31, 2\^31\)/);
    expect(() => packUniform(where, type, { ...good, scale: NaN }, 'params')).toThrow(/params\.scale must be a finite f32, got NaN/);
    expect(() => packUniform(where, type, { ...good, offset: [1, 2] }, 'params')).toThrow(/params\.offset must be a list of 3 numbers, got a list of 2/);
    expect(() => packUniform(where, type, { ...good, rows: [[1, 2, 3, 4]] }, 'params')).toThrow(/params\.rows must be a list of 2 elements/);
    expect(() => packUniform(where, type, { ...good, rows: [[1, 2, 3, 4], [5, 6, 7, 1.5]] }, 'params')).toThrow(/params\.rows\[1\]\[3\] must be an integer/);
  });
});

describe('packUniform, a struct of scalars (the common case, packed without the checking path)', () => {
  const src = `
    struct Flat { n: u32, shift: i32, scale: f32, on: u32, _pad: u32, last: f32 }
    @group(0) @binding(0) var<uniform> params: Flat;`;
  const type = parseKernel(src, 'flat').bindings.get('params')!.type;
  const where = 'kernel flat.main';
  const good = { n: 4_000_000_000, shift: -7, scale: 1.25, on: 1, last: -2.5 };

  test('writes each field at its offset; an absent _field is zero', () => {
    const v = new DataView(packUniform(where, type, good, 'params').buffer);
    expect(v.byteLength).toBe(32);
    expect([v.getUint32(0, true), v.getInt32(4, true), v.getFloat32(8, true), v.getUint32(12, true), v.getUint32(16, true), v.getFloat32(20, true)]).toEqual([
      4_000_000_000, -7, 1.25, 1, 0, -2.5,
    ]);
    expect([v.getUint32(24, true), v.getUint32(28, true)]).toEqual([0, 0]);
    const withPad = new DataView(packUniform(where, type, { ...good, _pad: 3 }, 'params').buffer);
    expect(withPad.getUint32(16, true)).toBe(3);
  });

  test('every bad value is still named', () => {
    const { scale: _, ...missing } = good;
    expect(() => packUniform(where, type, missing, 'params')).toThrow('kernel flat.main: missing field params.scale (f32 at offset 8 of Flat)');
    expect(() => packUniform(where, type, { ...good, sclae: 1 }, 'params')).toThrow("kernel flat.main: params has no field 'sclae'");
    expect(() => packUniform(where, type, { ...good, extra: undefined }, 'params')).toThrow("kernel flat.main: params has no field 'extra'");
    expect(() => packUniform(where, type, { ...good, n: 2 ** 32 }, 'params')).toThrow('params.n must be an integer in [0, 2^32) (u32), got 4294967296');
    expect(() => packUniform(where, type, { ...good, n: 1.5 }, 'params')).toThrow('params.n must be an integer in [0, 2^32) (u32), got 1.5');
    expect(() => packUniform(where, type, { ...good, shift: -(2 ** 31) - 1 }, 'params')).toThrow('params.shift must be an integer in [-2^31, 2^31) (i32)');
    expect(() => packUniform(where, type, { ...good, last: Infinity }, 'params')).toThrow('params.last must be a finite f32, got Infinity');
    expect(() => packUniform(where, type, { ...good, on: '1' }, 'params')).toThrow('params.on must be a number (u32), got "1"');
    expect(() => packUniform(where, type, [1, 2], 'params')).toThrow('params must be an object with the fields of Flat, got a list of 2');
  });
});
