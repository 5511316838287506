/**
 * The roofline: analytic work of each fused kernel, and the device's own measured peaks.
 *
 * FLOPs count the arithmetic the math needs (a multiply-add is 2, an exp, a division or a sqrt
 * is 1), not what an implementation chooses to recompute. Bytes count the compulsory traffic:
 * every input read once and every output written once, 4 bytes an element (f32 and i32);
 * intermediates that a fused kernel keeps on chip are not traffic. With these, achieved
 * GFLOP/s = FLOPs / time and GB/s = bytes / time; the attainable GFLOP/s at the kernel's
 * arithmetic intensity AI = FLOPs / bytes is min(peak GFLOP/s, AI · peak GB/s), and "% of
 * roofline" is achieved / attainable.
 */
import type { Context } from '../src/autograd/context.js';
import { matmul } from '../src/autograd/ops/matmul.js';
import { scale } from '../src/autograd/ops/elementwise.js';

export interface Work {
  flops: number;
  bytes: number;
}

/** Sizes the formulas read: batch, history, widths, interests, iterations, negatives. */
export interface WorkShape {
  B: number;
  L: number;
  /** dIn = d here: behaviours are item vectors. */
  d: number;
  K: number;
  R: number;
  S: number;
}

/**
 * Routing forward (SPEC §1) with given initial logits:
 * Ê = E·S: 2·B·L·d²; per iteration the masked softmax (≈4 per logit: max, exp, sum, divide),
 * z = Σ_i w ê (2·B·K·L·d), squash (3 per element of z for ‖z‖² and the scaling, +4 per
 * capsule); R−1 logit updates b += u·ê (2·B·K·L·d + 1 per logit).
 * Bytes: E, S, lengths, b0 in; U out.
 */
export function routingForwardWork({ B, L, d, K, R }: WorkShape): Work {
  const flops = 2 * B * L * d * d + R * (4 * B * K * L + 2 * B * K * L * d + 3 * B * K * d + 4 * B * K) + (R - 1) * (2 * B * K * L * d + B * K * L);
  const bytes = 4 * (B * L * d + d * d + B + B * K * L + B * K * d);
  return { flops, bytes };
}

/**
 * Routing backward, 'stop' gradient: squash backward (≈10 per element of z), dÊ = wᵀ·dz
 * (2·B·K·L·d), dS = Σ_b E_bᵀ dÊ_b and dE = dÊ·Sᵀ (2·B·L·d² each). The last iteration's w must
 * be known: the compulsory bytes count it as read once (saved by the forward or recomputed).
 * Bytes: E, S, lengths, w, dU in; dE, dS out.
 */
export function routingBackwardWork({ B, L, d, K }: WorkShape): Work {
  const flops = 10 * B * K * d + 2 * B * K * L * d + 4 * B * L * d * d;
  const bytes = 4 * (B * L * d + d * d + B + B * K * L + B * K * d + B * L * d + d * d);
  return { flops, bytes };
}

/**
 * Label-aware attention forward: s = V·e (2·B·K·d), the power and softmax (≈6 per interest),
 * v = Σ a V (2·B·K·d). Bytes: V, e, K_b in; v out.
 */
export function attentionForwardWork({ B, d, K }: WorkShape): Work {
  return { flops: 4 * B * K * d + 6 * B * K, bytes: 4 * (B * K * d + B * d + B + B * d) };
}

/**
 * Label-aware attention backward: g = V·dv (2·B·K·d), ds (≈6 per interest),
 * dV = a·dv + ds·e (4·B·K·d), de = Σ ds V (2·B·K·d). Bytes: V, e, K_b, dv, a in; dV, de out.
 */
export function attentionBackwardWork({ B, d, K }: WorkShape): Work {
  return { flops: 8 * B * K * d + 6 * B * K, bytes: 4 * (B * K * d + B * d + B + B * d + B * K + B * K * d + B * d) };
}

/**
 * Sampled softmax forward: B·(S+1) logits of 2·d each, the logQ subtraction and the
 * logsumexp (≈4 per logit). Bytes: v, the B + S gathered rows, labels, negatives and their
 * logQ in; the loss out.
 */
export function sampledSoftmaxForwardWork({ B, d, S }: WorkShape): Work {
  const logits = B * (S + 1);
  return { flops: 2 * logits * d + 4 * logits, bytes: 4 * (B * d + (B + S) * d + 2 * (B + S) + 1) };
}

/**
 * Sampled softmax backward: the softmax (≈3 per logit), dv = Σ p·W (2·d per logit) and the row
 * gradients Σ_b p·v (2·d per logit). Bytes: v, the rows, ids, logQ in; dv and the B + S row
 * gradients out.
 */
export function sampledSoftmaxBackwardWork({ B, d, S }: WorkShape): Work {
  const logits = B * (S + 1);
  return { flops: 4 * logits * d + 3 * logits, bytes: 4 * (B * d + (B + S) * d + 2 * (B + S) + B * d + (B + S) * d) };
}

export interface Peak {
  /** GFLOP/s of our tiled matmul on an n×n×n product. */
  gflops: number;
  /** GB/s of a copy kernel (elementwise scale: one read, one write per element). */
  gbps: number;
  /** How they were timed: 'timestamps' (GPU time of the kernel) or 'wall' (submit to done). */
  source: 'timestamps' | 'wall';
  matmulSize: number;
  copyBytes: number;
}

/**
 * Fastest of `iterations` runs of one kernel, GPU time (timestamps) or wall time: a peak is what
 * the device can do, and on a shared machine slower runs measure the other work too.
 */
async function timeKernel(ctx: Context, kernel: string, run: () => void, iterations: number): Promise<number> {
  const profiler = ctx.gpu.profiler;
  const samples: number[] = [];
  run();
  await ctx.sync();
  for (let i = 0; i < iterations; i++) {
    if (profiler) {
      await ctx.gpu.kernelTimings();
      profiler.reset();
    }
    const start = performance.now();
    run();
    await ctx.sync();
    const wall = performance.now() - start;
    samples.push(profiler ? ((await ctx.gpu.kernelTimings()).get(kernel)?.totalMs ?? wall) : wall);
  }
  profiler?.reset();
  return Math.min(...samples);
}

/**
 * Measures the device's peaks with our own kernels on large operands: an n×n×n matmul for
 * arithmetic and a copy of `copyElements` f32 values for bandwidth. Uses the profiling context
 * (GPU timestamps) when there is one, so the peaks and the per-kernel times are timed alike.
 */
export async function measurePeak(ctx: Context, n: number, copyElements: number, iterations: number): Promise<Peak> {
  const a = ctx.tensor(Float32Array.from({ length: n * n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5), [n, n]);
  const b = ctx.tensor(Float32Array.from({ length: n * n }, (_, i) => ((i * 104729) % 1000) / 1000 - 0.5), [n, n]);
  const x = ctx.fill([copyElements], 1);
  const matmulMs = await timeKernel(ctx, 'matmul.nn', () => ctx.noGrad(() => matmul(a, b).dispose()), iterations);
  const copyMs = await timeKernel(ctx, 'elementwise.scale', () => ctx.noGrad(() => scale(x, 1).dispose()), iterations);
  for (const t of [a, b, x]) t.dispose();
  await ctx.sync();
  return {
    gflops: (2 * n * n * n) / (matmulMs * 1e6),
    gbps: (8 * copyElements) / (copyMs * 1e6),
    source: ctx.gpu.profiler ? 'timestamps' : 'wall',
    matmulSize: n,
    copyBytes: 8 * copyElements,
  };
}

export interface RooflinePoint {
  gflops: number;
  gbps: number;
  intensity: number;
  /** min(peak GFLOP/s, AI · peak GB/s). */
  attainable: number;
  /** achieved GFLOP/s / attainable, in [0, 1] unless a peak was under-measured. */
  fraction: number;
  bound: 'compute' | 'memory';
}

export function rooflinePoint(work: Work, ms: number, peak: Peak): RooflinePoint {
  const gflops = work.flops / (ms * 1e6);
  const gbps = work.bytes / (ms * 1e6);
  const intensity = work.flops / work.bytes;
  const memoryRoof = intensity * peak.gbps;
  const attainable = Math.min(peak.gflops, memoryRoof);
  return { gflops, gbps, intensity, attainable, fraction: gflops / attainable, bound: memoryRoof < peak.gflops ? 'memory' : 'compute' };
}

/**
 * Exact top-k retrieval (src/serve/topk.ts): Q queries scored against N items of width d
 * (2·Q·N·d), then the selection (about 2 comparisons per score, counted as 2·Q·N). Bytes: the
 * queries and the item table in, the [Q, k] ids and scores out; the score matrix is an
 * intermediate, not compulsory traffic.
 */
export function retrievalWork(Q: number, N: number, d: number, k: number): Work {
  return { flops: 2 * Q * N * d + 2 * Q * N, bytes: 4 * (Q * d + N * d + 2 * Q * k) };
}
