/**
 * Over-limit requests fail before any dispatch with an error naming what asked, its size and the
 * device's limit (issue 14): storage bindings (maxStorageBufferBindingSize), buffers
 * (maxBufferSize) and workgroup counts per dimension (maxComputeWorkgroupsPerDimension, also
 * under the test cap RuntimeOptions.maxWorkgroupsPerDimension).
 */
import { describe, expect, test } from 'vitest';
import { createContext } from '../../src/autograd/context.js';
import { BufferPool } from '../../src/gpu/buffer-pool.js';
import { kernelModule } from '../../src/gpu/kernel.js';
import { useContext } from '../helpers/gpu.js';

const getCtx = useContext();
const getCapped = useContext({ maxWorkgroupsPerDimension: 4 });

const fill = kernelModule(
  'limits',
  `@group(0) @binding(0) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(1)
fn one(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  out[wid.x + wid.y * nwg.x + wid.z * nwg.x * nwg.y] = 1.0;
}`,
);

describe('device limits', () => {
  test('a tensor over the binding limit is refused naming its label, bytes and the limit', () => {
    const ctx = getCtx();
    const limit = ctx.gpu.limits.maxStorageBufferBindingSize;
    const rows = Math.floor(limit / 256) + 1;
    expect(() => ctx.empty([rows, 64], 'f32', 'item_embedding')).toThrow(
      `item_embedding: ${rows * 256} bytes exceeds this device's maxStorageBufferBindingSize (${limit})`,
    );
  });

  test('a buffer over maxBufferSize is refused by the pool, naming label, bytes and limit; none is created', () => {
    let created = 0;
    const device = { limits: { maxBufferSize: 4000 }, createBuffer: () => (created++, {}) } as unknown as GPUDevice;
    const pool = new BufferPool(device, 1 << 30);
    expect(() => pool.acquire(4100, 1, 'readback')).toThrow("readback: 4100 bytes exceeds this device's maxBufferSize (4000)");
    expect(created).toBe(0);
    // Within the limit, the size class (4096 for 3800 bytes) is not allowed past it either.
    pool.acquire(3800, 1, 'ok');
    expect(pool.stats().allocatedBytes).toBe(3800);
  });

  test('a grid over the per-dimension limit names the kernel, the axis, the grid and the limit, before dispatch', async () => {
    const ctx = getCtx();
    const limit = ctx.gpu.limits.maxComputeWorkgroupsPerDimension;
    const out = ctx.empty([16], 'f32');
    const before = ctx.gpu.stats.dispatches;
    expect(() => fill.entry('one').run(ctx, { out }, [1, limit + 1])).toThrow(
      `kernel limits.one: workgroup count ${limit + 1} along y (grid [1, ${limit + 1}, 1]) exceeds this device's maxComputeWorkgroupsPerDimension (${limit}); the op must split its grid or its input`,
    );
    expect(() => fill.entry('one').run(ctx, { out }, [2.5])).toThrow('kernel limits.one: workgroup count 2.5 along x (grid [2.5, 1, 1]) is not an integer ≥ 0');
    expect(ctx.gpu.stats.dispatches).toBe(before);
    out.dispose();
  });

  test('the test cap lowers the limit, and says so in the error', async () => {
    const ctx = getCapped();
    const limit = ctx.gpu.limits.maxComputeWorkgroupsPerDimension;
    expect(ctx.gpu.maxWorkgroupsPerDimension).toBe(4);
    const out = ctx.empty([64], 'f32');
    fill.entry('one').run(ctx, { out }, [4, 4, 4]);
    expect(Array.from(await out.read())).toEqual(new Array(64).fill(1));
    expect(() => fill.entry('one').run(ctx, { out }, [4, 1, 5])).toThrow(
      `kernel limits.one: workgroup count 5 along z (grid [4, 1, 5]) exceeds this device's maxComputeWorkgroupsPerDimension (${limit}, capped to 4 by RuntimeOptions.maxWorkgroupsPerDimension)`,
    );
    out.dispose();
  });

  test('the cap must be an integer ≥ 1', async () => {
    await expect(createContext({ maxWorkgroupsPerDimension: 0 })).rejects.toThrow('GpuRuntime: maxWorkgroupsPerDimension must be an integer ≥ 1, got 0');
  });
});
