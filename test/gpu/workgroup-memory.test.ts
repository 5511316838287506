/**
 * Workgroup memory checked before dispatch (issue 14): an entry point's statically used
 * var<workgroup> variables, sized with the module's constants and the dispatch's override
 * values and rounded to 16 bytes each as WebGPU counts them, are refused above the device's
 * maxComputeWorkgroupStorageSize with an error naming the kernel, the variables and the limit.
 */
import { describe, expect, test } from 'vitest';
import { kernelModule } from '../../src/gpu/kernel.js';
import { routingLayout } from '../../src/mind/ops/routing.js';
import { useContext } from '../helpers/gpu.js';
import rngSource from '../../kernels/rng.wgsl?raw';
import routingSource from '../../kernels/routing.wgsl?raw';

const getCtx = useContext();

const wg = kernelModule(
  'wg',
  `
override N: u32 = 4u;
const WG: u32 = 8u;
var<workgroup> big: array<vec4<f32>, N>;
var<workgroup> scratch: array<f32, 2u * WG + 3u>;
var<workgroup> unused: array<vec2<f32>, (WG - 2u) * (4u + WG % 3u)>;
@group(0) @binding(0) var<storage, read_write> out: array<f32>;

fn touch_scratch() {
  scratch[0] = 2.0;
}

@compute @workgroup_size(1)
fn main() {
  big[0] = vec4<f32>(1.0);
  touch_scratch();
  workgroupBarrier();
  out[0] = big[0].x + scratch[0];
}

@compute @workgroup_size(1)
fn other() {
  unused[0] = vec2<f32>(5.0);
  out[0] = unused[0].y;
}
`,
);

describe('workgroup memory of an entry point', () => {
  test('sums the variables it uses, through the functions it calls, each rounded to 16 bytes', () => {
    // big: N vec4 = 16N; scratch: 2·8 + 3 = 19 f32 = 76 → 80; unused (not used by main).
    expect(wg.entry('main').workgroupUsage()).toEqual({ total: 64 + 80, variables: [{ name: 'big', bytes: 64 }, { name: 'scratch', bytes: 80 }] });
    expect(wg.entry('main').workgroupUsage({ N: 5 }).total).toBe(80 + 80);
    // (8 − 2)·(4 + 8 mod 3) = 36 vec2 = 288 bytes.
    expect(wg.entry('other').workgroupUsage()).toEqual({ total: 288, variables: [{ name: 'unused', bytes: 288 }] });
  });

  test('a specialisation within the limit runs; one over it is refused before dispatch, naming kernel, variables and limit', async () => {
    const ctx = getCtx();
    const limit = ctx.gpu.limits.maxComputeWorkgroupStorageSize;
    const out = ctx.empty([1], 'f32');
    wg.entry('main').run(ctx, { out }, [1], { N: 4 });
    expect(Array.from(await out.read())).toEqual([3]);
    const dispatches = ctx.gpu.stats.dispatches;
    const N = limit / 16;
    expect(() => wg.entry('main').run(ctx, { out }, [1], { N })).toThrow(
      `kernel wg.main: needs ${limit + 80} bytes of workgroup memory (big ${limit}, scratch 80; overrides N = ${N}), over this device's maxComputeWorkgroupStorageSize (${limit})`,
    );
    expect(ctx.gpu.stats.dispatches).toBe(dispatches);
    out.dispose();
  });

  test('routing specialised to the device budget uses exactly the budget', () => {
    const limit = getCtx().gpu.limits.maxComputeWorkgroupStorageSize;
    const routing = kernelModule('routing', rngSource, routingSource);
    for (const pass of ['forward', 'backward'] as const) {
      const layout = routingLayout(limit, 4, 20, 64, pass);
      const usage = routing.entry(pass === 'forward' ? 'route_forward' : 'route_backward').workgroupUsage({ SMEM4: layout.smem4, V_SHARED: +layout.vShared });
      // vsm: SMEM4 vec4s; fsm: 2·32 + 8·16 f32; tpart (backward only): 16·32 f32.
      const expected = [{ name: 'vsm', bytes: 16 * layout.smem4 }, { name: 'fsm', bytes: 768 }, ...(pass === 'backward' ? [{ name: 'tpart', bytes: 2048 }] : [])];
      expect(usage.variables.sort((a, b) => a.name.localeCompare(b.name))).toEqual(expected.sort((a, b) => a.name.localeCompare(b.name)));
      expect(usage.total).toBe(limit);
    }
  });

  test('an override with no default and no value is named', () => {
    const m = kernelModule('nodefault', 'override M: u32;\nvar<workgroup> a: array<f32, M>;\n@compute @workgroup_size(1) fn f() { a[0] = 1.0; }');
    expect(() => m.entry('f').workgroupUsage()).toThrow('kernel nodefault.f: a workgroup array\'s size needs override M, which has no default and was not given');
    expect(m.entry('f').workgroupUsage({ M: 3 }).total).toBe(16);
  });
});
