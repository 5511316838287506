/**
 * B2I dynamic routing (SPEC.md section 1) as one fused op: Ê = E·S on the GEMM family
 * (kernels/matmul.wgsl, `gemm`), then the random initial logits, all R routing iterations and
 * the squash in one kernel per sample (kernels/routing.wgsl), and a fused backward whose
 * dispatch count does not depend on R.
 *
 * The WGSL module is kernels/rng.wgsl followed by kernels/routing.wgsl: the routing kernels draw
 * their initial logits with rng.wgsl's Philox4x32-10 + Box-Muller, and WGSL has no imports.
 */
import rngSource from '../../../kernels/rng.wgsl?raw';
import routingSource from '../../../kernels/routing.wgsl?raw';
import { kernelModule } from '../../gpu/kernel.js';
import { gridFor } from '../../gpu/runtime.js';
import { gemm } from '../../autograd/ops/matmul.js';
import type { Context } from '../../autograd/context.js';
import { type Tensor, formatShape } from '../../autograd/tensor.js';
import { expectTensor, flatGrid } from '../../autograd/ops/common.js';

const kernels = kernelModule('routing', rngSource, routingSource);

/** Threads per routing workgroup (WG in routing.wgsl). */
const WORKGROUP = 32;
/** Largest kMax: the kernels keep per-interest statistics in fixed 16-slot arrays. */
export const MAX_INTERESTS = 16;
/** Bytes of workgroup memory outside the carved vec4 area: `fsm`, and `tpart` in the backward. */
const FIXED_BYTES = { forward: (2 * WORKGROUP + 8 * MAX_INTERESTS) * 4, backward: (2 * WORKGROUP + 8 * MAX_INTERESTS + MAX_INTERESTS * WORKGROUP) * 4 };

const FLAG_BEHAVIORS = 1;
const FLAG_DYNAMIC_K = 2;
const FLAG_INIT = 4;
const FLAG_SHARED_DRAW = 8;

/**
 * How the drawn initial logits b0 (SPEC 1.3) are keyed, beyond the seed:
 * - `'perSample'` (training): b0[b, j, i] depends on (seed, b, j, i). Every sample of a batch
 *   gets its own fresh draw, as SPEC 1.3 requires during training.
 * - `'shared'` (serving and evaluation): b0[b, j, i] depends on (seed, j, i) only, the same for
 *   every row. A sample's interests are then a pure function of its own inputs (history, its
 *   positions i < len_b) and the seed, identical whatever batch, batch order or chunk the sample
 *   arrives in. Positions count from the oldest item of the right-padded window, so the padding
 *   width L does not matter either. The stream is disjoint from every row's 'perSample' draw.
 */
export type InitialLogitDraw = 'perSample' | 'shared';

export interface B2IRoutingOptions {
  /** K: interest capsules per sample, 1..16. */
  kMax: number;
  /** R: routing iterations, ≥ 1 (default 3). */
  iterations?: number;
  /** Initial logits b0 `[B, kMax, L]`; when absent they are drawn from N(0, initStd²). */
  initLogits?: Tensor;
  /** Standard deviation of the drawn initial logits (default 1). */
  initStd?: number;
  /**
   * Seed of the initial-logit draw (an integer in [0, 2^53)): the same seed gives the same
   * logits bit for bit. Default: a fresh seed per call, so successive calls differ.
   */
  seed?: number;
  /** How the drawn initial logits are keyed: 'perSample' (default, training) or 'shared' (serving). */
  initDraw?: InitialLogitDraw;
  /** Which axis the routing softmax normalises (default 'interests'). */
  softmaxOver?: 'interests' | 'behaviors';
  /** Use K_b = max(1, min(K, floor(log2(max(len_b, 1))))) active interests (default false). */
  dynamicK?: boolean;
  /** 'stop' (default): last iteration's routing weights constant; 'full': exact derivative. */
  gradient?: 'stop' | 'full';
  /**
   * Upper bound on the workgroup memory the routing kernels use, in bytes (default: the device
   * limit). Less streams Ê in smaller chunks and, below what the K×d matrix needs, keeps that
   * matrix in global memory; useful to exercise those paths or to raise occupancy on a GPU.
   */
  workgroupMemoryBytes?: number;
}

/** SPEC 1.2's active interest count K_b = max(1, min(kMax, floor(log2(max(len_b, 1))))). */
export function activeInterestCount(lengths: Int32Array, kMax: number): Int32Array {
  if (!Number.isInteger(kMax) || kMax < 1) throw new Error(`activeInterestCount: kMax must be an integer ≥ 1, got ${kMax}`);
  return lengths.map((len) => Math.max(1, Math.min(kMax, 31 - Math.clz32(Math.max(len, 1)))));
}

/** How a routing kernel carves its workgroup memory, in vec4s (see RouteParams in the WGSL). */
export interface RoutingLayout {
  /** vec4s of workgroup memory (the SMEM4 override): the whole budget. */
  smem4: number;
  /** Ê rows per tile, a multiple of 4; ≥ L means the whole sample is loaded once. */
  chunk: number;
  /** Tile row stride in vec4s: d4 | 1 (odd, so column walks spread over banks) when it costs nothing. */
  stride: number;
  /** Whether the K×d4 matrix is in workgroup memory. */
  vShared: boolean;
  offW: number;
  offV: number;
}

/**
 * Plans the workgroup memory of route_forward / route_backward within `budgetBytes`. The K×d4
 * matrix goes first (it is read K·L·d/4 times a step, while streaming the tile costs only an
 * extra L·d/4 reads per pass), then as many Ê rows (with their routing weights) as fit.
 */
export function routingLayout(budgetBytes: number, kMax: number, length: number, width: number, pass: 'forward' | 'backward'): RoutingLayout {
  const width4 = Math.ceil(width / 4);
  const budget4 = Math.floor((budgetBytes - FIXED_BYTES[pass]) / 16);
  const matrix = kMax * width4;
  const rows = 4 * Math.ceil(Math.max(length, 1) / 4);
  // Four rows of the tile and their weights (one vec4 per interest).
  const chunkFor = (vShared: boolean, stride: number) => 4 * Math.floor((budget4 - (vShared ? matrix : 0)) / (4 * stride + kMax));
  const vShared = chunkFor(true, width4) >= 4;
  const padded = width4 | 1;
  const stride = chunkFor(vShared, padded) >= Math.min(rows, chunkFor(vShared, width4)) ? padded : width4;
  const chunk = Math.min(rows, chunkFor(vShared, stride));
  if (chunk < 4) {
    throw new Error(
      `b2iRouting: d = ${width} is too wide for ${budgetBytes} bytes of workgroup memory: four rows of the ` +
        `routing tile need ${(4 * width4 + kMax) * 16 + FIXED_BYTES[pass]} bytes`,
    );
  }
  const offW = chunk * stride;
  const offV = offW + (kMax * chunk) / 4;
  // The whole budget, not what this shape uses: one compiled pipeline serves every shape (the
  // array's size only costs its zero-initialisation, which measures as noise).
  return { smem4: budget4, chunk, stride, vShared, offW, offV };
}

/**
 * The projections around the routing kernels, all on the GEMM family (`gemm`,
 * kernels/matmul.wgsl) over every sample's rows at once, m = B·L (batching the rows keeps the
 * work regular however short the histories). Ê and dÊ rows are padded to d4 = 4·ceil(d/4)
 * floats (zeros), which the routing kernels read as vec4s; the GEMMs read and write that padding
 * in place through their leading dimension. The family folds its grid over y and z past the
 * per-dimension workgroup limit, so m = B·L beyond 65,535 row tiles runs.
 */
interface Projection {
  /** Rows: B·L. */
  m: number;
  /** Input width dIn (E's last axis, S's rows). */
  dIn: number;
  /** Output width d (S's columns). */
  d: number;
}

/** Ê `[B, L, d4]` = E `[m, dIn]` · S `[dIn, d]`, columns d .. d4-1 zeros. */
function project(E: Tensor, S: Tensor, p: Projection, shape: readonly number[]): Tensor {
  const d4 = 4 * Math.ceil(p.d / 4);
  return gemm(E.ctx, { a: E, b: S, m: p.m, k: p.dIn, n: p.d, ldc: d4, shape, label: 'routing.project' });
}

/** dE `[m, dIn]` (as `shape`) = dÊ `[m, d]` (rows of d4) · Sᵀ, S read transposed in place. */
function inputGrad(dEhat: Tensor, S: Tensor, p: Projection, shape: readonly number[]): Tensor {
  const d4 = 4 * Math.ceil(p.d / 4);
  return gemm(dEhat.ctx, { a: dEhat, b: S, m: p.m, k: p.d, n: p.dIn, lda: d4, transB: true, shape, label: 'routing.input_grad' });
}

/**
 * dS `[dIn, d]` = Eᵀ · dÊ: a tall K = B·L over few output tiles, so the family splits it into
 * partial sums over row ranges that it adds in a fixed order (deterministic, no float atomics):
 * two dispatches whatever B·L is.
 */
function weightGrad(E: Tensor, dEhat: Tensor, p: Projection): Tensor {
  const d4 = 4 * Math.ceil(p.d / 4);
  return gemm(E.ctx, { a: E, b: dEhat, m: p.dIn, k: p.m, n: p.d, ldb: d4, transA: true, splitK: 'auto', label: 'routing.weight_grad' });
}

function checkInitDraw(op: string, initDraw: InitialLogitDraw): void {
  if (initDraw !== 'perSample' && initDraw !== 'shared') throw new Error(`${op}: initDraw must be 'perSample' or 'shared', got ${String(initDraw)}`);
}

interface Resolved {
  kMax: number;
  iterations: number;
  initLogits: Tensor | undefined;
  initStd: number;
  seedLo: number;
  seedHi: number;
  flags: number;
  gradient: 'stop' | 'full';
  budgetBytes: number;
}

function resolveOptions(ctx: Context, opts: B2IRoutingOptions, B: number, L: number): Resolved {
  const op = 'b2iRouting';
  if (!opts || typeof opts !== 'object') throw new Error(`${op}: options with kMax are required`);
  const { kMax, iterations = 3, initLogits, initStd = 1, seed, initDraw = 'perSample', softmaxOver = 'interests', dynamicK = false, gradient = 'stop' } = opts;
  if (!Number.isInteger(kMax) || kMax < 1 || kMax > MAX_INTERESTS) {
    throw new Error(`${op}: kMax must be an integer in 1..${MAX_INTERESTS} (the kernels' interest limit), got ${kMax}`);
  }
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error(`${op}: iterations must be an integer ≥ 1, got ${iterations}`);
  if (typeof initStd !== 'number' || !Number.isFinite(initStd) || initStd < 0) {
    throw new Error(`${op}: initStd must be a finite number ≥ 0, got ${initStd}`);
  }
  if (seed !== undefined && (!Number.isSafeInteger(seed) || seed < 0)) {
    throw new Error(`${op}: seed must be an integer in [0, 2^53), got ${seed}`);
  }
  checkInitDraw(op, initDraw);
  if (softmaxOver !== 'interests' && softmaxOver !== 'behaviors') {
    throw new Error(`${op}: softmaxOver must be 'interests' or 'behaviors', got ${String(softmaxOver)}`);
  }
  if (typeof dynamicK !== 'boolean') throw new Error(`${op}: dynamicK must be a boolean, got ${String(dynamicK)}`);
  if (gradient !== 'stop' && gradient !== 'full') throw new Error(`${op}: gradient must be 'stop' or 'full', got ${String(gradient)}`);
  if (initLogits !== undefined) {
    expectTensor(op, 'initLogits', initLogits, 'f32', 3);
    if (initLogits.shape[0] !== B || initLogits.shape[1] !== kMax || initLogits.shape[2] !== L) {
      throw new Error(`${op}: initLogits must have shape [B, kMax, L] = ${formatShape([B, kMax, L])}, got ${formatShape(initLogits.shape)}`);
    }
  }
  const deviceBytes = ctx.gpu.limits.maxComputeWorkgroupStorageSize;
  const { workgroupMemoryBytes = deviceBytes } = opts;
  if (!Number.isFinite(workgroupMemoryBytes) || workgroupMemoryBytes <= 0) {
    throw new Error(`${op}: workgroupMemoryBytes must be a positive number, got ${workgroupMemoryBytes}`);
  }
  const seedValue = seed ?? Math.floor(Math.random() * 2 ** 53);
  return {
    kMax,
    iterations,
    initLogits,
    initStd,
    seedLo: seedValue % 2 ** 32,
    seedHi: Math.floor(seedValue / 2 ** 32),
    flags:
      (softmaxOver === 'behaviors' ? FLAG_BEHAVIORS : 0) |
      (dynamicK ? FLAG_DYNAMIC_K : 0) |
      (initLogits ? FLAG_INIT : 0) |
      (initDraw === 'shared' ? FLAG_SHARED_DRAW : 0),
    gradient,
    budgetBytes: Math.min(workgroupMemoryBytes, deviceBytes),
  };
}

interface RouteParams {
  B: number;
  L: number;
  d: number;
  kMax: number;
  iterations?: number;
  slices?: number;
  flags?: number;
  seedLo: number;
  seedHi: number;
  initStd: number;
  layout?: RoutingLayout;
}

/** The RouteParams uniform block of routing.wgsl, field by field. */
function routeParams(v: RouteParams) {
  const l = v.layout;
  return {
    batch: v.B,
    length: v.L,
    length4: Math.ceil(v.L / 4),
    width: v.d,
    width4: Math.ceil(v.d / 4),
    k_max: v.kMax,
    iterations: v.iterations ?? 0,
    slices: v.slices ?? 0,
    chunk: l?.chunk ?? 0,
    stride: l?.stride ?? 0,
    flags: v.flags ?? 0,
    seed_lo: v.seedLo,
    seed_hi: v.seedHi,
    init_std: v.initStd,
    off_w: l?.offW ?? 0,
    off_v: l?.offV ?? 0,
  };
}

/** The override constants of route_forward / route_backward for a workgroup-memory plan. */
function routeConstants(layout: RoutingLayout) {
  return { SMEM4: layout.smem4, V_SHARED: +layout.vShared };
}

/**
 * Multi-interest extraction by B2I dynamic routing (SPEC.md section 1).
 *
 * @param behaviors E `[B, L, dIn]` f32, the padded behaviour embeddings
 * @param lengths `[B]` i32 history lengths in [0, L], created from host data (`ctx.tensor`)
 * @param S the shared bilinear map `[dIn, d]` f32
 * @returns interest capsules U `[B, kMax, d]`; rows j ≥ K_b and samples with length 0 are zeros
 *
 * The initial logits are `opts.initLogits` or drawn as `opts.initDraw` says: 'perSample' (the
 * default) for training, 'shared' for serving and evaluation, where sample b's U must depend on
 * nothing but row b's behaviours and length (see InitialLogitDraw).
 *
 * Differentiable in `behaviors` and `S` (not in lengths or initLogits). Forward: 2 dispatches;
 * backward: 4 (the routing backward, dE, dS and its split-K sum), whatever `iterations` is. With 'full' gradients the forward keeps the logits and
 * z of every iteration (B·R·K·(L + d) floats) for the backward; with 'stop' only the last.
 *
 * Throws, naming the argument and its value, on a wrong rank, dtype or shape, a length outside
 * [0, L], lengths without a host copy, or an option out of range.
 */
export function b2iRouting(behaviors: Tensor, lengths: Tensor, S: Tensor, opts: B2IRoutingOptions): Tensor {
  const op = 'b2iRouting';
  expectTensor(op, 'behaviors', behaviors, 'f32', 3);
  expectTensor(op, 'lengths', lengths, 'i32', 1);
  expectTensor(op, 'S', S, 'f32', 2);
  const [B, L, dIn] = behaviors.shape;
  const d = S.shape[1];
  if (lengths.shape[0] !== B) throw new Error(`${op}: lengths must have shape [B] = [${B}], got ${formatShape(lengths.shape)}`);
  if (S.shape[0] !== dIn) throw new Error(`${op}: S must have shape [dIn, d] with dIn = ${dIn} (behaviors' last axis), got ${formatShape(S.shape)}`);
  const host = lengths.host;
  if (!host) throw new Error(`${op}: lengths has no host copy; create it from host data with ctx.tensor(Int32Array, [B])`);
  host.forEach((len, b) => {
    if (len < 0 || len > L) throw new Error(`${op}: lengths[${b}] = ${len} is outside [0, L] = [0, ${L}]`);
  });
  const ctx = behaviors.ctx;
  const r = resolveOptions(ctx, opts, B, L);
  const recording = ctx.gradEnabled && (behaviors.requiresGrad || S.requiresGrad);
  // The backward needs the logits and z of the last iteration ('stop') or of every one ('full').
  const slices = recording && r.gradient === 'full' ? r.iterations : 1;
  const layout = routingLayout(r.budgetBytes, r.kMax, L, d, 'forward');
  const backwardLayout = recording ? routingLayout(r.budgetBytes, r.kMax, L, d, 'backward') : undefined;
  const d4 = 4 * Math.ceil(d / 4);
  const shape = { m: B * L, dIn, d };

  const ehat = project(behaviors, S, shape, [B, L, d4]);
  const L4 = 4 * Math.ceil(L / 4);
  const logits = ctx.empty([B, slices, r.kMax, L4], 'f32', 'b2iRouting.logits');
  const zState = ctx.empty([B, slices, r.kMax, d4], 'f32', 'b2iRouting.z');
  const U = ctx.empty([B, r.kMax, d], 'f32', op);
  const matrix = ctx.empty(layout.vShared ? [4] : [B, r.kMax, d4], 'f32', 'b2iRouting.matrix');
  kernels.entry('route_forward', 'routing.forward').run(
    ctx,
    {
      p: routeParams({ B, L, d, ...r, slices, layout }),
      lengths,
      ehat,
      // A placeholder when the logits are drawn (FLAG_INIT off); read-only like lengths.
      init_logits: r.initLogits ?? lengths,
      logits,
      zstate: zState,
      vglobal: matrix,
      out: U,
    },
    gridFor(B, ctx.gpu.maxWorkgroupsPerDimension),
    routeConstants(layout),
  );
  matrix.dispose();
  // The stop-gradient backward never reads Ê (and without a gradient nothing does).
  if (slices === 1) ehat.dispose();

  ctx.tape.record(op, [behaviors, S], [U], ([gU]) => {
    const bl = backwardLayout!;
    const dEhat = ctx.empty([B, L, d4], 'f32', 'b2iRouting.dEhat');
    const gradLogits = ctx.empty(slices > 1 ? [B, r.kMax, L4] : [4], 'f32', 'b2iRouting.gradLogits');
    const matrix = ctx.empty(bl.vShared ? [4] : [B, r.kMax, d4], 'f32', 'b2iRouting.matrix');
    kernels.entry('route_backward', 'routing.backward').run(
      ctx,
      {
        p: routeParams({ B, L, d, ...r, slices, layout: bl }),
        lengths,
        // Ê is read only when the backward goes through the iterations; a read-only placeholder otherwise.
        ehat: slices > 1 ? ehat : lengths,
        logits,
        zstate: zState,
        vglobal: matrix,
        grad_ehat: dEhat,
        grad_u: gU!,
        grad_logits: gradLogits,
      },
      gridFor(B, ctx.gpu.maxWorkgroupsPerDimension),
      routeConstants(bl),
    );
    const dE = behaviors.requiresGrad ? inputGrad(dEhat, S, shape, behaviors.shape) : null;
    const dS = S.requiresGrad ? weightGrad(behaviors, dEhat, shape) : null;
    for (const t of [dEhat, gradLogits, matrix]) t.dispose();
    return [dE, dS];
  }, {
    // dE reads S, dS reads E; the rule reads the saved logits and z (and Ê with 'full').
    reads: [lengths, behaviors.requiresGrad ? S : undefined, S.requiresGrad ? behaviors : undefined],
    owns: [logits, zState, slices > 1 ? ehat : undefined],
  });
  return U;
}

/**
 * The initial logits b0 `[batch, kMax, length]` f32 that `b2iRouting` draws for `seed` and
 * `initDraw` (SPEC 1.3): initStd · N(0, 1) from Philox4x32-10 keyed by (seed, b, j, i) for
 * 'perSample' (default), by (seed, j, i) for 'shared' (every row equal). Passing them as
 * `initLogits` reproduces the seeded call exactly. Throws naming the argument when batch, kMax
 * or length is not an integer ≥ 0, seed is not an integer in [0, 2^53), initStd is not finite
 * and ≥ 0, or initDraw is neither 'perSample' nor 'shared'.
 */
export function sampleInitialLogits(
  ctx: Context,
  args: { batch: number; kMax: number; length: number; seed: number; initStd?: number; initDraw?: InitialLogitDraw },
): Tensor {
  const { batch, kMax, length, seed, initStd = 1, initDraw = 'perSample' } = args;
  for (const [name, v] of [['batch', batch], ['kMax', kMax], ['length', length]] as const) {
    if (!Number.isInteger(v) || v < 0) throw new Error(`sampleInitialLogits: ${name} must be an integer ≥ 0, got ${v}`);
  }
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`sampleInitialLogits: seed must be an integer in [0, 2^53), got ${seed}`);
  if (!Number.isFinite(initStd) || initStd < 0) throw new Error(`sampleInitialLogits: initStd must be a finite number ≥ 0, got ${initStd}`);
  checkInitDraw('sampleInitialLogits', initDraw);
  const out = ctx.empty([batch, kMax, length], 'f32', 'initialLogits');
  kernels.entry('sample_logits', 'routing.sample_logits').run(
    ctx,
    {
      p: routeParams({
        B: batch,
        L: length,
        d: 0,
        kMax,
        flags: initDraw === 'shared' ? FLAG_SHARED_DRAW : 0,
        seedLo: seed % 2 ** 32,
        seedHi: Math.floor(seed / 2 ** 32),
        initStd,
      }),
      out,
    },
    flatGrid(batch * kMax * length, WORKGROUP, ctx.gpu.maxWorkgroupsPerDimension),
  );
  return out;
}
