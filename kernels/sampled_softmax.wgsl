// Sampled softmax loss (SPEC §3) with shared negatives: the parts around the products.
//
// For sample b with label y_b and the S shared negatives n_s:
//   l_0 = v_b · W_y + c_y − logQ_y,   l_s = v_b · W_{n_s} + c_{n_s} − logQ_{n_s}
//   (c and logQ only when the HAS_BIAS / HAS_LOGQ flags are set; with REMOVE_HITS, l_s = −∞
//   where n_s = y_b: such a "hit" is skipped in the sums rather than stored as an infinity)
//   loss_b = logsumexp(l_0, l_1..l_S) − l_0,   loss = mean over b.
// Because the negatives are shared, the negative logits form one product, which the matmul
// family computes (kernels/matmul.wgsl through src/autograd/ops/matmul.ts, every product in its
// plain [M, K]·[K, N] layout, the fastest); this file does the rest. On CPU Vulkan a load whose
// address differs across SIMD lanes is what costs, so every pass below reads along rows that
// neighbouring threads share or that lie next to each other, and no kernel has a barrier tree
// (barriers are expensive there) except forward_mean's one reduction.
//
// Forward (src/mind/ops/sampled-softmax.ts), with B4 = B rounded up to a multiple of 4:
//   prepare      one thread per row: G = W[n] [S, d] and Gᵀ [d, S] (the negative rows, gathered
//                once), Vᵀ [d, B4] (zero columns past B), the largest magnitude of every row of
//                G and V, each slot's c − logQ, and the label logit l_0 of every sample.
//   (matmul)     Lᵀ = G · Vᵀ [S, B4]: the plain negative dot products, sample-minor.
//   forward_lse  one thread per quad of samples (16 threads, 64 samples, per workgroup): row s
//                of Lᵀ gives the quad's four logits as one vec4, next to the neighbour threads'.
//                A max pass, then a max-shifted sum pass which, when a backward will run, also
//                stores the shifted exponentials in Lᵀ, and a third pass that scales them into
//                the probabilities Pᵀ[s, b] = p_bs (0 for hits and the padding columns); and
//                p_b0 − 1 per sample.
//   forward_mean the mean of the per-sample losses, in a fixed order.
// Backward, with p_b0 = exp(l_0 − lse_b) and γ = dLoss / B:
//   dv_b       = γ ((p_b0 − 1) W_y + Σ_s p_bs W_{n_s})
//   d(slot s)  = γ Σ_b p_bs [v_b, 1]          (row n_s of dW and dc)
//   d(label b) = γ (p_b0 − 1) [v_b, 1]        (row y_b of dW and dc)
//   (matmul)     (P·G)ᵀ = Gᵀ · Pᵀ [d, B4], Pᵀ · V [S, d] (Pᵀ · (Vᵀ)ᵀ when B4 > B), and with a
//                bias Pᵀ · 1 [S, 1].
//   grad_finish  one thread per output (grad_finish4: four columns per thread, d % 4 == 0): dv
//                adds the label term and scales; each touched table row adds its slot and
//                label contributions in the order of a host-built plan.
// Every sum has a fixed order, and no atomics are used: results are bitwise reproducible.
//
// Overflow: the plain product overflows (to ±inf, or NaN from inf − inf, for vectors near 1e20)
// only if max|v_b| · max|W_row| · d can reach 2^125, judged from the row magnitudes `prepare`
// records, never by testing a result for infinity or NaN (WGSL lets compilers assume neither
// occurs). forward_lse recomputes such a logit with both vectors scaled by powers of two (exact,
// so below the bound it equals the plain sum) before reading its row (a rare path: when nothing
// is large it costs a scan of the S row magnitudes per thread), and every logit is saturated at
// ±SAT = ±2^126, so differences of logits stay finite and no infinity is formed.
// Probabilities are exp(l − m_b) / Σ_b with m_b the row's largest logit and Σ_b the shifted
// sum, never exp(l − lse_b): logits tied at the top then share the probability exactly (at
// saturation, m_b + log Σ_b would round back to m_b). A label logit that overflows alone thus
// gives the limit: loss 0 and zero gradients.
//
// Row ids: `src` is the table the rows are read from: the item table itself, or (a table split
// over several buffers) its touched rows gathered into one buffer. negative_rows / label_rows
// index src; negatives / labels are the item ids (bias, logQ and hits).
//
// Bindings: 0 params, 1 user [B, d], 2 src [·, d], 3 labels [B] i32, 4 negatives [S] i32,
// 5 label_rows [B] i32, 6 negative_rows [S] i32, 7 bias [N], 8 logq [N], 9 gathered [S, d],
// 10 user_t [d, B4], 11 row_max [S + B], 12 logits4 [S, B4] (logits, then probabilities),
// 13 stats [B, 4] (l_0, m, log Σ, loss_b), 14 loss [1], 15 upstream [1] (dLoss),
// 16 user_part_t [d, B4] ((P·G)ᵀ), 17 slot_grad [S, d] (Pᵀ·V), 18 slot_sum [S] (Pᵀ·1),
// 19 plan i32 (offsets [R + 1] then entries), 20 grad_user [B, d], 21 grad_rows [R, d],
// 22 grad_bias_rows [R], 23 slot_offset [S] (c − logQ), 24 label_grad [B] (p_b0 − 1),
// 25-26 and 28: vec4 views of user, src and slot_grad, 27 gathered_t [d, S]; 20 and 21 are
// also bound as vec4 arrays by grad_finish4.

const HAS_BIAS = 1u;
const HAS_LOGQ = 2u;
const REMOVE_HITS = 4u;
// forward_lse: overwrite the logits with the probabilities (a backward will read them).
const WRITE_PROBS = 8u;
// Logits are saturated here (2^126): the difference of two saturated logits is still finite.
const SAT = 0x1p126f;
// forward_lse: threads per workgroup, each taking a quad of samples.
const LSE_QUADS = 16u;

struct Params {
  batch: u32,
  num_neg: u32,
  dim: u32,
  flags: u32,
  // grad_finish: rows of grad_user written (B, or 0 without a user gradient), and touched
  // table rows R (0 without a table or bias gradient).
  user_rows: u32,
  rows: u32,
  // Samples rounded up to a multiple of 4, over 4: the vec4 columns of Lᵀ (and of Vᵀ's rows).
  quads: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> user: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;
@group(0) @binding(3) var<storage, read> labels: array<i32>;
@group(0) @binding(4) var<storage, read> negatives: array<i32>;
@group(0) @binding(5) var<storage, read> label_rows: array<i32>;
@group(0) @binding(6) var<storage, read> negative_rows: array<i32>;
@group(0) @binding(7) var<storage, read> bias: array<f32>;
@group(0) @binding(8) var<storage, read> logq: array<f32>;
@group(0) @binding(9) var<storage, read_write> gathered: array<f32>;
@group(0) @binding(10) var<storage, read_write> user_t: array<f32>;
@group(0) @binding(11) var<storage, read_write> row_max: array<f32>;
@group(0) @binding(12) var<storage, read_write> logits4: array<vec4<f32>>;
@group(0) @binding(13) var<storage, read_write> stats: array<f32>;
@group(0) @binding(14) var<storage, read_write> loss: array<f32>;
@group(0) @binding(15) var<storage, read> upstream: array<f32>;
@group(0) @binding(16) var<storage, read> user_part_t: array<f32>;
@group(0) @binding(17) var<storage, read> slot_grad: array<f32>;
@group(0) @binding(18) var<storage, read> slot_sum: array<f32>;
@group(0) @binding(19) var<storage, read> plan: array<i32>;
@group(0) @binding(20) var<storage, read_write> grad_user: array<f32>;
@group(0) @binding(21) var<storage, read_write> grad_rows: array<f32>;
@group(0) @binding(22) var<storage, read_write> grad_bias_rows: array<f32>;
@group(0) @binding(23) var<storage, read_write> slot_offset: array<f32>;
@group(0) @binding(24) var<storage, read_write> label_grad: array<f32>;
@group(0) @binding(27) var<storage, read_write> gathered_t: array<f32>;
// grad_finish4 (d % 4 == 0): the same buffers as user, src, slot_grad, grad_user and
// grad_rows, four columns at a time.
@group(0) @binding(25) var<storage, read> user4: array<vec4<f32>>;
@group(0) @binding(26) var<storage, read> src4: array<vec4<f32>>;
@group(0) @binding(28) var<storage, read> slot_grad4: array<vec4<f32>>;
@group(0) @binding(20) var<storage, read_write> grad_user4: array<vec4<f32>>;
@group(0) @binding(21) var<storage, read_write> grad_rows4: array<vec4<f32>>;

fn has(flag: u32) -> bool {
  return (params.flags & flag) != 0u;
}

// c_item − logQ_item, as enabled.
fn logit_offset(item: i32) -> f32 {
  var o = 0.0;
  if (has(HAS_BIAS)) { o += bias[item]; }
  if (has(HAS_LOGQ)) { o -= logq[item]; }
  return o;
}

// Whether a dot product of vectors whose entries are below max_a and max_b in magnitude can
// overflow when summed plainly: every term and partial sum is below d·2^(ka+kb), with
// max_a < 2^ka. Decided from magnitudes, never by testing a result for infinity or NaN.
fn may_overflow(max_a: f32, max_b: f32) -> bool {
  return f32(frexp(max_a).exp + frexp(max_b).exp) + log2(f32(max(params.dim, 1u))) >= 125.0;
}

// ldexp(scaled, k) saturated at ±SAT, for |scaled| ≤ d: the test never forms the huge value.
fn saturated_ldexp(scaled: f32, k: i32) -> f32 {
  if (scaled != 0.0 && f32(k) + log2(abs(scaled)) >= 126.0) { return sign(scaled) * SAT; }
  return clamp(ldexp(scaled, k), -SAT, SAT);
}

// v_b · src[row], summed with both vectors scaled by powers of two (exact), saturated.
fn scaled_label_dot(b: u32, row: u32, max_v: f32, max_w: f32) -> f32 {
  let d = params.dim;
  let kv = frexp(max_v).exp;
  let kw = frexp(max_w).exp;
  var scaled = 0.0;
  for (var c = 0u; c < d; c++) { scaled += ldexp(user[b * d + c], -kv) * ldexp(src[row * d + c], -kw); }
  return saturated_ldexp(scaled, kv + kw);
}

// v_b · G[s], likewise.
fn scaled_slot_dot(b: u32, s: u32, max_v: f32, max_w: f32) -> f32 {
  let d = params.dim;
  let kv = frexp(max_v).exp;
  let kw = frexp(max_w).exp;
  var scaled = 0.0;
  for (var c = 0u; c < d; c++) { scaled += ldexp(user[b * d + c], -kv) * ldexp(gathered[s * d + c], -kw); }
  return saturated_ldexp(scaled, kv + kw);
}

// One thread per row: threads [0, S) copy negative row s of src into G and record its largest
// magnitude; threads [S, S + B) copy user row b into column b of Vᵀ, record its largest
// magnitude, and compute the label logit stats[b, 0] (scaled where it could overflow).
@compute @workgroup_size(256)
fn prepare(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_index(gid, nwg);
  let S = params.num_neg;
  let B = params.batch;
  let d = params.dim;
  if (t < S) {
    let row = u32(negative_rows[t]);
    var top = 0.0;
    for (var c = 0u; c < d; c++) {
      let w = src[row * d + c];
      gathered[t * d + c] = w;
      gathered_t[c * S + t] = w;
      top = max(top, abs(w));
    }
    row_max[t] = top;
    slot_offset[t] = logit_offset(negatives[t]);
    return;
  }
  let b = t - S;
  let B4 = 4u * params.quads;
  if (b >= B4) { return; }
  if (b >= B) {
    // Vᵀ's padding columns: zeros, so the product's padding columns are finite.
    for (var c = 0u; c < d; c++) { user_t[c * B4 + b] = 0.0; }
    return;
  }
  let y = u32(label_rows[b]);
  var top_v = 0.0;
  var top_w = 0.0;
  var dot = 0.0;
  for (var c = 0u; c < d; c++) {
    let v = user[b * d + c];
    let w = src[y * d + c];
    user_t[c * B4 + b] = v;
    top_v = max(top_v, abs(v));
    top_w = max(top_w, abs(w));
    dot += v * w;
  }
  row_max[S + b] = top_v;
  var raw = dot;
  if (may_overflow(top_v, top_w)) { raw = scaled_label_dot(b, y, top_v, top_w); }
  stats[b * 4u] = clamp(raw + logit_offset(labels[b]), -SAT, SAT);
}

// Logits l_bs of the four samples of quad q from the (overflow-safe) dot products in logits4,
// saturated: row s of Lᵀ holds B4 = 4·quads columns (B rounded up; the columns past B are the
// products with Vᵀ's zero padding).
fn slot_logits(s: u32, q: u32) -> vec4<f32> {
  return clamp(logits4[s * params.quads + q] + slot_offset[s], vec4<f32>(-SAT), vec4<f32>(SAT));
}

// One thread per quad q of samples b = 4q .. 4q + 3 (columns of Lᵀ, read as one vec4 per slot):
// stats[b] = (l_0, m_b, log Σ_b, loss_b), and with WRITE_PROBS the columns overwritten by
// p_bs = exp(l_bs − m_b) / Σ_b (0 for hits and for the padding columns past B) and
// label_grad[b] = p_b0 − 1.
@compute @workgroup_size(16)
fn forward_lse(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let q = (wid.x + wid.y * nwg.x) * LSE_QUADS + li;
  if (q >= params.quads) { return; }
  let B = params.batch;
  let S = params.num_neg;
  let samples = vec4<u32>(4u * q) + vec4<u32>(0u, 1u, 2u, 3u);
  let real = samples < vec4<u32>(B);
  // Padding samples read sample B − 1's statistics and are never stored.
  let bs = min(samples, vec4<u32>(B - 1u));
  // Rare path: recompute, scaled, the dot products that could have overflowed in the product.
  var top_w = 0.0;
  for (var s = 0u; s < S; s++) { top_w = max(top_w, row_max[s]); }
  for (var j = 0u; j < 4u; j++) {
    let b = bs[j];
    let top_v = row_max[S + b];
    if (real[j] && may_overflow(top_v, top_w)) {
      for (var s = 0u; s < S; s++) {
        if (may_overflow(top_v, row_max[s])) { logits4[s * params.quads + q][j] = scaled_slot_dot(b, s, top_v, row_max[s]); }
      }
    }
  }
  let l0 = vec4<f32>(stats[bs.x * 4u], stats[bs.y * 4u], stats[bs.z * 4u], stats[bs.w * 4u]);
  let y = vec4<i32>(labels[bs.x], labels[bs.y], labels[bs.z], labels[bs.w]);
  // The max is only a shift, and a hit's logit is l_0's (the same row, up to rounding): hits
  // need no mask here, only in the sum and the probabilities.
  var top = l0;
  for (var s = 0u; s < S; s++) { top = max(top, slot_logits(s, q)); }
  let remove_hits = has(REMOVE_HITS);
  let write_probs = has(WRITE_PROBS);
  var total = exp(l0 - top);
  for (var s = 0u; s < S; s++) {
    let hit = (vec4<i32>(negatives[s]) == y) & vec4<bool>(remove_hits);
    // With WRITE_PROBS the shifted exponentials e_bs stay in Lᵀ (0 for hits and padding) for
    // the probabilities below; the padding lanes' sums are never stored.
    let e = select(exp(slot_logits(s, q) - top), vec4<f32>(0.0), hit | (!real & vec4<bool>(write_probs)));
    if (write_probs) { logits4[s * params.quads + q] = e; }
    total += e;
  }
  let log_total = log(total);
  for (var j = 0u; j < 4u; j++) {
    if (real[j]) {
      let b = bs[j];
      stats[b * 4u + 1u] = top[j];
      stats[b * 4u + 2u] = log_total[j];
      // (top − l0) + log Σ rather than lse − l0: exact when the label logit is the largest.
      stats[b * 4u + 3u] = (top[j] - l0[j]) + log_total[j];
    }
  }
  if (write_probs) {
    // p = e / Σ: logits tied at the top share the probability exactly (never exp(l − lse),
    // whose m + log Σ rounds back to m at saturation).
    // Σ ≥ 1 for a real sample (its largest logit contributes exp(0)); the padding lanes' Σ may
    // be 0 (their e are all 0), so they divide by 1: their e, hence their p, stay 0.
    let inv = 1.0 / select(total, vec4<f32>(1.0), !real);
    let lg = exp(l0 - top) * inv - 1.0;
    for (var j = 0u; j < 4u; j++) {
      if (real[j]) { label_grad[bs[j]] = lg[j]; }
    }
    for (var s = 0u; s < S; s++) {
      let at = s * params.quads + q;
      logits4[at] = logits4[at] * inv;
    }
  }
}

// loss[0] = mean of loss_b, summed in a fixed order by one workgroup.
@compute @workgroup_size(256)
fn forward_mean(@builtin(local_invocation_index) li: u32) {
  var acc = 0.0;
  for (var b = li; b < params.batch; b += 256u) { acc += stats[b * 4u + 3u]; }
  let total = workgroup_sum_256(li, acc);
  if (li == 0u) { loss[0] = total / f32(params.batch); }
}

// dLoss / B.
fn loss_scale() -> f32 {
  return upstream[0] / f32(params.batch);
}

// γ Σ over touched row r's plan entries in order: an entry e ≥ 0 is negative slot e
// (slot_sum[e] = Σ_b p_be), e < 0 the label of sample −e − 1 (p_b0 − 1): row r's bias gradient.
fn bias_row_grad(r: u32) -> f32 {
  let entries = params.rows + 1u;
  var acc = 0.0;
  for (var k = plan[r]; k < plan[r + 1u]; k++) {
    let e = plan[entries + u32(k)];
    if (e >= 0) {
      acc += slot_sum[e];
    } else {
      acc += label_grad[u32(-e - 1)];
    }
  }
  return loss_scale() * acc;
}

// One thread per output element, in three ranges (B' = user_rows):
//   [0, B'·d)            grad_user[b, c] = γ (user_part_t[c, b] + (p_b0 − 1) W_{y_b, c})
//   [B'·d, B'·d + R·d)   grad_rows[r, c] = γ Σ over row r's plan entries in order: an entry
//                        e ≥ 0 is negative slot e (slot_grad[e, c]), e < 0 the label of sample
//                        −e − 1 ((p_b0 − 1) v_b[c])
//   R more with HAS_BIAS grad_bias_rows[r] (bias_row_grad).
// grad_finish4 is the same with four columns per thread (d % 4 == 0, vec4 loads and stores).
@compute @workgroup_size(256)
fn grad_finish(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  let d = params.dim;
  let user_end = params.user_rows * d;
  if (i < user_end) {
    let b = i / d;
    let c = i % d;
    let B4 = 4u * params.quads;
    grad_user[i] = loss_scale() * (user_part_t[c * B4 + b] + label_grad[b] * src[u32(label_rows[b]) * d + c]);
    return;
  }
  let R = params.rows;
  let j = i - user_end;
  if (j >= R * d) {
    let r = j - R * d;
    if (has(HAS_BIAS) && r < R) { grad_bias_rows[r] = bias_row_grad(r); }
    return;
  }
  let r = j / d;
  let c = j % d;
  let entries = R + 1u;
  var acc = 0.0;
  for (var k = plan[r]; k < plan[r + 1u]; k++) {
    let e = plan[entries + u32(k)];
    if (e >= 0) {
      acc += slot_grad[u32(e) * d + c];
    } else {
      let b = u32(-e - 1);
      acc += label_grad[b] * user[b * d + c];
    }
  }
  grad_rows[j] = loss_scale() * acc;
}

@compute @workgroup_size(256)
fn grad_finish4(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  let d4 = params.dim / 4u;
  let user_end = params.user_rows * d4;
  if (i < user_end) {
    let b = i / d4;
    let c4 = i % d4;
    // Column b of (P·G)ᵀ, rows 4·c4 .. 4·c4 + 3.
    let B4 = 4u * params.quads;
    let at = 4u * c4 * B4 + b;
    let part = vec4<f32>(user_part_t[at], user_part_t[at + B4], user_part_t[at + 2u * B4], user_part_t[at + 3u * B4]);
    grad_user4[i] = loss_scale() * (part + label_grad[b] * src4[u32(label_rows[b]) * d4 + c4]);
    return;
  }
  let R = params.rows;
  let j = i - user_end;
  if (j >= R * d4) {
    let r = j - R * d4;
    if (has(HAS_BIAS) && r < R) { grad_bias_rows[r] = bias_row_grad(r); }
    return;
  }
  let r = j / d4;
  let c4 = j % d4;
  let entries = R + 1u;
  var acc = vec4<f32>(0.0);
  for (var k = plan[r]; k < plan[r + 1u]; k++) {
    let e = plan[entries + u32(k)];
    if (e >= 0) {
      acc += slot_grad4[u32(e) * d4 + c4];
    } else {
      let b = u32(-e - 1);
      acc += label_grad[b] * user4[b * d4 + c4];
    }
  }
  grad_rows4[j] = loss_scale() * acc;
}
