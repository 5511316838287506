/**
 * `node --import tsx --import ./scripts/wgsl-loader.mjs bench/routing-grid.ts [B L d]`: the
 * routing op at B·L = 4096·512 = 2,097,152 behaviour rows (issue 14), beyond the 65,535 × 32
 * rows one grid dimension of a 32-row-tile projection holds, on the device's real limits. Forward and
 * stop-gradient backward once to warm up (pipeline compilation), then timed; a few samples
 * (the first, the last, and ones past the first 65,535 row tiles) are checked against the
 * float64 reference. d = dIn = 16 by default: E [B·L, dIn] is then exactly 128 MiB, the
 * largest a storage binding holds on lavapipe.
 */
import { createContext } from '../src/autograd/context.js';
import type { Tensor } from '../src/autograd/tensor.js';
import { gemmPlan } from '../src/autograd/ops/matmul.js';
import { b2iRouting } from '../src/mind/ops/routing.js';
import { routingForwardReference, routingStopGradientReference } from '../src/reference/routing.js';

function random(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

async function main(): Promise<void> {
  const [B, L, d] = (process.argv.slice(2).length ? process.argv.slice(2) : ['4096', '512', '16']).map(Number);
  const dIn = d;
  const kMax = 4;
  const ctx = await createContext();
  try {
    const E = random(B * L * dIn, 1);
    const S = random(dIn * d, 2).map((x) => x * 0.5);
    const b0 = random(B * kMax * L, 3);
    const dU = random(B * kMax * d, 4);
    // The last sample full, so the rows of the last row tiles (past the first 65,535) are all used.
    const lengths = Int32Array.from({ length: B }, (_, b) => (b === B - 1 ? L : (b * 7919) % (L + 1)));
    console.log(`B=${B} L=${L} dIn=d=${d} K=${kMax}: ${B * L} behaviour rows, projection grid ${JSON.stringify(gemmPlan({ m: B * L, k: dIn, ldc: 4 * Math.ceil(d / 4) }, ctx.gpu.maxWorkgroupsPerDimension).grid)} (limit ${ctx.gpu.maxWorkgroupsPerDimension} per dimension)`);
    const step = () =>
      ctx.tidy(async () => {
        const e = ctx.tensor(E, [B, L, dIn], { requiresGrad: true });
        const s = ctx.tensor(S, [dIn, d], { requiresGrad: true });
        const started = performance.now();
        const U = b2iRouting(e, ctx.tensor(lengths, [B]), s, { kMax, initLogits: ctx.tensor(b0, [B, kMax, L]) });
        await U.backward(ctx.tensor(dU, U.shape));
        await ctx.sync();
        const ms = performance.now() - started;
        return { ms, U: (await U.read()) as Float32Array, dE: (await (e.grad as Tensor).read()) as Float32Array, dS: (await (s.grad as Tensor).read()) as Float32Array };
      });
    const warm = await step();
    const timed = await step();
    console.log(`forward + backward: ${warm.ms.toFixed(0)} ms with pipeline compilation, ${timed.ms.toFixed(0)} ms warm (uploads of E, b0 and dU included)`);
    // Samples whose rows lie past the first 65,535 row tiles (row 2,097,120 on): sample b covers rows b·L .. b·L + L - 1.
    const checked = [...new Set([0, 1, Math.floor((65535 * 32) / L) - 1, B - 2, B - 1])].filter((b) => b >= 0 && b < B);
    let worst = 0;
    for (const b of checked) {
      const one = { E: E.subarray(b * L * dIn, (b + 1) * L * dIn), lengths: [lengths[b]], S, b0: b0.subarray(b * kMax * L, (b + 1) * kMax * L), B: 1, L, dIn, d, kMax, iterations: 3 };
      const u = routingForwardReference(one);
      const ref = routingStopGradientReference(one, dU.subarray(b * kMax * d, (b + 1) * kMax * d));
      const pairs: [ArrayLike<number>, ArrayLike<number>][] = [
        [timed.U.subarray(b * kMax * d, (b + 1) * kMax * d), u],
        [timed.dE.subarray(b * L * dIn, (b + 1) * L * dIn), ref.dE],
      ];
      for (const [got, want] of pairs) for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) / (1e-4 + 1e-4 * Math.abs(want[i])));
    }
    const finite = timed.U.every(Number.isFinite) && timed.dE.every(Number.isFinite) && timed.dS.every(Number.isFinite);
    console.log(`samples ${checked.join(', ')} (lengths ${checked.map((b) => lengths[b]).join(', ')}) against the float64 reference: worst error ${worst.toFixed(3)} of the tolerance (≤ 1 passes); all outputs finite: ${finite}`);
    if (!(worst <= 1) || !finite) process.exitCode = 1;
  } finally {
    ctx.destroy();
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
