/**
 * Binding by name on a real device (src/gpu/kernel.ts): the uniform bytes packed from the
 * parsed layout are what the compiled shader reads (the kernel echoes every field back), the
 * checks throw before anything is dispatched, and pipelines are keyed by the module id.
 */
import { describe, expect, test } from 'vitest';
import { KernelModule, kernelModule } from '../../src/gpu/kernel.js';
import { useContext } from '../helpers/gpu.js';

const getCtx = useContext();

const echo = kernelModule(
  'test.echo',
  `
  struct Params { n: u32, shift: i32, scale: f32, offset: vec3<f32>, tail: u32, rows: array<vec4<u32>, 2>, m: mat2x3<f32> }
  @group(0) @binding(0) var<uniform> params: Params;
  @group(0) @binding(1) var<storage, read> x: array<f32>;
  @group(0) @binding(2) var<storage, read_write> out: array<f32>;
  @group(0) @binding(3) var<storage, read_write> unused_elsewhere: array<f32>;

  @compute @workgroup_size(1)
  fn fields() {
    out[0] = f32(params.n);
    out[1] = f32(params.shift);
    out[2] = params.scale;
    out[3] = params.offset.x; out[4] = params.offset.y; out[5] = params.offset.z;
    out[6] = f32(params.tail);
    for (var r = 0u; r < 2u; r++) { for (var c = 0u; c < 4u; c++) { out[7u + 4u * r + c] = f32(params.rows[r][c]); } }
    for (var c = 0u; c < 2u; c++) { for (var r = 0u; r < 3u; r++) { out[15u + 3u * c + r] = params.m[c][r]; } }
  }

  @compute @workgroup_size(1)
  fn scaled() { out[0] = x[0] * params.scale; }

  @compute @workgroup_size(1)
  fn other() { unused_elsewhere[0] = 1.0; }
  `,
);

const fields = {
  n: 7,
  shift: -3,
  scale: 0.5,
  offset: [1.5, -2, 3.25],
  tail: 9,
  rows: [
    [1, 2, 3, 4],
    [5, 6, 7, 8],
  ],
  m: [10, 11, 12, 13, 14, 15],
};

describe('KernelEntry.run', () => {
  test('the shader reads every uniform field where packUniform wrote it (vec3, array<vec4>, mat2x3)', async () => {
    const ctx = getCtx();
    const out = ctx.empty([21]);
    echo.entry('fields').run(ctx, { params: fields, out }, [1]);
    expect(Array.from(await out.read())).toEqual([7, -3, 0.5, 1.5, -2, 3.25, 9, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 14, 15]);
  });

  test('binds tensors by name; resources an entry point does not use are left out', async () => {
    const ctx = getCtx();
    const x = ctx.tensor([3], [1]);
    const out = ctx.empty([1]);
    echo.entry('scaled').run(ctx, { params: fields, x, out }, [1]);
    expect(Array.from(await out.read())).toEqual([1.5]);
    expect(echo.entry('scaled').uses).toEqual(['params', 'x', 'out']);
    expect(echo.entry('other').uses).toEqual(['unused_elsewhere']);
  });

  test('missing, unknown and unused bindings throw naming the kernel, the entry point and the name', () => {
    const ctx = getCtx();
    const x = ctx.tensor([3], [1]);
    const out = ctx.empty([1]);
    const before = ctx.gpu.stats.dispatches;
    const scaled = echo.entry('scaled');
    expect(() => scaled.run(ctx, { params: fields, out }, [1])).toThrow(
      "kernel test.echo.scaled: missing binding 'x' (@binding(1) var<storage, read> array<f32>)",
    );
    expect(() => scaled.run(ctx, { params: fields, x, out, y: x }, [1])).toThrow(/kernel test\.echo\.scaled: unknown binding 'y'; the module declares params, x, out, unused_elsewhere/);
    expect(() => scaled.run(ctx, { params: fields, x, out, unused_elsewhere: out }, [1])).toThrow(
      /kernel test\.echo\.scaled: binding 'unused_elsewhere' is not used by this entry point; it uses params, x, out/,
    );
    expect(() => scaled.run(ctx, { params: { ...fields, scale: undefined as never }, x, out }, [1])).toThrow(/kernel test\.echo\.scaled: missing field params\.scale/);
    expect(() => scaled.run(ctx, { params: fields, x: [1, 2] as never, out }, [1])).toThrow(/storage binding 'x' must be a GPUBuffer or a tensor, got a list/);
    expect(() => scaled.run(ctx, { params: fields, x, out }, [1], { WG: 2 })).toThrow(/unknown override constant 'WG'/);
    expect(() => echo.entry('nope')).toThrow(/kernel test\.echo: no entry point 'nope'; it has fields, scaled, other/);
    expect(ctx.gpu.stats.dispatches).toBe(before);
  });

  test('pipelines are keyed by the module id: one compile per entry point, and an id cannot change source', async () => {
    const ctx = getCtx();
    const out = ctx.empty([21]);
    echo.entry('fields').run(ctx, { params: fields, out }, [1]);
    const size = ctx.gpu.pipelines.size;
    // Another module object with the same id and the same text reuses the compiled pipeline.
    const again = new KernelModule('test.echo', [echo.source]);
    again.entry('fields').run(ctx, { params: fields, out }, [1]);
    expect(ctx.gpu.pipelines.size).toBe(size);
    const impostor = new KernelModule('test.echo', [echo.source.replace('out[0] = f32(params.n);', 'out[0] = 0.0;')]);
    expect(() => impostor.entry('fields').run(ctx, { params: fields, out }, [1])).toThrow(
      /module id 'test\.echo' is already used by a different WGSL source/,
    );
    await ctx.sync();
  });
});
