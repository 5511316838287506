// B2I dynamic routing (SPEC.md section 1), fused: forward, backward, and the projections
// around them. Compiled with kernels/rng.wgsl prepended (it provides rng_normal).
//
// Parallel decomposition, and why:
// - Ê = E·S, dE = dÊ·Sᵀ and dS = Eᵀ·dÊ are GEMMs over all B·L rows at once (`project`,
//   `input_grad`, `weight_grad`): batching every sample's rows keeps the work regular however
//   short the histories. dS is split over row ranges into partial sums that `reduce_parts`
//   adds in a fixed order: deterministic, no float atomics.
// - Routing: one workgroup of 64 threads per sample runs all R iterations (`route_forward`) or
//   the whole backward (`route_backward`), so the dispatch count does not depend on R. The
//   iterations are sequential and each needs every behaviour of the sample, and one sample's
//   step (K·L·d multiply-adds) is a workgroup's worth of work, not a grid's.
// - Inside a step every thread owns outputs and loops over the reduction axis with 4-wide
//   vector loads and several accumulators in registers, because loads, not arithmetic, bound
//   these kernels (on CPU Vulkan each one is a gather over the SIMD lanes; on a GPU they are
//   memory traffic): z[j, :] = Σ_i w[j, i] ê_i by (vec4 column, interest group) over rows four
//   at a time; the logit update b[j, i] += u_j·ê_i by behaviour i over vec4 columns, all K
//   interests in registers; dÊ by (vec4 column, row group) over interests. Per-interest
//   reductions (row softmax, ‖z_j‖) use power-of-two lane groups and a tree in workgroup
//   memory. No subgroup operations, so no assumption about the subgroup size.
// - Rows of Ê, z and their gradients are padded to d4 = ceil(d/4) vec4s (zeros) inside the op.
// - Workgroup memory (`vsm`, vec4s carved at offsets the host computes from the device limit):
//   a tile of Ê rows, the routing weights of those rows (vec4 over four rows), the K×d4 matrix
//   (z, u or gradients). When the whole sample's Ê fits it is loaded once; otherwise it is
//   streamed in chunks of rows from the global Ê (an extra L·d reads per pass against K·L·d
//   multiply-adds). When even the K×d4 matrix does not fit (V_SHARED = false) it stays global.
// - Logits live in global memory, one [K, L] slice per saved iteration: the forward keeps the
//   last iteration's logits and z (stop gradient) or every iteration's (full gradient), which
//   is all the backward needs to rebuild the routing weights; the random initial logits are
//   never stored separately.
//
// Numerics: softmaxes subtract the max; ‖z‖ is a scaled sum of squares (no overflow while z is
// finite); squash uses f = q/((1+q)·sqrt(q+1e-9)) in a form that stays finite for huge q.
//
// Every function-scope var has an explicit initializer: declared without one inside a loop,
// Dawn's SPIR-V (as naga's, gfx-rs/wgpu#9489) zeroes it once per invocation, not per iteration.
//
// Bindings: 0 route params, 1 lengths, 2 Ê, 3 initial logits, 4 logits state, 5 z state,
// 6 K×d4 matrix fallback, 7 f32 output, 8 upstream gradient dU, 9 logits gradient,
// 10 gemm params, 11/12 gemm A/B as f32, 13 vec4 output, 14/15 gemm A/B as vec4.

const WG: u32 = 64u;
const KMAX: u32 = 16u;
const MAX_F32: f32 = 0x1.fffffep+127f;

const FLAG_BEHAVIORS: u32 = 1u; // softmaxOver: 'behaviors'
const FLAG_DYNAMIC_K: u32 = 2u;
const FLAG_INIT: u32 = 4u;      // initial logits given (binding 3)

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
// GEMMs: whether A (E) rows and S rows are vec4-aligned (dIn % 4 == 0, d % 4 == 0).
override A_VEC4: bool = false;
override S_VEC4: bool = false;

struct RouteParams {
  batch: u32,
  length: u32,     // L
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

struct GemmParams {
  m: u32,          // rows of E / Ê (B·L)
  k: u32,          // dIn
  n: u32,          // d
  n4: u32,         // d4
  m_chunk: u32,    // weight_grad: rows per partial sum
  parts: u32,      // number of partial sums
}

@group(0) @binding(0) var<uniform> p: RouteParams;
@group(0) @binding(1) var<storage, read> lengths: array<i32>;             // [B]
@group(0) @binding(2) var<storage, read> ehat: array<vec4<f32>>;          // [B, L, d4]
@group(0) @binding(3) var<storage, read> init_logits: array<f32>;         // [B, K, L]
@group(0) @binding(4) var<storage, read_write> logits: array<f32>;        // [B, slices, K, L]
@group(0) @binding(5) var<storage, read_write> zstate: array<vec4<f32>>;  // [B, slices, K, d4]
@group(0) @binding(6) var<storage, read_write> vglobal: array<vec4<f32>>; // [B, K, d4]
@group(0) @binding(7) var<storage, read_write> out: array<f32>;
@group(0) @binding(8) var<storage, read> grad_u: array<f32>;              // [B, K, d]
@group(0) @binding(9) var<storage, read_write> grad_logits: array<f32>;   // [B, K, L]
@group(0) @binding(10) var<uniform> gp: GemmParams;
@group(0) @binding(11) var<storage, read> mat_a: array<f32>;
@group(0) @binding(12) var<storage, read> mat_b: array<f32>;
@group(0) @binding(13) var<storage, read_write> out4: array<vec4<f32>>;
@group(0) @binding(14) var<storage, read> mat_a4: array<vec4<f32>>;
@group(0) @binding(15) var<storage, read> mat_b4: array<vec4<f32>>;

var<workgroup> vsm: array<vec4<f32>, SMEM4>;
var<workgroup> fsm: array<f32, 256>;
var<workgroup> tpart: array<f32, 1024>; // route_backward: [KMAX, WG] per-thread partial sums

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

fn logit_index(b: u32, s: u32, j: u32, i: u32) -> u32 {
  return ((b * p.slices + s) * p.k_max + j) * p.length + i;
}

fn z_base(b: u32, s: u32) -> u32 {
  return (b * p.slices + s) * p.k_max * p.width4;
}

fn grad_logit_index(b: u32, j: u32, i: u32) -> u32 {
  return (b * p.k_max + j) * p.length + i;
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

// Associative combines on pairs: OP_SUM (x, -); OP_NORM (scale, ssq) with ‖·‖ = scale·sqrt(ssq),
// (0, 0) empty; OP_LOGSUMEXP (max, Σ exp(x - max)), sum 0 empty.
fn combine(op: u32, a: vec2<f32>, b: vec2<f32>) -> vec2<f32> {
  switch (op) {
    case OP_NORM: {
      let hi = select(a, b, b.x > a.x);
      let lo = select(b, a, b.x > a.x);
      if (hi.x == 0.0) {
        return vec2<f32>(0.0);
      }
      let r = lo.x / hi.x;
      return vec2<f32>(hi.x, hi.y + lo.y * r * r);
    }
    case OP_LOGSUMEXP: {
      if (a.y == 0.0) {
        return b;
      }
      if (b.y == 0.0) {
        return a;
      }
      let m = max(a.x, b.x);
      return vec2<f32>(m, a.y * exp(a.x - m) + b.y * exp(b.x - m));
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
  for (var idx = t; idx < padded * p.width4; idx += WG) {
    let ii = idx / p.width4;
    var e = vec4<f32>(0.0);
    if (ii < n) {
      e = ehat[base + idx];
    }
    vsm[ii * p.stride + idx % p.width4] = e;
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
      var w = vec4<f32>(0.0);
      for (var q = 0u; q < 4u; q++) {
        let ii = 4u * i4 + q;
        if (ii < n) {
          w[q] = exp(logits[logit_index(b, s, j, i0 + ii)] - stat(ST_MAX, j)) * stat(ST_INV_SUM, j);
        }
      }
      vsm[p.off_w + j * c4 + i4] = w;
    }
    return;
  }
  for (var i4 = t; i4 < n4; i4 += WG) {
    var m = vec4<f32>(-MAX_F32);
    for (var j = 0u; j < kb; j++) {
      for (var q = 0u; q < 4u; q++) {
        let ii = min(4u * i4 + q, n - 1u);
        m[q] = max(m[q], logits[logit_index(b, s, j, i0 + ii)]);
      }
    }
    var sum = vec4<f32>(0.0);
    for (var j = 0u; j < kb; j++) {
      var e = vec4<f32>(0.0);
      for (var q = 0u; q < 4u; q++) {
        let ii = min(4u * i4 + q, n - 1u);
        e[q] = exp(logits[logit_index(b, s, j, i0 + ii)] - m[q]);
      }
      vsm[p.off_w + j * c4 + i4] = e;
      sum += e;
    }
    var inv = 1.0 / sum;
    for (var q = 0u; q < 4u; q++) {
      if (4u * i4 + q >= n) {
        inv[q] = 0.0;
      }
    }
    for (var j = 0u; j < kb; j++) {
      vsm[p.off_w + j * c4 + i4] *= inv;
    }
  }
}

// Softmax over behaviours: per active j, max and 1/Σexp over valid i of slice s -> stats.
fn row_stats(b: u32, s: u32, len: u32, kb: u32, t: u32) {
  let lanes = lanes_per_interest(kb);
  let j = t / lanes;
  let lane = t % lanes;
  var acc = vec2<f32>(0.0);
  if (j < kb) {
    for (var i = lane; i < len; i += lanes) {
      acc = combine(OP_LOGSUMEXP, acc, vec2<f32>(logits[logit_index(b, s, j, i)], 1.0));
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
  let zb = z_base(b, s) + j * p.width4;
  var acc = vec2<f32>(0.0);
  if (j < kb) {
    for (var c4 = lane; c4 < p.width4; c4 += lanes) {
      acc = combine_norm4(acc, zstate[zb + c4]);
    }
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

// acc[jj] += Σ_{rows of the tile} m[j, i] ê[i, c4] for j = g + groups*jj, where m is the
// [K, chunk/4] vec4 matrix at off_w (routing weights or logits gradients) and rows go four at a
// time. Threads are (vec4 column c4, interest group g); the caller clamps c4 and drops
// out-of-range j when it stores.
fn accumulate_rows(acc: ptr<function, array<vec4<f32>, KMAX>>, n: u32, c4: u32, g: u32, groups: u32, jpl: u32) {
  let cw = p.chunk / 4u;
  let st = p.stride;
  for (var i4 = 0u; i4 < (n + 3u) / 4u; i4++) {
    let tb = 4u * i4 * st + c4;
    let e0 = vsm[tb];
    let e1 = vsm[tb + st];
    let e2 = vsm[tb + 2u * st];
    let e3 = vsm[tb + 3u * st];
    for (var jj = 0u; jj < jpl; jj++) {
        let w = vsm[p.off_w + min(g + groups * jj, p.k_max - 1u) * cw + i4];
        (*acc)[jj] += w.x * e0 + w.y * e1 + w.z * e2 + w.w * e3;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Forward

// z of the forward's K×d4 matrix: workgroup memory, or the z state of the slice.
fn z_get(zb: u32, o: u32) -> vec4<f32> {
  if (V_SHARED) {
    return vsm[p.off_v + o];
  }
  return zstate[zb + o];
}

// z[j, :] = Σ_{i < len} w[j, i] ê_i for active j -> z state of slice s (and vsm when V_SHARED).
fn accumulate_z(b: u32, s: u32, len: u32, kb: u32, whole: bool, t: u32) {
  let zb = z_base(b, s);
  let cw = min(p.width4, WG);
  let groups = WG / cw;
  let g = t / cw;
  let jpl = (kb + groups - 1u) / groups;
  for (var cb = 0u; cb < p.width4; cb += cw) {
    let col = cb + t % cw;
    let c4 = min(col, p.width4 - 1u);
    var acc = array<vec4<f32>, KMAX>();
    for (var i0 = 0u; i0 < len; i0 += p.chunk) {
      let n = min(p.chunk, len - i0);
      workgroupBarrier();
      if (!whole) {
        load_tile(b, i0, n, t);
      }
      load_weights(b, s, i0, n, kb, t);
      workgroupBarrier();
      accumulate_rows(&acc, n, c4, g, groups, jpl);
    }
    if (g < groups && col < p.width4) {
      for (var jj = 0u; jj < jpl; jj++) {
        let j = g + groups * jj;
        if (j < kb) {
          zstate[zb + j * p.width4 + c4] = acc[jj];
          if (V_SHARED) {
            vsm[p.off_v + j * p.width4 + c4] = acc[jj];
          }
        }
      }
    }
  }
  storageBarrier();
  workgroupBarrier();
}

// b_out[j, i] = b_in[j, i] + f_j z_j·ê_i for active j, valid i; one thread per behaviour, all
// interests in registers.
fn update_logits(b: u32, s_in: u32, s_out: u32, len: u32, kb: u32, whole: bool, t: u32) {
  let zb = z_base(b, s_in);
  for (var i0 = 0u; i0 < len; i0 += p.chunk) {
    let n = min(p.chunk, len - i0);
    if (!whole) {
      workgroupBarrier();
      load_tile(b, i0, n, t);
      workgroupBarrier();
    }
    for (var ib = 0u; ib < n; ib += WG) {
      let tb = min(ib + t, n - 1u) * p.stride;
      var acc = array<f32, KMAX>();
      for (var c4 = 0u; c4 < p.width4; c4++) {
        let e = vsm[tb + c4];
        for (var j = 0u; j < kb; j++) {
            acc[j] += dot(z_get(zb, j * p.width4 + c4), e);
        }
      }
      if (ib + t < n) {
        let i = i0 + ib + t;
        for (var j = 0u; j < kb; j++) {
          logits[logit_index(b, s_out, j, i)] = logits[logit_index(b, s_in, j, i)] + stat(ST_F, j) * acc[j];
        }
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
    let first = logit_index(b, 0u, 0u, 0u);
    for (var idx = t; idx < kb * len; idx += WG) {
      let j = idx / len;
      let i = idx % len;
      var x = 0.0;
      if ((p.flags & FLAG_INIT) != 0u) {
        x = init_logits[(b * p.k_max + j) * p.length + i];
      } else {
        x = p.init_std * rng_normal(vec4<u32>(i, j, b, 0u), vec2<u32>(p.seed_lo, p.seed_hi));
      }
      logits[first + j * p.length + i] = x;
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
  let zb = z_base(b, slice_of(p.iterations - 1u));
  let ob = b * p.k_max * p.width;
  for (var o = t; o < p.k_max * p.width; o += WG) {
    let j = o / p.width;
    let c = o % p.width;
    var u = 0.0;
    if (len > 0u && j < kb) {
      u = stat(ST_F, j) * z_get(zb, j * p.width4 + c / 4u)[c % 4u];
    }
    out[ob + o] = u;
  }
}

// ---------------------------------------------------------------------------------------------
// Backward

// The backward's K×d4 matrix (u, then du, then dz): workgroup memory or this sample's rows of
// vglobal.
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

// dÊ[i0 + ii, :] += Σ_j m[j, ii] v_j for the tile's rows, m the [K, chunk/4] matrix at off_w.
// Threads are (vec4 column, group of four rows); each thread owns its outputs.
fn add_to_dehat(b: u32, i0: u32, n: u32, kb: u32, t: u32, vb: u32) {
  let cw = min(p.width4, WG);
  let groups = WG / cw;
  let g = t / cw;
  let mw = p.chunk / 4u;
  let eb = (b * p.length + i0) * p.width4;
  if (g >= groups) {
    return;
  }
  for (var cb = 0u; cb < p.width4; cb += cw) {
    let c4 = cb + t % cw;
    if (c4 < p.width4) {
      for (var i4 = g; i4 < (n + 3u) / 4u; i4 += groups) {
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
        let row = 4u * i4;
        out4[eb + row * p.width4 + c4] += o0;
        if (row + 1u < n) {
          out4[eb + (row + 1u) * p.width4 + c4] += o1;
        }
        if (row + 2u < n) {
          out4[eb + (row + 2u) * p.width4 + c4] += o2;
        }
        if (row + 3u < n) {
          out4[eb + (row + 3u) * p.width4 + c4] += o3;
        }
      }
    }
  }
}

// With g = the logits gradient of iteration s+1 (b_{s+1} = b_s + u_s Êᵀ) and V = u_s:
// dÊ_i += Σ_j g[j, i] u_j, then V = du_s = g·Ê.
fn logits_grad_pass(b: u32, len: u32, kb: u32, whole: bool, t: u32, vb: u32) {
  let cw = min(p.width4, WG);
  let groups = WG / cw;
  let g = t / cw;
  let jpl = (kb + groups - 1u) / groups;
  let mw = p.chunk / 4u;
  for (var cb = 0u; cb < p.width4; cb += cw) {
    let col = cb + t % cw;
    let c4 = min(col, p.width4 - 1u);
    var acc = array<vec4<f32>, KMAX>();
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
        var m = vec4<f32>(0.0);
        for (var q = 0u; q < 4u; q++) {
          if (4u * i4 + q < n) {
            m[q] = grad_logits[grad_logit_index(b, j, i0 + 4u * i4 + q)];
          }
        }
        vsm[p.off_w + j * mw + i4] = m;
      }
      workgroupBarrier();
      if (cb == 0u) {
        add_to_dehat(b, i0, n, kb, t, vb);
      }
      accumulate_rows(&acc, n, c4, g, groups, jpl);
    }
    sync_all();
    if (g < groups && col < p.width4) {
      for (var jj = 0u; jj < jpl; jj++) {
        let j = g + groups * jj;
        if (j < kb) {
          v_set(vb, j * p.width4 + c4, acc[jj]);
        }
      }
    }
  }
  sync_all();
}

// V = du -> dz = f du + g (ẑ·du) ẑ (per active j, ẑ = z/‖z‖ of slice s).
fn squash_backward(b: u32, s: u32, kb: u32, t: u32, vb: u32) {
  let lanes = lanes_per_interest(kb);
  let j = t / lanes;
  let lane = t % lanes;
  let zb = z_base(b, s);
  var acc = 0.0;
  if (j < kb) {
    let n = stat(ST_NORM, j);
    if (n > 0.0) {
      for (var c4 = lane; c4 < p.width4; c4 += lanes) {
        acc += dot(zstate[zb + j * p.width4 + c4] / n, v_get(vb, j * p.width4 + c4));
      }
    }
  }
  let total = group_reduce(t, lanes, OP_SUM, vec2<f32>(acc, 0.0));
  if (lane == 0u && j < kb) {
    set_stat(ST_DOT, j, total.x);
  }
  workgroupBarrier();
  for (var o = t; o < kb * p.width4; o += WG) {
    let jj = o / p.width4;
    let n = stat(ST_NORM, jj);
    var zhat = vec4<f32>(0.0);
    if (n > 0.0) {
      zhat = zstate[zb + o] / n;
    }
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
      // One thread per behaviour, all interests in registers.
      for (var ib = 0u; ib < n; ib += WG) {
        let ii = min(ib + t, n - 1u);
        let tb = ii * p.stride;
        var dw = array<f32, KMAX>();
        for (var c4 = 0u; c4 < p.width4; c4++) {
          let e = vsm[tb + c4];
          for (var j = 0u; j < kb; j++) {
              dw[j] += dot(v_get(vb, j * p.width4 + c4), e);
          }
        }
        if (ib + t < n) {
          var pw = array<f32, KMAX>();
          var total = 0.0;
          for (var j = 0u; j < kb; j++) {
            pw[j] = vsm[p.off_w + j * mw + ii / 4u][ii % 4u] * dw[j];
            total += pw[j];
          }
          for (var j = 0u; j < kb; j++) {
            let gi = grad_logit_index(b, j, i0 + ii);
            var db = pw[j];
            if (behaviors) {
              tpart[j * WG + t] += pw[j];
            } else {
              db -= vsm[p.off_w + j * mw + ii / 4u][ii % 4u] * total;
            }
            grad_logits[gi] = select(grad_logits[gi], 0.0, first) + db;
          }
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
    for (var idx = t; idx < kb * len; idx += WG) {
      let j = idx / len;
      let i = idx % len;
      let wji = exp(logits[logit_index(b, s, j, i)] - stat(ST_MAX, j)) * stat(ST_INV_SUM, j);
      grad_logits[grad_logit_index(b, j, i)] -= wji * stat(ST_T, j);
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
    out4[eb + idx] = vec4<f32>(0.0);
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
// Initial logits alone: out[b, j, i] = init_std · N(0, 1) keyed by (seed, b, j, i), exactly the
// values route_forward draws. For tests against the reference and for callers who want to
// pass the same draw as explicit initial logits.
@compute @workgroup_size(WG)
fn sample_logits(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= p.batch * p.k_max * p.length) {
    return;
  }
  let i = idx % p.length;
  let j = (idx / p.length) % p.k_max;
  let b = idx / (p.length * p.k_max);
  out[idx] = p.init_std * rng_normal(vec4<u32>(i, j, b, 0u), vec2<u32>(p.seed_lo, p.seed_hi));
}

// ---------------------------------------------------------------------------------------------
// Projections. A = E [m, k] (mat_a / mat_a4), S [k, n] (mat_b / mat_b4), Ê and dÊ [m, n4] vec4.
// Each thread keeps 8 rows × one vec4 of outputs in registers.

// E[row, 4 k4 .. 4 k4 + 3], zeros past k.
fn a_vec(row: u32, k4: u32) -> vec4<f32> {
  if (A_VEC4) {
    return mat_a4[row * (gp.k / 4u) + k4];
  }
  var v = vec4<f32>(0.0);
  for (var q = 0u; q < 4u; q++) {
    if (4u * k4 + q < gp.k) {
      v[q] = mat_a[row * gp.k + 4u * k4 + q];
    }
  }
  return v;
}

// S[kk, 4 c4 .. 4 c4 + 3], zeros past n and for kk past k.
fn s_vec(kk: u32, c4: u32) -> vec4<f32> {
  if (!A_VEC4 && kk >= gp.k) {
    return vec4<f32>(0.0);
  }
  if (S_VEC4) {
    return mat_b4[kk * gp.n4 + c4];
  }
  var v = vec4<f32>(0.0);
  for (var q = 0u; q < 4u; q++) {
    if (4u * c4 + q < gp.n) {
      v[q] = mat_b[kk * gp.n + 4u * c4 + q];
    }
  }
  return v;
}

// Ê[m, c4] = Σ_k E[m, k] S[k, c4]; grid (ceil(n4/16), ceil(m/32)).
@compute @workgroup_size(16, 4)
fn project(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let col = wid.x * 16u + lid.x;
  let c4 = min(col, gp.n4 - 1u);
  let row0 = (wid.y * 4u + lid.y) * 8u;
  var acc = array<vec4<f32>, 8>();
  for (var k4 = 0u; k4 < (gp.k + 3u) / 4u; k4++) {
    let b0 = s_vec(4u * k4, c4);
    let b1 = s_vec(4u * k4 + 1u, c4);
    let b2 = s_vec(4u * k4 + 2u, c4);
    let b3 = s_vec(4u * k4 + 3u, c4);
    for (var r = 0u; r < 8u; r++) {
      let a = a_vec(min(row0 + r, gp.m - 1u), k4);
      acc[r] += a.x * b0 + a.y * b1 + a.z * b2 + a.w * b3;
    }
  }
  if (col < gp.n4) {
    for (var r = 0u; r < 8u; r++) {
      if (row0 + r < gp.m) {
        out4[(row0 + r) * gp.n4 + col] = acc[r];
      }
    }
  }
}

// dE[m, kk] = Σ_c4 dÊ[m, c4]·S[kk, c4] (mat_a4 = dÊ); one output column per thread, 8 rows;
// grid (ceil(k/64), ceil(m/8)).
@compute @workgroup_size(64)
fn input_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let col = wid.x * 64u + t;
  let kk = min(col, gp.k - 1u);
  let row0 = wid.y * 8u;
  var acc = array<f32, 8>();
  for (var c4 = 0u; c4 < gp.n4; c4++) {
    let s = s_vec(kk, c4);
    for (var r = 0u; r < 8u; r++) {
      acc[r] += dot(mat_a4[min(row0 + r, gp.m - 1u) * gp.n4 + c4], s);
    }
  }
  if (col < gp.k) {
    for (var r = 0u; r < 8u; r++) {
      if (row0 + r < gp.m) {
        out[(row0 + r) * gp.k + col] = acc[r];
      }
    }
  }
}

// Partial dS: out4[part, kk, c4] = Σ_{m in part} E[m, kk] dÊ[m, c4] (mat_b4 = dÊ); 8 rows kk
// per thread; grid (ceil(n4/16), ceil(k/32), parts).
@compute @workgroup_size(16, 4)
fn weight_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let col = wid.x * 16u + lid.x;
  let c4 = min(col, gp.n4 - 1u);
  let k0 = (wid.y * 4u + lid.y) * 8u;
  let m_begin = wid.z * gp.m_chunk;
  let m_end = min(gp.m, m_begin + gp.m_chunk);
  var acc = array<vec4<f32>, 8>();
  for (var m = m_begin; m < m_end; m++) {
    let g = mat_b4[m * gp.n4 + c4];
    let a0 = a_vec(m, k0 / 4u);
    let a1 = a_vec(m, k0 / 4u + 1u);
    acc[0] += a0.x * g;
    acc[1] += a0.y * g;
    acc[2] += a0.z * g;
    acc[3] += a0.w * g;
    acc[4] += a1.x * g;
    acc[5] += a1.y * g;
    acc[6] += a1.z * g;
    acc[7] += a1.w * g;
  }
  if (col < gp.n4) {
    for (var r = 0u; r < 8u; r++) {
      if (k0 + r < gp.k) {
        out4[(wid.z * gp.k + k0 + r) * gp.n4 + col] = acc[r];
      }
    }
  }
}

// dS[kk, c] = Σ_part partials[part, kk, c] (mat_a, f32 view of [parts, k, n4] vec4) in
// ascending part order, unpadded to [k, n].
@compute @workgroup_size(WG)
fn reduce_parts(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  if (idx >= gp.k * gp.n) {
    return;
  }
  let kk = idx / gp.n;
  let c = idx % gp.n;
  let stride = gp.k * gp.n4 * 4u;
  var sum = 0.0;
  for (var part = 0u; part < gp.parts; part++) {
    sum += mat_a[part * stride + kk * gp.n4 * 4u + c];
  }
  out[idx] = sum;
}
