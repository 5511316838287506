// Sampled softmax loss (SPEC §3) with shared negatives, forward and backward.
//
// For sample b with label y_b and the S shared negatives n_s:
//   l_0 = v_b · W_y + c_y − logQ_y,   l_s = v_b · W_{n_s} + c_{n_s} − logQ_{n_s}
//   (c and logQ only when the HAS_BIAS / HAS_LOGQ flags are set; with REMOVE_HITS, l_s = −∞
//   where n_s = y_b: such a "hit" is skipped everywhere rather than stored as an infinity)
//   loss_b = logsumexp(l_0, l_1..l_S) − l_0,   loss = mean over b.
// Because the negatives are shared, the negative logits form one product [B, d] × [d, S]:
// forward_logits computes it as a tiled matrix product with the candidate rows gathered
// straight from the item table, and adds the bias / logQ correction. forward_lse takes one
// sample per workgroup: the label logit, the hit mask and a max-shifted log-sum-exp.
// forward_mean sums the per-sample losses in a fixed order. The logits are kept for the
// backward, which would otherwise recompute the same product.
//
// Overflow: a logit whose dot product could overflow (to ±inf, or NaN from inf − inf, for
// vectors near 1e20), judged from the magnitudes of its tile, is computed with both vectors
// scaled by powers of two (exact), and every logit is saturated at ±SAT = ±2^126, so differences of logits stay finite and no infinity is formed.
// Probabilities are exp((l − m_b) − log Σ_b) with m_b the row's largest logit and Σ_b the
// shifted sum, never exp(l − lse_b): logits tied at the top then share the probability exactly
// (at saturation, m_b + log Σ_b would round back to m_b). A label logit that overflows alone
// thus gives the limit: loss 0 and zero gradients.
//
// Backward, with p_bs = exp(l_s − lse_b) (0 for hits), p_b0 = exp(l_0 − lse_b) and
// γ = dLoss / B:
//   dv_b        = γ ((p_b0 − 1) W_y + Σ_s p_bs W_{n_s})
//   d(slot s)   = γ Σ_b p_bs [v_b, 1]          (row n_s of dW and dc)
//   d(label b)  = γ (p_b0 − 1) [v_b, 1]        (row y_b of dW and dc)
// grad_user_partial / grad_user_combine compute dv as a split product (partial sums over
// chunks of negatives, then a fixed-order combine), grad_candidates computes the per-slot
// sums as a tiled product [S, B] × [B, d] plus a column sum, and grad_rows adds, for each
// touched table row, its slot and label contributions in the order of a host-built plan.
// Every sum has a fixed order, and no atomics are used: results are bitwise reproducible.
//
// Tiled kernels: 16×16 threads, a 64×64 output tile, 4×4 outputs per thread at rows ty + 16i
// and columns tx + 16j, 16-deep slices of both operands staged in workgroup memory (as in
// matmul.wgsl). Workgroup indices are flattened over x and y.
//
// Bindings: 0 params, 1 user [B, d], 2 table [N, d], 3 labels [B] i32, 4 negatives [S] i32,
// 5 bias [N], 6 logq [N], 7 logits [B, S], 8 stats [B, 4] (l_0, m, log Σ, loss_b), 9 loss [1],
// 10 upstream [1] (dLoss), 11 partial [splits, B, d], 12 grad_user [B, d],
// 13 slot_grad [S, d + 1], 14 plan i32 (offsets [R + 1] then entries), 15 grad_rows [R, d],
// 16 grad_bias_rows [R].

const HAS_BIAS = 1u;
const HAS_LOGQ = 2u;
const REMOVE_HITS = 4u;
const TILE = 64u;
const TILE_K = 16u;
// Logits are saturated here (2^126): the difference of two saturated logits is still finite.
const SAT = 0x1p126f;

struct Params {
  batch: u32,
  num_neg: u32,
  dim: u32,
  flags: u32,
  // Tiles of the kernel's output along its two axes (see each entry point).
  tiles_rows: u32,
  tiles_cols: u32,
  // grad_user_partial: negatives per split, and the number of splits.
  chunk: u32,
  splits: u32,
  // grad_rows: touched table rows R.
  rows: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> user: array<f32>;
@group(0) @binding(2) var<storage, read> table: array<f32>;
@group(0) @binding(3) var<storage, read> labels: array<i32>;
@group(0) @binding(4) var<storage, read> negatives: array<i32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(6) var<storage, read> logq: array<f32>;
@group(0) @binding(7) var<storage, read_write> logits: array<f32>;
@group(0) @binding(8) var<storage, read_write> stats: array<f32>;
@group(0) @binding(9) var<storage, read_write> loss: array<f32>;
@group(0) @binding(10) var<storage, read> upstream: array<f32>;
@group(0) @binding(11) var<storage, read_write> partial: array<f32>;
@group(0) @binding(12) var<storage, read_write> grad_user: array<f32>;
@group(0) @binding(13) var<storage, read_write> slot_grad: array<f32>;
@group(0) @binding(14) var<storage, read> plan: array<i32>;
@group(0) @binding(15) var<storage, read_write> grad_rows: array<f32>;
@group(0) @binding(16) var<storage, read_write> grad_bias_rows: array<f32>;

// Operand slices of the tiled kernels, k-major: tile_x[kk * TILE + i].
var<workgroup> tile_a: array<f32, 1024>;
var<workgroup> tile_b: array<f32, 1024>;
// Per-tile rows (gathered table rows, or per-sample lse) and column-sum partials.
var<workgroup> tile_rows: array<u32, 64>;
var<workgroup> tile_top: array<f32, 64>;
var<workgroup> tile_log_sum: array<f32, 64>;
var<workgroup> col_part: array<f32, 1024>;
// Tree reductions of the per-sample kernels.
var<workgroup> red: array<f32, 256>;

fn workgroup_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}

fn has(flag: u32) -> bool {
  return (params.flags & flag) != 0u;
}

// c_row − logQ_row, as enabled.
fn logit_offset(row: u32) -> f32 {
  var o = 0.0;
  if (has(HAS_BIAS)) { o += bias[row]; }
  if (has(HAS_LOGQ)) { o -= logq[row]; }
  return o;
}

fn is_hit(b: u32, s: u32) -> bool {
  return has(REMOVE_HITS) && negatives[s] == labels[b];
}

// The softmax probability of logit l in row b: exp((l − m_b) − log Σ_b).
fn prob(l: f32, top: f32, log_sum: f32) -> f32 {
  return exp((l - top) - log_sum);
}

// p_bs, 0 outside [B, S) and for hits.
fn slot_prob(b: u32, s: u32, top: f32, log_sum: f32) -> f32 {
  if (b >= params.batch || s >= params.num_neg || is_hit(b, s)) { return 0.0; }
  return prob(logits[b * params.num_neg + s], top, log_sum);
}

// p_b0 − 1.
fn label_grad(b: u32) -> f32 {
  return prob(stats[b * 4u], stats[b * 4u + 1u], stats[b * 4u + 2u]) - 1.0;
}

// Whether a dot product of vectors whose entries are below max_a and max_b in magnitude can
// overflow when summed plainly: every term and partial sum is below d·2^(ka+kb), with
// max_a < 2^ka. Decided from magnitudes, never by testing a result for infinity or NaN (WGSL
// lets compilers assume neither occurs).
fn may_overflow(max_a: f32, max_b: f32) -> bool {
  return f32(frexp(max_a).exp + frexp(max_b).exp) + log2(f32(max(params.dim, 1u))) >= 125.0;
}

// v_b · W_row + offset, saturated at ±SAT: `plain` (the product summed the fast way) where it
// cannot have overflowed (`safe`), else recomputed with both vectors scaled by powers of two
// (exact, so below the bound it equals the plain sum).
fn logit_of(plain: f32, safe: bool, b: u32, row: u32) -> f32 {
  let offset = logit_offset(row);
  if (safe) { return clamp(plain + offset, -SAT, SAT); }
  let d = params.dim;
  var top_v = 0.0;
  var top_w = 0.0;
  for (var c = 0u; c < d; c++) {
    top_v = max(top_v, abs(user[b * d + c]));
    top_w = max(top_w, abs(table[row * d + c]));
  }
  let kv = frexp(top_v).exp;
  let kw = frexp(top_w).exp;
  var scaled = 0.0;
  for (var c = 0u; c < d; c++) { scaled += ldexp(user[b * d + c], -kv) * ldexp(table[row * d + c], -kw); }
  // |scaled| ≤ d, so the test below never forms the huge product itself.
  if (scaled != 0.0 && f32(kv + kw) + log2(abs(scaled)) >= 126.0) { return sign(scaled) * SAT; }
  return clamp(ldexp(scaled, kv + kw) + offset, -SAT, SAT);
}

// dLoss / B.
fn loss_scale() -> f32 {
  return upstream[0] / f32(params.batch);
}

// Sum (or max) of x over the 256 threads, in a fixed tree order; every thread gets the result.
fn tree_reduce(x: f32, lid: u32, take_max: bool) -> f32 {
  red[lid] = x;
  workgroupBarrier();
  for (var stride = 128u; stride > 0u; stride >>= 1u) {
    if (lid < stride) {
      let other = red[lid + stride];
      red[lid] = select(red[lid] + other, max(red[lid], other), take_max);
    }
    workgroupBarrier();
  }
  let result = red[0];
  workgroupBarrier();
  return result;
}

// logits[b, s] = v_b · W_{n_s} + c − logQ. Output tile: 64 samples (rows) × 64 negatives
// (columns); tiles_rows = ceil(B / 64), tiles_cols = ceil(S / 64).
@compute @workgroup_size(16, 16)
fn forward_logits(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let w = workgroup_index(wid, nwg);
  if (w >= params.tiles_rows * params.tiles_cols) { return; }
  let b0 = (w / params.tiles_cols) * TILE;
  let s0 = (w % params.tiles_cols) * TILE;
  let B = params.batch;
  let S = params.num_neg;
  let d = params.dim;
  if (li < TILE) { tile_rows[li] = u32(negatives[min(s0 + li, S - 1u)]); }
  var acc = array<vec4<f32>, 4>();
  // The largest magnitudes this thread stages, reduced over the tile to bound every product.
  var max_a = 0.0;
  var max_b = 0.0;
  for (var k0 = 0u; k0 < d; k0 += TILE_K) {
    workgroupBarrier();
    for (var r = 0u; r < 4u; r++) {
      let e = li + r * 256u;
      let m = e / TILE_K;
      let kk = e % TILE_K;
      let k = k0 + kk;
      let b = b0 + m;
      let a = select(0.0, user[b * d + k], b < B && k < d);
      let w = select(0.0, table[tile_rows[m] * d + k], s0 + m < S && k < d);
      tile_a[kk * TILE + m] = a;
      tile_b[kk * TILE + m] = w;
      max_a = max(max_a, abs(a));
      max_b = max(max_b, abs(w));
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TILE_K; kk++) {
      let rb = kk * TILE + lid.x;
      let bv = vec4<f32>(tile_b[rb], tile_b[rb + 16u], tile_b[rb + 32u], tile_b[rb + 48u]);
      let ra = kk * TILE + lid.y;
      for (var i = 0u; i < 4u; i++) { acc[i] += tile_a[ra + 16u * i] * bv; }
    }
  }
  let safe = !may_overflow(tree_reduce(max_a, li, true), tree_reduce(max_b, li, true));
  for (var i = 0u; i < 4u; i++) {
    let b = b0 + lid.y + 16u * i;
    for (var j = 0u; j < 4u; j++) {
      let col = lid.x + 16u * j;
      let s = s0 + col;
      if (b < B && s < S) { logits[b * S + s] = logit_of(acc[i][j], safe, b, tile_rows[col]); }
    }
  }
}

// One workgroup per sample: stats[b] = (l_0, lse, loss_b).
@compute @workgroup_size(256)
fn forward_lse(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let b = workgroup_index(wid, nwg);
  if (b >= params.batch) { return; }
  let S = params.num_neg;
  let d = params.dim;
  let y = u32(labels[b]);
  var dot = 0.0;
  var max_v = 0.0;
  var max_w = 0.0;
  for (var c = lid; c < d; c += 256u) {
    dot += user[b * d + c] * table[y * d + c];
    max_v = max(max_v, abs(user[b * d + c]));
    max_w = max(max_w, abs(table[y * d + c]));
  }
  let plain = tree_reduce(dot, lid, false);
  let l0 = logit_of(plain, !may_overflow(tree_reduce(max_v, lid, true), tree_reduce(max_w, lid, true)), b, y);
  var top = l0;
  for (var s = lid; s < S; s += 256u) {
    if (!is_hit(b, s)) { top = max(top, logits[b * S + s]); }
  }
  top = tree_reduce(top, lid, true);
  var total = 0.0;
  for (var s = lid; s < S; s += 256u) {
    if (!is_hit(b, s)) { total += exp(logits[b * S + s] - top); }
  }
  total = tree_reduce(total, lid, false) + exp(l0 - top);
  if (lid == 0u) {
    let log_total = log(total);
    stats[b * 4u] = l0;
    stats[b * 4u + 1u] = top;
    stats[b * 4u + 2u] = log_total;
    // (top − l0) + log Σ rather than lse − l0: exact when the label logit is the largest.
    stats[b * 4u + 3u] = (top - l0) + log_total;
  }
}

// loss[0] = mean of loss_b, summed in a fixed order by one workgroup.
@compute @workgroup_size(256)
fn forward_mean(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var b = lid; b < params.batch; b += 256u) { acc += stats[b * 4u + 3u]; }
  let total = tree_reduce(acc, lid, false);
  if (lid == 0u) { loss[0] = total / f32(params.batch); }
}

// partial[split, b, c] = Σ_{s in split} p_bs W_{n_s, c}. Output tile: 64 samples × 64
// columns of d; tiles_rows = ceil(B / 64), tiles_cols = ceil(d / 64); splits of `chunk`
// negatives (a multiple of 16) keep the grid wide when B·d is small and S large.
@compute @workgroup_size(16, 16)
fn grad_user_partial(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let w = workgroup_index(wid, nwg);
  let per_split = params.tiles_rows * params.tiles_cols;
  if (w >= per_split * params.splits) { return; }
  let split = w / per_split;
  let b0 = ((w % per_split) / params.tiles_cols) * TILE;
  let c0 = (w % params.tiles_cols) * TILE;
  let B = params.batch;
  let S = params.num_neg;
  let d = params.dim;
  if (li < TILE) {
    let b = min(b0 + li, B - 1u);
    tile_top[li] = stats[b * 4u + 1u];
    tile_log_sum[li] = stats[b * 4u + 2u];
  }
  let start = split * params.chunk;
  let end = min(S, start + params.chunk);
  var acc = array<vec4<f32>, 4>();
  for (var k0 = start; k0 < end; k0 += TILE_K) {
    workgroupBarrier();
    for (var r = 0u; r < 4u; r++) {
      let e = li + r * 256u;
      // P slice: 64 samples × 16 negatives, read along the negatives.
      let m = e / TILE_K;
      let kk = e % TILE_K;
      let s = k0 + kk;
      tile_a[kk * TILE + m] = select(0.0, slot_prob(b0 + m, s, tile_top[m], tile_log_sum[m]), s < end);
      // W slice: 16 negatives × 64 columns, read along the columns.
      let n = e % TILE;
      let kb = e / TILE;
      let sb = k0 + kb;
      let c = c0 + n;
      tile_b[kb * TILE + n] = select(0.0, table[u32(negatives[min(sb, S - 1u)]) * d + c], sb < end && c < d);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TILE_K; kk++) {
      let rb = kk * TILE + lid.x;
      let bv = vec4<f32>(tile_b[rb], tile_b[rb + 16u], tile_b[rb + 32u], tile_b[rb + 48u]);
      let ra = kk * TILE + lid.y;
      for (var i = 0u; i < 4u; i++) { acc[i] += tile_a[ra + 16u * i] * bv; }
    }
  }
  for (var i = 0u; i < 4u; i++) {
    let b = b0 + lid.y + 16u * i;
    for (var j = 0u; j < 4u; j++) {
      let c = c0 + lid.x + 16u * j;
      if (b < B && c < d) { partial[(split * B + b) * d + c] = acc[i][j]; }
    }
  }
}

// grad_user[b, c] = γ ((p_b0 − 1) W_{y_b, c} + Σ_split partial[split, b, c]), one thread each.
@compute @workgroup_size(256)
fn grad_user_combine(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  let B = params.batch;
  let d = params.dim;
  if (i >= B * d) { return; }
  let b = i / d;
  let c = i % d;
  var acc = label_grad(b) * table[u32(labels[b]) * d + c];
  for (var split = 0u; split < params.splits; split++) { acc += partial[split * B * d + i]; }
  grad_user[i] = loss_scale() * acc;
}

// slot_grad[s] = [Σ_b p_bs v_b, Σ_b p_bs] (unscaled by γ). Output tile: 64 negatives × 64
// columns of d; tiles_rows = ceil(S / 64), tiles_cols = ceil(d / 64). The column sum (with
// HAS_BIAS) is taken by the first column tile: thread (ty, tx) adds sample kk = tx of each
// slice for its four negatives, and the 16 partials are added in order at the end.
@compute @workgroup_size(16, 16)
fn grad_candidates(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let w = workgroup_index(wid, nwg);
  if (w >= params.tiles_rows * params.tiles_cols) { return; }
  let s0 = (w / params.tiles_cols) * TILE;
  let c0 = (w % params.tiles_cols) * TILE;
  let with_sum = has(HAS_BIAS) && c0 == 0u;
  let B = params.batch;
  let S = params.num_neg;
  let d = params.dim;
  var acc = array<vec4<f32>, 4>();
  var sum = vec4<f32>(0.0);
  for (var k0 = 0u; k0 < B; k0 += TILE_K) {
    workgroupBarrier();
    for (var r = 0u; r < 4u; r++) {
      let e = li + r * 256u;
      let n = e % TILE;
      let kk = e / TILE;
      let b = k0 + kk;
      // P slice: 16 samples × 64 negatives; U slice: 16 samples × 64 columns.
      let bs = min(b, B - 1u);
      tile_a[kk * TILE + n] = select(0.0, slot_prob(b, s0 + n, stats[bs * 4u + 1u], stats[bs * 4u + 2u]), b < B);
      tile_b[kk * TILE + n] = select(0.0, user[b * d + c0 + n], b < B && c0 + n < d);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TILE_K; kk++) {
      let rb = kk * TILE + lid.x;
      let bv = vec4<f32>(tile_b[rb], tile_b[rb + 16u], tile_b[rb + 32u], tile_b[rb + 48u]);
      let ra = kk * TILE + lid.y;
      for (var i = 0u; i < 4u; i++) { acc[i] += tile_a[ra + 16u * i] * bv; }
    }
    if (with_sum) {
      let ra = lid.x * TILE + lid.y;
      sum += vec4<f32>(tile_a[ra], tile_a[ra + 16u], tile_a[ra + 32u], tile_a[ra + 48u]);
    }
  }
  let width = d + 1u;
  for (var i = 0u; i < 4u; i++) {
    let s = s0 + lid.y + 16u * i;
    for (var j = 0u; j < 4u; j++) {
      let c = c0 + lid.x + 16u * j;
      if (s < S && c < d) { slot_grad[s * width + c] = acc[i][j]; }
    }
  }
  if (with_sum) {
    for (var i = 0u; i < 4u; i++) { col_part[lid.x * TILE + lid.y + 16u * i] = sum[i]; }
    workgroupBarrier();
    if (li < TILE && s0 + li < S) {
      var total = 0.0;
      for (var t = 0u; t < 16u; t++) { total += col_part[t * TILE + li]; }
      slot_grad[(s0 + li) * width + d] = total;
    }
  }
}

// For touched row r and column c ≤ d (c = d: the bias), γ Σ over the row's plan entries in
// order: an entry e ≥ 0 is negative slot e (slot_grad), e < 0 the label of sample −e − 1.
// Threads: R·d for grad_rows, then R more for grad_bias_rows (with HAS_BIAS).
@compute @workgroup_size(256)
fn grad_rows_sum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  let R = params.rows;
  let d = params.dim;
  let is_bias = i >= R * d;
  if (is_bias && (!has(HAS_BIAS) || i >= R * d + R)) { return; }
  let r = select(i / d, i - R * d, is_bias);
  let c = select(i % d, d, is_bias);
  let entries = R + 1u;
  var acc = 0.0;
  for (var k = plan[r]; k < plan[r + 1u]; k++) {
    let e = plan[entries + u32(k)];
    if (e >= 0) {
      acc += slot_grad[u32(e) * (d + 1u) + c];
    } else {
      let b = u32(-e - 1);
      acc += label_grad(b) * select(user[b * d + c], 1.0, is_bias);
    }
  }
  let value = loss_scale() * acc;
  if (is_bias) { grad_bias_rows[r] = value; } else { grad_rows[i] = value; }
}
