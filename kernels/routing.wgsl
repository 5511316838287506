// B2I dynamic routing (SPEC.md section 1), fused: forward, backward, and the projections
// around them. Compiled with kernels/rng.wgsl prepended (it provides rng_normal).
//
// Parallel decomposition, and why:
// - Ê = E·S (and, backward, dE = dÊ·Sᵀ and dS = Eᵀ·dÊ) are plain GEMMs over all B·L rows at
//   once (`gemm`, 64×64 tiles, 4×4 outputs per thread): batching the rows of every sample keeps
//   the tiles full however short the histories are, and Ê lands in a global buffer the routing
//   kernels stream from. dS is split over row chunks into partial sums that `reduce_parts`
//   adds in a fixed order: deterministic, no float atomics.
// - Routing: one workgroup of 256 threads per sample runs all R iterations (`route_forward`)
//   or the whole backward (`route_backward`), so the dispatch count is independent of R. The
//   iterations are sequential and each needs every behaviour of the sample, and a sample's work
//   (K·L·d per step) is a few workgroups' worth, not a grid's. Threads split each step by its
//   output: z[j, c] (reduction over behaviours i) by (j, c); the logit update b[j, i] (dot over
//   c) by (j, i); softmax over interests by column i; per-interest reductions (softmax over
//   behaviours, ‖z_j‖) by power-of-two lane groups and a tree in workgroup memory. No subgroup
//   operations, so no assumption about the subgroup size.
// - Workgroup memory (`smem`, carved at offsets the host computes from the device limit):
//   a tile of Ê rows (row stride d|1 so that column walks do not hit one bank), the routing
//   weights of those rows, the K×d interest matrix (z, u, or gradients), reduction scratch.
//   When the whole sample's Ê fits it is loaded once; otherwise it is streamed in chunks of
//   rows from the global Ê (a few extra reads of L·d per pass against K·L·d multiply-adds).
//   When even the K×d matrix does not fit (V_SHARED = false) it lives in global memory.
// - Logits live in global memory, one [K, L] slice per saved iteration: the forward keeps the
//   last iteration's logits and z (stop gradient) or every iteration's (full gradient), which
//   is all the backward needs to rebuild the routing weights; the random initial logits are
//   never stored separately.
//
// Numerics: softmaxes subtract the max; ‖z‖ is a scaled sum of squares (no overflow while z is
// finite); squash uses f = q/((1+q)·sqrt(q+1e-9)) in a form that stays finite for huge q.
// Bindings: 0 route params, 1 lengths, 2 Ê, 3 initial logits, 4 logits state, 5 z state,
// 6 interest-matrix fallback, 7 output, 8 upstream gradient dU, 9 logits gradient,
// 10 gemm params, 11 gemm A, 12 gemm B.

const WG: u32 = 256u;
const ACC: u32 = 16u;          // register accumulators per thread per pass over the K×d outputs
const KMAX: u32 = 16u;
const MAX_F32: f32 = 0x1.fffffep+127f;

const FLAG_BEHAVIORS: u32 = 1u; // softmaxOver: 'behaviors'
const FLAG_DYNAMIC_K: u32 = 2u;
const FLAG_INIT: u32 = 4u;      // initial logits given (binding 3)

// Per-interest statistics, KMAX floats each, at p.off_stats.
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

// Floats of workgroup memory the routing entry points use (set per call by the host).
override SMEM: u32 = 1024u;
// Whether the K×d interest matrix is kept in workgroup memory.
override V_SHARED: bool = true;

struct RouteParams {
  batch: u32,
  length: u32,     // L
  width: u32,      // d
  k_max: u32,      // K
  iterations: u32, // R
  slices: u32,     // saved iterations: 1 (the last) or R
  chunk: u32,      // Ê rows per tile
  stride: u32,     // tile row stride, d | 1
  flags: u32,
  seed_lo: u32,
  seed_hi: u32,
  init_std: f32,
  off_w: u32,      // [K, chunk] routing weights (or logits gradients) of the tile's rows
  off_d: u32,      // [K, chunk] w·dw of the tile's rows (backward)
  off_v: u32,      // [K, d] interest matrix, when V_SHARED
  off_red: u32,    // [2, WG] reduction scratch
  off_stats: u32,  // [8, KMAX] per-interest statistics
}

struct GemmParams {
  m: u32,
  n: u32,
  k: u32,
  k_chunk: u32,    // reduction indices per z-slice of the grid (a partial sum each)
  trans_a: u32,    // A is stored [k, m] instead of [m, k]
  trans_b: u32,    // B is stored [n, k] instead of [k, n]
  parts: u32,      // reduce_parts: number of partial sums
}

@group(0) @binding(0) var<uniform> p: RouteParams;
@group(0) @binding(1) var<storage, read> lengths: array<i32>;           // [B]
@group(0) @binding(2) var<storage, read> ehat: array<f32>;              // [B, L, d]
@group(0) @binding(3) var<storage, read> init_logits: array<f32>;       // [B, K, L]
@group(0) @binding(4) var<storage, read_write> logits: array<f32>;      // [B, slices, K, L]
@group(0) @binding(5) var<storage, read_write> zstate: array<f32>;      // [B, slices, K, d]
@group(0) @binding(6) var<storage, read_write> vglobal: array<f32>;     // [B, K, d]
@group(0) @binding(7) var<storage, read_write> out: array<f32>;
@group(0) @binding(8) var<storage, read> grad_u: array<f32>;            // [B, K, d]
@group(0) @binding(9) var<storage, read_write> grad_logits: array<f32>; // [B, K, L]
@group(0) @binding(10) var<uniform> gp: GemmParams;
@group(0) @binding(11) var<storage, read> mat_a: array<f32>;
@group(0) @binding(12) var<storage, read> mat_b: array<f32>;

var<workgroup> smem: array<f32, SMEM>;
var<workgroup> tile_a: array<f32, 1024>; // gemm: [16 k][64 rows]
var<workgroup> tile_b: array<f32, 1024>; // gemm: [16 k][64 cols]

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
  return (b * p.slices + s) * p.k_max * p.width;
}

fn grad_logit_index(b: u32, j: u32, i: u32) -> u32 {
  return (b * p.k_max + j) * p.length + i;
}

fn stat(which: u32, j: u32) -> f32 {
  return smem[p.off_stats + which + j];
}

fn set_stat(which: u32, j: u32, value: f32) {
  smem[p.off_stats + which + j] = value;
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

// Tree reduction within groups of `lanes` consecutive threads; the group's total is returned to
// its first lane (other lanes get partial values). Must be called by the whole workgroup.
fn group_reduce(t: u32, lanes: u32, op: u32, value: vec2<f32>) -> vec2<f32> {
  let red = p.off_red;
  smem[red + t] = value.x;
  smem[red + WG + t] = value.y;
  for (var stride = lanes / 2u; stride > 0u; stride /= 2u) {
    workgroupBarrier();
    if (t % lanes < stride) {
      let r = combine(op, vec2<f32>(smem[red + t], smem[red + WG + t]),
                      vec2<f32>(smem[red + t + stride], smem[red + WG + t + stride]));
      smem[red + t] = r.x;
      smem[red + WG + t] = r.y;
    }
  }
  workgroupBarrier();
  return vec2<f32>(smem[red + t], smem[red + WG + t]);
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

// Rows i0 .. i0+n-1 of the sample's Ê into the tile.
fn load_tile(b: u32, i0: u32, n: u32, t: u32) {
  let base = (b * p.length + i0) * p.width;
  for (var idx = t; idx < n * p.width; idx += WG) {
    smem[(idx / p.width) * p.stride + idx % p.width] = ehat[base + idx];
  }
}

fn tile(ii: u32, c: u32) -> f32 {
  return smem[ii * p.stride + c];
}

// Routing weights w[j, i0+ii] of slice s for active j into smem[off_w + j*chunk + ii].
// Softmax over behaviours needs row_stats of the slice first.
fn load_weights(b: u32, s: u32, i0: u32, n: u32, kb: u32, t: u32) {
  let w = p.off_w;
  if ((p.flags & FLAG_BEHAVIORS) != 0u) {
    for (var idx = t; idx < kb * n; idx += WG) {
      let j = idx / n;
      let ii = idx % n;
      let x = logits[logit_index(b, s, j, i0 + ii)];
      smem[w + j * p.chunk + ii] = exp(x - stat(ST_MAX, j)) * stat(ST_INV_SUM, j);
    }
    return;
  }
  for (var ii = t; ii < n; ii += WG) {
    var m = -MAX_F32;
    for (var j = 0u; j < kb; j++) {
      m = max(m, logits[logit_index(b, s, j, i0 + ii)]);
    }
    var sum = 0.0;
    for (var j = 0u; j < kb; j++) {
      let e = exp(logits[logit_index(b, s, j, i0 + ii)] - m);
      smem[w + j * p.chunk + ii] = e;
      sum += e;
    }
    let inv = 1.0 / sum;
    for (var j = 0u; j < kb; j++) {
      smem[w + j * p.chunk + ii] *= inv;
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
  let zb = z_base(b, s) + j * p.width;
  var acc = vec2<f32>(0.0);
  if (j < kb) {
    for (var c = lane; c < p.width; c += lanes) {
      acc = combine(OP_NORM, acc, vec2<f32>(abs(zstate[zb + c]), 1.0));
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

// ---------------------------------------------------------------------------------------------
// Forward

// z of the forward's interest matrix: workgroup memory, or the z state of the slice.
fn z_get(zb: u32, o: u32) -> f32 {
  if (V_SHARED) {
    return smem[p.off_v + o];
  }
  return zstate[zb + o];
}

// z[j, c] = Σ_{i < len} w[j, i] ê[i, c] for active j -> z state of slice s (and smem when V_SHARED).
fn accumulate_z(b: u32, s: u32, len: u32, kb: u32, whole: bool, t: u32) {
  let kd = kb * p.width;
  let zb = z_base(b, s);
  for (var o0 = 0u; o0 < kd; o0 += WG * ACC) {
    var acc: array<f32, ACC>;
    for (var i0 = 0u; i0 < len; i0 += p.chunk) {
      let n = min(p.chunk, len - i0);
      workgroupBarrier();
      if (!whole) {
        load_tile(b, i0, n, t);
      }
      load_weights(b, s, i0, n, kb, t);
      workgroupBarrier();
      for (var ii = 0u; ii < n; ii++) {
        for (var k = 0u; k < ACC; k++) {
          let o = o0 + k * WG + t;
          if (o < kd) {
            acc[k] += smem[p.off_w + (o / p.width) * p.chunk + ii] * tile(ii, o % p.width);
          }
        }
      }
    }
    for (var k = 0u; k < ACC; k++) {
      let o = o0 + k * WG + t;
      if (o < kd) {
        zstate[zb + o] = acc[k];
        if (V_SHARED) {
          smem[p.off_v + o] = acc[k];
        }
      }
    }
  }
  storageBarrier();
  workgroupBarrier();
}

// b_out[j, i] = b_in[j, i] + u_j · ê_i for active j, valid i (u_j = f_j z_j).
fn update_logits(b: u32, s_in: u32, s_out: u32, len: u32, kb: u32, whole: bool, t: u32) {
  let zb = z_base(b, s_in);
  for (var i0 = 0u; i0 < len; i0 += p.chunk) {
    let n = min(p.chunk, len - i0);
    if (!whole) {
      workgroupBarrier();
      load_tile(b, i0, n, t);
      workgroupBarrier();
    }
    for (var idx = t; idx < kb * n; idx += WG) {
      let j = idx / n;
      let ii = idx % n;
      var dot = 0.0;
      for (var c = 0u; c < p.width; c++) {
        dot += z_get(zb, j * p.width + c) * tile(ii, c);
      }
      let i = i0 + ii;
      logits[logit_index(b, s_out, j, i)] = logits[logit_index(b, s_in, j, i)] + stat(ST_F, j) * dot;
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
      var x: f32;
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
    var u = 0.0;
    if (len > 0u && j < kb) {
      u = stat(ST_F, j) * z_get(zb, o);
    }
    out[ob + o] = u;
  }
}

// ---------------------------------------------------------------------------------------------
// Backward

// The backward's interest matrix (u, then du, then dz): workgroup memory or this sample's
// rows of vglobal.
fn v_get(vb: u32, o: u32) -> f32 {
  if (V_SHARED) {
    return smem[p.off_v + o];
  }
  return vglobal[vb + o];
}

fn v_set(vb: u32, o: u32, value: f32) {
  if (V_SHARED) {
    smem[p.off_v + o] = value;
  } else {
    vglobal[vb + o] = value;
  }
}

fn sync_all() {
  storageBarrier();
  workgroupBarrier();
}

// With g = the logits gradient of iteration s+1 (b_{s+1} = b_s + u_s Êᵀ) and V = u_s:
// dÊ[i, c] += Σ_j g[j, i] u[j, c], then V = du_s = g·Ê.
fn logits_grad_pass(b: u32, len: u32, kb: u32, whole: bool, t: u32, vb: u32) {
  let kd = kb * p.width;
  let eb = b * p.length * p.width;
  let w = p.off_w;
  for (var o0 = 0u; o0 < kd; o0 += WG * ACC) {
    var acc: array<f32, ACC>;
    for (var i0 = 0u; i0 < len; i0 += p.chunk) {
      let n = min(p.chunk, len - i0);
      workgroupBarrier();
      if (!whole) {
        load_tile(b, i0, n, t);
      }
      for (var idx = t; idx < kb * n; idx += WG) {
        smem[w + (idx / n) * p.chunk + idx % n] = grad_logits[grad_logit_index(b, idx / n, i0 + idx % n)];
      }
      workgroupBarrier();
      if (o0 == 0u) {
        for (var idx = t; idx < n * p.width; idx += WG) {
          let ii = idx / p.width;
          let c = idx % p.width;
          var sum = 0.0;
          for (var j = 0u; j < kb; j++) {
            sum += smem[w + j * p.chunk + ii] * v_get(vb, j * p.width + c);
          }
          out[eb + (i0 + ii) * p.width + c] += sum;
        }
      }
      for (var ii = 0u; ii < n; ii++) {
        for (var k = 0u; k < ACC; k++) {
          let o = o0 + k * WG + t;
          if (o < kd) {
            acc[k] += smem[w + (o / p.width) * p.chunk + ii] * tile(ii, o % p.width);
          }
        }
      }
    }
    sync_all();
    for (var k = 0u; k < ACC; k++) {
      let o = o0 + k * WG + t;
      if (o < kd) {
        v_set(vb, o, acc[k]);
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
      for (var c = lane; c < p.width; c += lanes) {
        acc += (zstate[zb + j * p.width + c] / n) * v_get(vb, j * p.width + c);
      }
    }
  }
  let total = group_reduce(t, lanes, OP_SUM, vec2<f32>(acc, 0.0));
  if (lane == 0u && j < kb) {
    set_stat(ST_DOT, j, total.x);
  }
  workgroupBarrier();
  for (var o = t; o < kb * p.width; o += WG) {
    let jj = o / p.width;
    let n = stat(ST_NORM, jj);
    var zhat = 0.0;
    if (n > 0.0) {
      zhat = zstate[zb + o] / n;
    }
    v_set(vb, o, stat(ST_F, jj) * v_get(vb, o) + stat(ST_G, jj) * stat(ST_DOT, jj) * zhat);
  }
  sync_all();
}

// With V = dz_s: dÊ[i, c] += Σ_j w_s[j, i] dz[j, c]; and unless s is the first saved slice, the
// softmax backward: dw = dz Êᵀ, db = w (dw - Σ w dw) (sum over j or over i by mode), added
// into the logits gradient (which it initialises at the last slice).
fn weights_grad_pass(b: u32, s: u32, len: u32, kb: u32, whole: bool, t: u32, vb: u32) {
  let eb = b * p.length * p.width;
  let w = p.off_w;
  let pd = p.off_d;
  let to_logits = s > 0u;
  let first = s + 1u == p.slices;
  let behaviors = (p.flags & FLAG_BEHAVIORS) != 0u;
  for (var i0 = 0u; i0 < len; i0 += p.chunk) {
    let n = min(p.chunk, len - i0);
    workgroupBarrier();
    if (to_logits && !whole) {
      load_tile(b, i0, n, t);
    }
    load_weights(b, s, i0, n, kb, t);
    workgroupBarrier();
    for (var idx = t; idx < n * p.width; idx += WG) {
      let ii = idx / p.width;
      let c = idx % p.width;
      var sum = 0.0;
      for (var j = 0u; j < kb; j++) {
        sum += smem[w + j * p.chunk + ii] * v_get(vb, j * p.width + c);
      }
      out[eb + (i0 + ii) * p.width + c] += sum;
    }
    if (to_logits) {
      for (var idx = t; idx < kb * n; idx += WG) {
        let j = idx / n;
        let ii = idx % n;
        var dot = 0.0;
        for (var c = 0u; c < p.width; c++) {
          dot += v_get(vb, j * p.width + c) * tile(ii, c);
        }
        smem[pd + j * p.chunk + ii] = smem[w + j * p.chunk + ii] * dot;
      }
      workgroupBarrier();
      if (behaviors) {
        for (var idx = t; idx < kb * n; idx += WG) {
          let g = grad_logit_index(b, idx / n, i0 + idx % n);
          let prev = select(grad_logits[g], 0.0, first);
          grad_logits[g] = prev + smem[pd + (idx / n) * p.chunk + idx % n];
        }
        if (t < kb) {
          var sum = select(stat(ST_T, t), 0.0, i0 == 0u);
          for (var ii = 0u; ii < n; ii++) {
            sum += smem[pd + t * p.chunk + ii];
          }
          set_stat(ST_T, t, sum);
        }
      } else {
        for (var ii = t; ii < n; ii += WG) {
          var total = 0.0;
          for (var j = 0u; j < kb; j++) {
            total += smem[pd + j * p.chunk + ii];
          }
          for (var j = 0u; j < kb; j++) {
            let g = grad_logit_index(b, j, i0 + ii);
            let prev = select(grad_logits[g], 0.0, first);
            grad_logits[g] = prev + smem[pd + j * p.chunk + ii] - smem[w + j * p.chunk + ii] * total;
          }
        }
      }
    }
  }
  if (to_logits && behaviors) {
    sync_all();
    for (var idx = t; idx < kb * len; idx += WG) {
      let j = idx / len;
      let i = idx % len;
      let wji = exp(logits[logit_index(b, s, j, i)] - stat(ST_MAX, j)) * stat(ST_INV_SUM, j);
      grad_logits[grad_logit_index(b, j, i)] -= wji * stat(ST_T, j);
    }
  }
}

// One workgroup per sample: dÊ[b] from dU[b] through the saved slices, last to first.
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
  let eb = b * p.length * p.width;
  for (var idx = t; idx < p.length * p.width; idx += WG) {
    out[eb + idx] = 0.0;
  }
  if (len == 0u) {
    return;
  }
  let vb = b * p.k_max * p.width;
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
      for (var o = t; o < kb * p.width; o += WG) {
        v_set(vb, o, stat(ST_F, o / p.width) * zstate[zb + o]);
      }
      sync_all();
      logits_grad_pass(b, len, kb, whole, t, vb);
    } else {
      for (var o = t; o < kb * p.width; o += WG) {
        v_set(vb, o, grad_u[vb + o]);
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
// GEMM: out[z, m, n] = Σ_{k in slice z} A[m, k] B[k, n]; grid (ceil(n/64), ceil(m/64), slices).

fn gemm_a(row: u32, kk: u32) -> f32 {
  if (gp.trans_a != 0u) {
    return mat_a[kk * gp.m + row];
  }
  return mat_a[row * gp.k + kk];
}

fn gemm_b(kk: u32, col: u32) -> f32 {
  if (gp.trans_b != 0u) {
    return mat_b[col * gp.k + kk];
  }
  return mat_b[kk * gp.n + col];
}

@compute @workgroup_size(16, 16)
fn gemm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row0 = wid.y * 64u;
  let col0 = wid.x * 64u;
  let k_begin = wid.z * gp.k_chunk;
  let k_end = min(gp.k, k_begin + gp.k_chunk);
  let t = lid.y * 16u + lid.x;
  var acc: array<f32, 16>;
  for (var k0 = k_begin; k0 < k_end; k0 += 16u) {
    // Consecutive threads load along each operand's contiguous dimension.
    for (var e = 0u; e < 4u; e++) {
      let idx = t + e * 256u;
      var r = idx / 16u;
      var ka = idx % 16u;
      if (gp.trans_a != 0u) {
        r = idx % 64u;
        ka = idx / 64u;
      }
      var va = 0.0;
      if (row0 + r < gp.m && k0 + ka < k_end) {
        va = gemm_a(row0 + r, k0 + ka);
      }
      tile_a[ka * 64u + r] = va;
      var c = idx % 64u;
      var kb = idx / 64u;
      if (gp.trans_b != 0u) {
        c = idx / 16u;
        kb = idx % 16u;
      }
      var vb = 0.0;
      if (col0 + c < gp.n && k0 + kb < k_end) {
        vb = gemm_b(k0 + kb, col0 + c);
      }
      tile_b[kb * 64u + c] = vb;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      let a = vec4<f32>(tile_a[kk * 64u + lid.y], tile_a[kk * 64u + lid.y + 16u],
                        tile_a[kk * 64u + lid.y + 32u], tile_a[kk * 64u + lid.y + 48u]);
      let bv = vec4<f32>(tile_b[kk * 64u + lid.x], tile_b[kk * 64u + lid.x + 16u],
                         tile_b[kk * 64u + lid.x + 32u], tile_b[kk * 64u + lid.x + 48u]);
      for (var i = 0u; i < 4u; i++) {
        for (var jj = 0u; jj < 4u; jj++) {
          acc[i * 4u + jj] += a[i] * bv[jj];
        }
      }
    }
    workgroupBarrier();
  }
  let base = wid.z * gp.m * gp.n;
  for (var i = 0u; i < 4u; i++) {
    for (var jj = 0u; jj < 4u; jj++) {
      let row = row0 + lid.y + 16u * i;
      let col = col0 + lid.x + 16u * jj;
      if (row < gp.m && col < gp.n) {
        out[base + row * gp.n + col] = acc[i * 4u + jj];
      }
    }
  }
}

// out[x] = Σ_{part < parts} A[part, x] over x < m·n, parts in ascending order (deterministic).
@compute @workgroup_size(WG)
fn reduce_parts(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let idx = gid.x + gid.y * nwg.x * WG;
  let count = gp.m * gp.n;
  if (idx >= count) {
    return;
  }
  var sum = 0.0;
  for (var part = 0u; part < gp.parts; part++) {
    sum += mat_a[part * count + idx];
  }
  out[idx] = sum;
}
