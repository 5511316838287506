// B2I dynamic routing (SPEC.md section 1), fused: the routing iterations forward and backward.
// Compiled with kernels/rng.wgsl prepended (it provides rng_normal). The projections around
// them (Ê = E·S before, dE = dÊ·Sᵀ and dS = Eᵀ·dÊ after) are GEMMs over all B·L rows at once
// and run on the project's GEMM family, kernels/matmul.wgsl (src/mind/ops/routing.ts).
//
// Parallel decomposition, and why:
// - Routing: one workgroup of 32 threads per sample runs all R iterations (`route_forward`) or
//   the whole backward (`route_backward`), so the dispatch count does not depend on R. The
//   iterations are sequential and each needs every behaviour of the sample, and one sample's
//   step (K·L·d multiply-adds) is a workgroup's worth of work, not a grid's.
// - Loads, not arithmetic, bound these kernels (on CPU Vulkan a load whose address differs
//   across SIMD lanes costs about as much as a hundred multiply-adds; on a GPU loads are memory
//   traffic). So every thread owns a register block of outputs and loops over the reduction
//   axis with vec4 loads: z[j, :] = Σ_i w[j, i] ê_i per (vec4 column × 4 interests) over rows
//   four at a time; the logit update b[j, i] += u_j·ê_i per (4 rows × 4 interests) over vec4
//   columns; dÊ per (4 rows × vec4 column) over interests. Per-interest reductions (row
//   softmax, ‖z_j‖) use power-of-two lane groups and a tree in workgroup memory. Hot loops
//   avoid divergent branches (clamped indices and select), which SIMD CPUs execute slowly. No
//   subgroup operations, so no assumption about the subgroup size.
// - Rows of Ê, z and their gradients are padded to d4 = ceil(d/4) vec4s (zeros) inside the op.
// - Workgroup memory (`vsm`, vec4s carved at offsets the host computes from the device limit):
//   a tile of Ê rows, the routing weights of those rows (vec4 over four rows), the K×d4 matrix
//   (z, u or gradients). When the whole sample's Ê fits it is loaded once; otherwise it is
//   streamed in chunks of rows from the global Ê (an extra L·d reads per pass against K·L·d
//   multiply-adds). When even the K×d4 matrix does not fit (V_SHARED = false) it stays global.
// - Logits live in global memory (rows padded to vec4s), one [K, L] slice per saved iteration: the forward keeps the
//   last iteration's logits and z (stop gradient) or every iteration's (full gradient), which
//   is all the backward needs to rebuild the routing weights; the random initial logits are
//   never stored separately.
//
// Numerics: softmaxes subtract the max; ‖z‖ is a scaled sum of squares (no overflow while z is
// finite); squash uses f = q/((1+q)·sqrt(q+1e-9)) in a form that stays finite for huge q; the
// logit update takes u_j = f_j z_j before its dot with ê_i, never z_j·ê_i (which overflows for
// behaviours near 1e20). So U is finite for every input whose Ê = E·S is finite.
//
// Every function-scope var has an explicit initializer: declared without one inside a loop,
// Dawn's SPIR-V (as naga's, gfx-rs/wgpu#9489) zeroes it once per invocation, not per iteration.
//
// Bindings: 0 route params, 1 lengths, 2 Ê, 3 initial logits, 4 logits state, 5 z state,
// 6 K×d4 matrix fallback, 7 f32 output, 8 upstream gradient dU, 9 logits gradient, 10 dÊ.

const WG: u32 = 32u;
const KMAX: u32 = 16u;
// Register accumulators: 4 floats per interest, kept as scalars because dynamic indexing of a
// vec4 array costs several times more than of a scalar one on SIMD CPUs.
const ACC: u32 = 4u * KMAX;
const MAX_F32: f32 = 0x1.fffffep+127f;

const FLAG_BEHAVIORS: u32 = 1u; // softmaxOver: 'behaviors'
const FLAG_DYNAMIC_K: u32 = 2u;
const FLAG_INIT: u32 = 4u;      // initial logits given (binding 3)
const FLAG_SHARED_DRAW: u32 = 8u; // initDraw: 'shared'

// fsm layout: [0, 2 WG) reduction scratch, then per-interest statistics, KMAX floats each.
const RED: u32 = 0u;
const STATS: u32 = 2u * WG;
const ST_MAX: u32 = 0u;         // max over valid i of b[j, i] (softmax over behaviours)
const ST_INV_SUM: u32 = 16u;    // 1 / Σ_i exp(b[j, i] - max)
const ST_NORM: u32 = 32u;       // ‖z_j‖
const ST_F: u32 = 48u;          // squash: u_j = f_j z_j
const ST_G: u32 = 64u;          // squash backward: dz = f du + g (ẑ·du) ẑ, ẑ = z/‖z‖
const ST_DOT: u32 = 80u;        // ẑ_j · du_j
const ST_T: u32 = 96u;          // Σ_i w[j, i] dw[j, i] (softmax over behaviours, backward)

const OP_SUM: u32 = 0u;
const OP_NORM: u32 = 1u;
const OP_LOGSUMEXP: u32 = 2u;

// vec4s of workgroup memory the routing entry points carve up (set per call by the host).
override SMEM4: u32 = 64u;
// Whether the K×d4 matrix is kept in workgroup memory.
override V_SHARED: bool = true;

struct RouteParams {
  batch: u32,
  length: u32,     // L
  length4: u32,    // ceil(L / 4): logits rows are padded to whole vec4s
  width: u32,      // d
  width4: u32,     // d4 = ceil(d / 4)
  k_max: u32,      // K
  iterations: u32, // R
  slices: u32,     // saved iterations: 1 (the last) or R
  chunk: u32,      // Ê rows per tile, a multiple of 4
  stride: u32,     // tile row stride in vec4s
  flags: u32,
  seed_lo: u32,
  seed_hi: u32,
  init_std: f32,
  off_w: u32,      // [K, chunk/4] routing weights (or logits gradients) of the tile's rows
  off_v: u32,      // [K, d4] matrix, when V_SHARED
}

@group(0) @binding(0) var<uniform> p: RouteParams;
@group(0) @binding(1) var<storage, read> lengths: array<i32>;             // [B]
@group(0) @binding(2) var<storage, read> ehat: array<vec4<f32>>;          // [B, L, d4]
@group(0) @binding(3) var<storage, read> init_logits: array<f32>;         // [B, K, L]
@group(0) @binding(4) var<storage, read_write> logits: array<vec4<f32>>;  // [B, slices, K, L/4]
@group(0) @binding(5) var<storage, read_write> zstate: array<vec4<f32>>;  // [B, slices, K, d4]
@group(0) @binding(6) var<storage, read_write> vglobal: array<vec4<f32>>; // [B, K, d4]
@group(0) @binding(7) var<storage, read_write> out: array<f32>;
@group(0) @binding(8) var<storage, read> grad_u: array<f32>;              // [B, K, d]
@group(0) @binding(9) var<storage, read_write> grad_logits: array<vec4<f32>>; // [B, K, L/4]
@group(0) @binding(10) var<storage, read_write> grad_ehat: array<vec4<f32>>; // dÊ [B, L, d4]

var<workgroup> vsm: array<vec4<f32>, SMEM4>;
var<workgroup> fsm: array<f32, 2u * WG + 8u * KMAX>;  // reduction scratch, statistics
var<workgroup> tpart: array<f32, KMAX * WG>;          // route_backward: per-thread partial sums

// ---------------------------------------------------------------------------------------------
// Shared helpers

fn sample_length(b: u32) -> u32 {
  return u32(clamp(lengths[b], 0, i32(p.length)));
}

// K_b: kMax, or with dynamicK max(1, min(K, floor(log2(max(len, 1))))).
fn active_interests(len: u32) -> u32 {
  if ((p.flags & FLAG_DYNAMIC_K) == 0u) {
    return p.k_max;
  }
  return max(1u, min(p.k_max, firstLeadingBit(max(len, 1u))));
}

// Iteration r (0-based) uses logits/z slice max(r + slices, R) - R: with one slice every
// iteration works in place, with R slices each keeps its own.
fn slice_of(r: u32) -> u32 {
  return max(r + p.slices, p.iterations) - p.iterations;
}

// The drawn initial logit b0[b, j, i] = init_std · N(0, 1) (SPEC 1.3). 'perSample' (training)
// keys Philox by (i, j, b, 0): every row of a batch gets fresh logits. 'shared' (serving and
// evaluation) keys it by (i, j, 0, 1): no row index, so a user's logits, and hence its
// interests, do not depend on where in which batch it arrives; the last word keeps this stream
// apart from row 0's training draws.
fn initial_logit(b: u32, j: u32, i: u32) -> f32 {
  let same_for_all_rows = (p.flags & FLAG_SHARED_DRAW) != 0u;
  let counter = select(vec4<u32>(i, j, b, 0u), vec4<u32>(i, j, 0u, 1u), same_for_all_rows);
  return p.init_std * rng_normal(counter, vec2<u32>(p.seed_lo, p.seed_hi));
}

// Index of the vec4 holding logits b[j, 4 i4 .. 4 i4 + 3] of slice s (rows padded to vec4s).
fn logit4_index(b: u32, s: u32, j: u32, i4: u32) -> u32 {
  return ((b * p.slices + s) * p.k_max + j) * p.length4 + i4;
}

fn z_base(b: u32, s: u32) -> u32 {
  return (b * p.slices + s) * p.k_max * p.width4;
}

fn grad_logit4_index(b: u32, j: u32, i4: u32) -> u32 {
  return (b * p.k_max + j) * p.length4 + i4;
}

fn stat(which: u32, j: u32) -> f32 {
  return fsm[STATS + which + j];
}

fn set_stat(which: u32, j: u32, value: f32) {
  fsm[STATS + which + j] = value;
}

// Lanes per interest for the per-interest reductions: a power of two, times next_pow2(kb) = WG.
fn lanes_per_interest(kb: u32) -> u32 {
  return WG >> firstLeadingBit(select(1u, 2u * kb - 1u, kb > 1u));
}

// Associative combines on pairs, branch-free (divergent branches are slow on SIMD CPUs):
// OP_SUM (x, -); OP_NORM (scale, ssq) with ‖·‖ = scale·sqrt(ssq), (0, 0) empty;
// OP_LOGSUMEXP (max, Σ exp(x - max)), (-MAX_F32, 0) empty.
fn combine(op: u32, a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  switch (op) {
    case OP_NORM: {
      let swap = b.x > a.x;
      let hi = select(a, b, swap);
      let lo = select(b, a, swap);
      let r = select(0.0, lo.x / hi.x, hi.x > 0.0);
      return vec2<f32>(hi.x, hi.y + lo.y * r * r);
    }
    case OP_LOGSUMEXP: {
      let m = max(a.x, b.x);
      return vec2<f32>(m, a.y * exp(max(a.x - m, -100.0)) + b.y * exp(max(b.x - m, -100.0)));
    }
    default: {
      return vec2<f32>(a.x + b.x, 0.0);
    }
  }
}

fn combine_norm4(acc: vec2<f32>, v: vec4<f32>) -> vec2<f32> {
  var r = acc;
  for (var q = 0u; q < 4u; q++) {
    r = combine(OP_NORM, r, vec2<f32>(abs(v[q]), 1.0));
  }
  return r;
}

// Tree reduction within groups of `lanes` consecutive threads; the group's total is returned to
// its first lane (other lanes get partial values). Must be called by the whole workgroup.
fn group_reduce(t: u32, lanes: u32, op: u32, value: vec2<f32>) -> vec2<f32> {
  fsm[RED + t] = value.x;
  fsm[RED + WG + t] = value.y;
  for (var stride = lanes / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (t % lanes < stride) {
      let r = combine(op, vec2<f32>(fsm[RED + t], fsm[RED + WG + t]),
                      vec2<f32>(fsm[RED + t + stride], fsm[RED + WG + t + stride]));
      fsm[RED + t] = r.x;
      fsm[RED + WG + t] = r.y;
    }
  }
  workgroupBarrier();
  return vec2<f32>(fsm[RED + t], fsm[RED + WG + t]);
}

// (f, g) of the squash at ‖z‖ = n, q = n²: u = f z with f = q/((1+q)·sqrt(q+ε)), and
// g = 2 q f'(q) = a(2c - q/(q+ε))/s with a = q/(1+q), c = 1/(1+q), s = sqrt(q+ε), ε = 1e-9.
// Past n = 1e18 q would overflow; there a = 1, c = 0, s = n to f32 precision.
fn squash_factors(n: f32) -> vec2<f32> {
  if (n > 1e18) {
    return vec2<f32>(1.0 / n, -1.0 / n);
  }
  let q = n * n;
  let a = q / (1.0 + q);
  let c = 1.0 / (1.0 + q);
  let s = sqrt(q + 1e-9);
  return vec2<f32>(a / s, a * (2.0 * c - q / (q + 1e-9)) / s);
}

// Rows i0 .. i0+n-1 of the sample's Ê into the tile, and zero rows up to the next multiple of 4
// (the weights of those rows are zero too; zeros keep 0·x finite).
fn load_tile(b: u32, i0: u32, n: u32, t: u32) {
  let base = (b * p.length + i0) * p.width4;
  let padded = (n + 3u) & ~3u;
  let last = n * p.width4 - 1u;
  for (var idx = t; idx < padded * p.width4; idx += WG) {
    let ii = idx / p.width4;
    vsm[ii * p.stride + idx % p.width4] = select(vec4<f32>(0.0), ehat[base + min(idx, last)], ii < n);
  }
}

// Routing weights w[j, i0 .. i0+n-1] of slice s for active j into vsm[off_w + j*chunk/4 + i4],
// four rows per vec4, zeros past n. Softmax over behaviours needs row_stats of the slice first.
fn load_weights(b: u32, s: u32, i0: u32, n: u32, kb: u32, t: u32) {
  let c4 = p.chunk / 4u;
  let n4 = (n + 3u) / 4u;
  if ((p.flags & FLAG_BEHAVIORS) != 0u) {
    for (var idx = t; idx < kb * n4; idx += WG) {
      let j = idx / n4;
      let i4 = idx % n4;
      let x = logits[logit4_index(b, s, j, i0 / 4u + i4)];
      vsm[p.off_w + j * c4 + i4] = select(vec4<f32>(0.0), exp(x - stat(ST_MAX, j)) * stat(ST_INV_SUM, j), rows_valid(4u * i4, n));
    }
    return;
  }
  for (var i4 = t; i4 < n4; i4 += WG) {
    var m = vec4<f32>(-MAX_F32);
    for (var j = 0u; j < kb; j++) {
      m = max(m, logits[logit4_index(b, s, j, i0 / 4u + i4)]);
    }
    var sum = vec4<f32>(0.0);
    for (var j = 0u; j < kb; j++) {
      let e = select(vec4<f32>(0.0), exp(logits[logit4_index(b, s, j, i0 / 4u + i4)] - m), rows_valid(4u * i4, n));
      vsm[p.off_w + j * c4 + i4] = e;
      sum += e;
    }
    let inv = select(vec4<f32>(0.0), 1.0 / sum, rows_valid(4u * i4, n));
    for (var j = 0u; j < kb; j++) {
      vsm[p.off_w + j * c4 + i4] *= inv;
    }
  }
}

// Which of the rows ii .. ii+3 are below n.
fn rows_valid(ii: u32, n: u32) -> vec4<bool> {
  return vec4<u32>(ii) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(n);
}

// Softmax over behaviours: per active j, max and 1/Σexp over valid i of slice s -> stats.
fn row_stats(b: u32, s: u32, len: u32, kb: u32, t: u32) {
  let lanes = lanes_per_interest(kb);
  let j = t / lanes;
  let lane = t % lanes;
  // Lanes of groups j >= kb repeat row kb-1 rather than branch; their totals are dropped.
  let row = logit4_index(b, s, min(j, kb - 1u), 0u);
  var acc = vec2<f32>(-MAX_F32, 0.0);
  for (var i4 = lane; i4 < (len + 3u) / 4u; i4 += lanes) {
    let x = logits[row + i4];
    let valid = rows_valid(4u * i4, len);
    for (var q = 0u; q < 4u; q++) {
      acc = combine(OP_LOGSUMEXP, acc, select(vec2<f32>(-MAX_F32, 0.0), vec2<f32>(x[q], 1.0), valid[q]));
    }
  }
  let total = group_reduce(t, lanes, OP_LOGSUMEXP, acc);
  if (lane == 0u && j < kb) {
    set_stat(ST_MAX, j, total.x);
    set_stat(ST_INV_SUM, j, 1.0 / total.y);
  }
  workgroupBarrier();
}

// ‖z_j‖ of slice s and the squash factors -> stats.
fn squash_norms(b: u32, s: u32, kb: u32, t: u32) {
  let lanes = lanes_per_interest(kb);
  let j = t / lanes;
  let lane = t % lanes;
  let zb = z_base(b, s) + min(j, kb - 1u) * p.width4;
  var acc = vec2<f32>(0.0);
  for (var c4 = lane; c4 < p.width4; c4 += lanes) {
    acc = combine_norm4(acc, zstate[zb + c4]);
  }
  let total = group_reduce(t, lanes, OP_NORM, acc);
  if (lane == 0u && j < kb) {
    let n = total.x * sqrt(total.y);
    let fg = squash_factors(n);
    set_stat(ST_NORM, j, n);
    set_stat(ST_F, j, fg.x);
    set_stat(ST_G, j, fg.y);
  }
  workgroupBarrier();
}

// acc[4j .. 4j+3] += Σ_{rows of the tile} m[j, i] ê[i, c4] for j < kb, m the [K, chunk/4] vec4
// matrix at off_w (routing weights or logits gradients), rows four at a time. One thread per
// vec4 column; interests in blocks of 4 held in registers (a static block keeps the SIMD code
// free of dynamic register indexing; re-reading the tile per block is cheap).
fn accumulate_rows(acc: ptr<function, array<f32, ACC>>, n: u32, c4: u32, kb: u32) {
  let cw = p.chunk / 4u;
  let st = p.stride;
  for (var j0 = 0u; j0 < kb; j0 += 4u) {
    let w0 = p.off_w + min(j0, p.k_max - 1u) * cw;
    let w1 = p.off_w + min(j0 + 1u, p.k_max - 1u) * cw;
    let w2 = p.off_w + min(j0 + 2u, p.k_max - 1u) * cw;
    let w3 = p.off_w + min(j0 + 3u, p.k_max - 1u) * cw;
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    for (var i4 = 0u; i4 < (n + 3u) / 4u; i4++) {
      let tb = 4u * i4 * st + c4;
      let e0 = vsm[tb];
      let e1 = vsm[tb + st];
      let e2 = vsm[tb + 2u * st];
      let e3 = vsm[tb + 3u * st];
      let m0 = vsm[w0 + i4];
      let m1 = vsm[w1 + i4];
      let m2 = vsm[w2 + i4];
      let m3 = vsm[w3 + i4];
      a0 += m0.x * e0 + m0.y * e1 + m0.z * e2 + m0.w * e3;
      a1 += m1.x * e0 + m1.y * e1 + m1.z * e2 + m1.w * e3;
      a2 += m2.x * e0 + m2.y * e1 + m2.z * e2 + m2.w * e3;
      a3 += m3.x * e0 + m3.y * e1 + m3.z * e2 + m3.w * e3;
    }
    add_block(acc, j0, a0, a1, a2, a3);
  }
}

// acc[4 (j0 + q) ..] += a_q for the block of interests j0 .. j0+3.
fn add_block(acc: ptr<function, array<f32, ACC>>, j0: u32, a0: vec4<f32>, a1: vec4<f32>, a2: vec4<f32>, a3: vec4<f32>) {
  let k = 4u * j0;
  (*acc)[k] += a0.x;
  (*acc)[k + 1u] += a0.y;
  (*acc)[k + 2u] += a0.z;
  (*acc)[k + 3u] += a0.w;
  (*acc)[k + 4u] += a1.x;
  (*acc)[k + 5u] += a1.y;
  (*acc)[k + 6u] += a1.z;
  (*acc)[k + 7u] += a1.w;
  (*acc)[k + 8u] += a2.x;
  (*acc)[k + 9u] += a2.y;
  (*acc)[k + 10u] += a2.z;
  (*acc)[k + 11u] += a2.w;
  (*acc)[k + 12u] += a3.x;
  (*acc)[k + 13u] += a3.y;
  (*acc)[k + 14u] += a3.z;
  (*acc)[k + 15u] += a3.w;
}

// acc[4j + q] += v_j · ê[4 i4 + q] for j < kb, q < 4, v the K×d4 matrix. One thread per four
// tile rows; interests in blocks of 4 held in registers.
fn row_dots(acc: ptr<function, array<f32, ACC>>, i4: u32, kb: u32, vb: u32) {
  let st = p.stride;
  let tb = 4u * i4 * st;
  for (var j0 = 0u; j0 < kb; j0 += 4u) {
    let v0 = min(j0, p.k_max - 1u) * p.width4;
    let v1 = min(j0 + 1u, p.k_max - 1u) * p.width4;
    let v2 = min(j0 + 2u, p.k_max - 1u) * p.width4;
    let v3 = min(j0 + 3u, p.k_max - 1u) * p.width4;
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    for (var c4 = 0u; c4 < p.width4; c4++) {
      let e0 = vsm[tb + c4];
      let e1 = vsm[tb + st + c4];
      let e2 = vsm[tb + 2u * st + c4];
      let e3 = vsm[tb + 3u * st + c4];
      let u0 = v_get(vb, v0 + c4);
      let u1 = v_get(vb, v1 + c4);
      let u2 = v_get(vb, v2 + c4);
      let u3 = v_get(vb, v3 + c4);
      a0 += vec4<f32>(dot(u0, e0), dot(u0, e1), dot(u0, e2), dot(u0, e3));
      a1 += vec4<f32>(dot(u1, e0), dot(u1, e1), dot(u1, e2), dot(u1, e3));
      a2 += vec4<f32>(dot(u2, e0), dot(u2, e1), dot(u2, e2), dot(u2, e3));
      a3 += vec4<f32>(dot(u3, e0), dot(u3, e1), dot(u3, e2), dot(u3, e3));
    }
    add_block(acc, j0, a0, a1, a2, a3);
  }
}

// The K×d4 matrix (forward: z; backward: u, then du, then dz): workgroup memory, or this
// sample's rows of vglobal when it does not fit.
fn v_get(vb: u32, o: u32) -> vec4<f32> {
  if (V_SHARED) {
    return vsm[p.off_v + o];
  }
  return vglobal[vb + o];
}

fn v_set(vb: u32, o: u32, value: vec4<f32>) {
  if (V_SHARED) {
    vsm[p.off_v + o] = value;
  } else {
    vglobal[vb + o] = value;
  }
}

fn sync_all() {
  storageBarrier();
  workgroupBarrier();
}

// ---------------------------------------------------------------------------------------------
// Forward

// z[j, :] = Σ_{i < len} w[j, i] ê_i for active j -> z state of slice s and the K×d4 matrix.
fn accumulate_z(b: u32, s: u32, len: u32, kb: u32, whole: bool, t: u32) {
  let zb = z_base(b, s);
  let vb = b * p.k_max * p.width4;
  for (var cb = 0u; cb < p.width4; cb += WG) {
    let col = cb + t;
    var acc = array<f32, ACC>();
    for (var i0 = 0u; i0 < len; i0 += p.chunk) {
      let n = min(p.chunk, len - i0);
      workgroupBarrier();
      if (!whole) {
        load_tile(b, i0, n, t);
      }
      load_weights(b, s, i0, n, kb, t);
      workgroupBarrier();
      if (col < p.width4) {
        accumulate_rows(&acc, n, col, kb);
      }
    }
    if (col < p.width4) {
      for (var j = 0u; j < kb; j++) {
        let z = vec4<f32>(acc[4u * j], acc[4u * j + 1u], acc[4u * j + 2u], acc[4u * j + 3u]);
        zstate[zb + j * p.width4 + col] = z;
        v_set(vb, j * p.width4 + col, z);
      }
    }
  }
  sync_all();
}

// b_out[j, i] = b_in[j, i] + u_j·ê_i for active j, valid i. The K×d4 matrix is turned from z
// into u = f z first: z_j·ê_i itself overflows for behaviours near 1e20 (|z|, |ê| ~ 1e20), while
// |u_j| ≤ 1 keeps u_j·ê_i within |ê_i|. The forward's output reads z from the last iteration's
// accumulate_z, which overwrites the matrix.
fn update_logits(b: u32, s_in: u32, s_out: u32, len: u32, kb: u32, whole: bool, t: u32) {
  let vb = b * p.k_max * p.width4;
  for (var o = t; o < kb * p.width4; o += WG) {
    v_set(vb, o, stat(ST_F, o / p.width4) * v_get(vb, o));
  }
  sync_all();
  for (var i0 = 0u; i0 < len; i0 += p.chunk) {
    let n = min(p.chunk, len - i0);
    if (!whole) {
      workgroupBarrier();
      load_tile(b, i0, n, t);
      workgroupBarrier();
    }
    for (var i4 = t; i4 < (n + 3u) / 4u; i4 += WG) {
      var acc = array<f32, ACC>();
      row_dots(&acc, i4, kb, vb);
      // Rows past n (up to the vec4) are padding: their tile rows are zero, so is their update.
      for (var j = 0u; j < kb; j++) {
        let delta = vec4<f32>(acc[4u * j], acc[4u * j + 1u], acc[4u * j + 2u], acc[4u * j + 3u]);
        logits[logit4_index(b, s_out, j, i0 / 4u + i4)] = logits[logit4_index(b, s_in, j, i0 / 4u + i4)] + delta;
      }
    }
  }
}

// One workgroup per sample: initial logits, R routing iterations, U[b] = [u_j; zeros].
@compute @workgroup_size(WG)
fn route_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                 @builtin(local_invocation_index) t: u32) {
  let b = wid.x + wid.y * nwg.x;
  if (b >= p.batch) {
    return;
  }
  let len = sample_length(b);
  let kb = active_interests(len);
  let whole = p.chunk >= len;
  if (len > 0u) {
    // Initial logits, four rows per vec4; rows past len repeat row len-1 (finite, and every
    // reader masks them).
    let n4 = (len + 3u) / 4u;
    for (var idx = t; idx < kb * n4; idx += WG) {
      let j = idx / n4;
      let i4 = idx % n4;
      var x = vec4<f32>(0.0);
      for (var q = 0u; q < 4u; q++) {
        let i = min(4u * i4 + q, len - 1u);
        if ((p.flags & FLAG_INIT) != 0u) {
          x[q] = init_logits[(b * p.k_max + j) * p.length + i];
        } else {
          x[q] = initial_logit(b, j, i);
        }
      }
      logits[logit4_index(b, 0u, j, i4)] = x;
    }
    if (whole) {
      load_tile(b, 0u, len, t);
    }
    for (var r = 0u; r < p.iterations; r++) {
      let s = slice_of(r);
      storageBarrier();
      if ((p.flags & FLAG_BEHAVIORS) != 0u) {
        row_stats(b, s, len, kb, t);
      }
      accumulate_z(b, s, len, kb, whole, t);
      squash_norms(b, s, kb, t);
      if (r + 1u < p.iterations) {
        update_logits(b, s, slice_of(r + 1u), len, kb, whole, t);
      }
    }
  }
  let vb = b * p.k_max * p.width4;
  let ob = b * p.k_max * p.width;
  for (var o = t; o < p.k_max * p.width; o += WG) {
    let j = o / p.width;
    let c = o % p.width;
    var u = 0.0;
    if (len > 0u && j < kb) {
      u = stat(ST_F, j) * v_get(vb, j * p.width4 + c / 4u)[c % 4u];
    }
    out[ob + o] = u;
  }
}

// ---------------------------------------------------------------------------------------------
// Backward

// dÊ[i0 + ii, :] += Σ_j m[j, ii] v_j for the tile's rows, m the [K, chunk/4] matrix at off_w.
// One thread per (four rows, vec4 column), each owning its outputs.
fn add_to_dehat(b: u32, i0: u32, n: u32, kb: u32, t: u32, vb: u32) {
  let mw = p.chunk / 4u;
  let eb = (b * p.length + i0) * p.width4;
  for (var idx = t; idx < ((n + 3u) / 4u) * p.width4; idx += WG) {
    let i4 = idx / p.width4;
    let c4 = idx % p.width4;
    var o0 = vec4<f32>(0.0);
    var o1 = vec4<f32>(0.0);
    var o2 = vec4<f32>(0.0);
    var o3 = vec4<f32>(0.0);
    for (var j = 0u; j < kb; j++) {
      let m = vsm[p.off_w + j * mw + i4];
      let v = v_get(vb, j * p.width4 + c4);
      o0 += m.x * v;
      o1 += m.y * v;
      o2 += m.z * v;
      o3 += m.w * v;
    }
    let row = eb + 4u * i4 * p.width4 + c4;
    grad_ehat[row] += o0;
    if (4u * i4 + 1u < n) {
      grad_ehat[row + p.width4] += o1;
    }
    if (4u * i4 + 2u < n) {
      grad_ehat[row + 2u * p.width4] += o2;
    }
    if (4u * i4 + 3u < n) {
      grad_ehat[row + 3u * p.width4] += o3;
    }
  }
}

// With g = the logits gradient of iteration s+1 (b_{s+1} = b_s + u_s Êᵀ) and V = u_s:
// dÊ_i += Σ_j g[j, i] u_j, then V = du_s = g·Ê.
fn logits_grad_pass(b: u32, len: u32, kb: u32, whole: bool, t: u32, vb: u32) {
  let mw = p.chunk / 4u;
  for (var cb = 0u; cb < p.width4; cb += WG) {
    let col = cb + t;
    var acc = array<f32, ACC>();
    for (var i0 = 0u; i0 < len; i0 += p.chunk) {
      let n = min(p.chunk, len - i0);
      let n4 = (n + 3u) / 4u;
      workgroupBarrier();
      if (!whole) {
        load_tile(b, i0, n, t);
      }
      for (var idx = t; idx < kb * n4; idx += WG) {
        let j = idx / n4;
        let i4 = idx % n4;
        vsm[p.off_w + j * mw + i4] = select(vec4<f32>(0.0), grad_logits[grad_logit4_index(b, j, i0 / 4u + i4)], rows_valid(4u * i4, n));
      }
      workgroupBarrier();
      if (cb == 0u) {
        add_to_dehat(b, i0, n, kb, t, vb);
      }
      if (col < p.width4) {
        accumulate_rows(&acc, n, col, kb);
      }
    }
    sync_all();
    if (col < p.width4) {
      for (var j = 0u; j < kb; j++) {
        v_set(vb, j * p.width4 + col, vec4<f32>(acc[4u * j], acc[4u * j + 1u], acc[4u * j + 2u], acc[4u * j + 3u]));
      }
    }
  }
  sync_all();
}

// V = du -> dz = f du + g (ẑ·du) ẑ (per active j, ẑ = z/‖z‖ of slice s).
fn squash_backward(b: u32, s: u32, kb: u32, t: u32, vb: u32) {
  let lanes = lanes_per_interest(kb);
  let j = min(t / lanes, kb - 1u);
  let lane = t % lanes;
  let zb = z_base(b, s);
  let inv_norm = select(0.0, 1.0 / stat(ST_NORM, j), stat(ST_NORM, j) > 0.0);
  var acc = 0.0;
  for (var c4 = lane; c4 < p.width4; c4 += lanes) {
    acc += dot(zstate[zb + j * p.width4 + c4] * inv_norm, v_get(vb, j * p.width4 + c4));
  }
  let total = group_reduce(t, lanes, OP_SUM, vec2<f32>(acc, 0.0));
  if (lane == 0u && t / lanes < kb) {
    set_stat(ST_DOT, j, total.x);
  }
  workgroupBarrier();
  for (var o = t; o < kb * p.width4; o += WG) {
    let jj = o / p.width4;
    let zhat = zstate[zb + o] * select(0.0, 1.0 / stat(ST_NORM, jj), stat(ST_NORM, jj) > 0.0);
    v_set(vb, o, stat(ST_F, jj) * v_get(vb, o) + (stat(ST_G, jj) * stat(ST_DOT, jj)) * zhat);
  }
  sync_all();
}

// With V = dz_s: dÊ_i += Σ_j w_s[j, i] dz_j; and unless s is the first saved slice, the softmax
// backward: dw[j, i] = dz_j·ê_i, db = w (dw - Σ w dw) (sum over j or over i by mode), added into
// the logits gradient (which it initialises at the last slice).
fn weights_grad_pass(b: u32, s: u32, len: u32, kb: u32, whole: bool, t: u32, vb: u32) {
  let mw = p.chunk / 4u;
  let to_logits = s > 0u;
  let first = s + 1u == p.slices;
  let behaviors = (p.flags & FLAG_BEHAVIORS) != 0u;
  for (var j = 0u; j < KMAX; j++) {
    tpart[j * WG + t] = 0.0;
  }
  for (var i0 = 0u; i0 < len; i0 += p.chunk) {
    let n = min(p.chunk, len - i0);
    workgroupBarrier();
    if (to_logits && !whole) {
      load_tile(b, i0, n, t);
    }
    load_weights(b, s, i0, n, kb, t);
    workgroupBarrier();
    add_to_dehat(b, i0, n, kb, t, vb);
    if (to_logits) {
      for (var i4 = t; i4 < (n + 3u) / 4u; i4 += WG) {
        // pw[j] = w ⊙ dw over four rows (w is zero on padded rows).
        var pw = array<f32, ACC>();
        row_dots(&pw, i4, kb, vb);
        var total = vec4<f32>(0.0);
        for (var j = 0u; j < kb; j++) {
          total += vec4<f32>(pw[4u * j], pw[4u * j + 1u], pw[4u * j + 2u], pw[4u * j + 3u]) * vsm[p.off_w + j * mw + i4];
        }
        for (var j = 0u; j < kb; j++) {
          var db = vec4<f32>(pw[4u * j], pw[4u * j + 1u], pw[4u * j + 2u], pw[4u * j + 3u]) * vsm[p.off_w + j * mw + i4];
          if (behaviors) {
            tpart[j * WG + t] += db.x + db.y + db.z + db.w;
          } else {
            db -= vsm[p.off_w + j * mw + i4] * total;
          }
          // Rows past n get db = 0 (their w is zero).
          let gi = grad_logit4_index(b, j, i0 / 4u + i4);
          grad_logits[gi] = select(grad_logits[gi], vec4<f32>(0.0), first) + db;
        }
      }
    }
  }
  if (to_logits && behaviors) {
    workgroupBarrier();
    if (t < kb) {
      var total = 0.0;
      for (var lane = 0u; lane < WG; lane++) {
        total += tpart[t * WG + lane];
      }
      set_stat(ST_T, t, total);
    }
    sync_all();
    let n4 = (len + 3u) / 4u;
    for (var idx = t; idx < kb * n4; idx += WG) {
      let j = idx / n4;
      let i4 = idx % n4;
      let w = exp(logits[logit4_index(b, s, j, i4)] - stat(ST_MAX, j)) * stat(ST_INV_SUM, j);
      grad_logits[grad_logit4_index(b, j, i4)] -= select(vec4<f32>(0.0), w, rows_valid(4u * i4, len)) * stat(ST_T, j);
    }
  }
}

// One workgroup per sample: dÊ[b] (padded rows) from dU[b] through the saved slices, last to
// first.
@compute @workgroup_size(WG)
fn route_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
                  @builtin(local_invocation_index) t: u32) {
  let b = wid.x + wid.y * nwg.x;
  if (b >= p.batch) {
    return;
  }
  let len = sample_length(b);
  let kb = active_interests(len);
  let whole = p.chunk >= len;
  let eb = b * p.length * p.width4;
  for (var idx = t; idx < p.length * p.width4; idx += WG) {
    grad_ehat[eb + idx] = vec4<f32>(0.0);
  }
  if (len == 0u) {
    return;
  }
  let vb = b * p.k_max * p.width4;
  if (whole && p.slices > 1u) {
    load_tile(b, 0u, len, t);
  }
  for (var sl = p.slices; sl > 0u; sl--) {
    let s = sl - 1u;
    sync_all();
    if ((p.flags & FLAG_BEHAVIORS) != 0u) {
      row_stats(b, s, len, kb, t);
    }
    squash_norms(b, s, kb, t);
    if (s + 1u < p.slices) {
      let zb = z_base(b, s);
      for (var o = t; o < kb * p.width4; o += WG) {
        v_set(vb, o, stat(ST_F, o / p.width4) * zstate[zb + o]);
      }
      sync_all();
      logits_grad_pass(b, len, kb, whole, t, vb);
    } else {
      let gb = b * p.k_max * p.width;
      for (var o = t; o < kb * p.width4; o += WG) {
        let j = o / p.width4;
        let c = 4u * (o % p.width4);
        var du = vec4<f32>(0.0);
        for (var q = 0u; q < 4u; q++) {
          if (c + q < p.width) {
            du[q] = grad_u[gb + j * p.width + c + q];
          }
        }
        v_set(vb, o, du);
      }
      sync_all();
    }
    squash_backward(b, s, kb, t, vb);
    weights_grad_pass(b, s, len, kb, whole, t, vb);
  }
}

// ---------------------------------------------------------------------------------------------
// Initial logits alone: out[b, j, i] = initial_logit(b, j, i), exactly the values route_forward
// draws with the same seed and FLAG_SHARED_DRAW. For tests against the reference and for
// callers who want to pass the same draw as explicit initial logits.
@compute @workgroup_size(WG)
fn sample_logits(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= p.batch * p.k_max * p.length) {
    return;
  }
  let i = idx % p.length;
  let j = (idx / p.length) % p.k_max;
  let b = idx / (p.length * p.k_max);
  out[idx] = initial_logit(b, j, i);
}
