// Label-aware attention (SPEC §2): v_b = Σ_j a_bj V_bj over the active interests j < K_b, with
// a_b = softmax_j(t_bj), s_bj = V_bj · e_b and
//   mode POW:   t = sign(s)·|s|^p   (0 < p < ∞, p ≠ 1; the host maps p = 0 and p = 1 to SCALE)
//   mode SCALE: t = p·s             (0 ≤ p < ∞)
//   mode HARD:  one-hot at the first argmax of s (p = ∞ in either mode).
//
// One workgroup of 64 threads per sample b (b = workgroup index, flattened over x and y):
// thread j computes s_j (K is small, d ≤ a few hundred), thread 0 turns the K scores into
// weights, then the threads split the d output columns. Every sum runs in a fixed order.
//
// Overflow (POW): t is evaluated as sign(s)·2^(p·log2|s|). Where p·log2|s| > SAT_LOG2 the
// power is treated as overflowing: such a t differs from every other t by far more than 100
// (distinct f32 scores differ by at least one ulp, and the power magnifies that by 2^120), so
// its softmax weight is exactly 0 unless it is the maximum, and when the maximum itself
// overflows the weights are uniform over the interests whose score equals the maximum exactly
// (one-hot unless there is an exact tie): the limit, computed without ever forming an infinity.
//
// Overflow of the scores: s = V·e summed plainly overflows (to ±inf, or NaN from inf − inf) only
// when the score or one of its terms is beyond f32's range. Where the magnitudes allow that, the
// score is computed with V and e scaled by powers of two (exact) and saturated at
// ±SAT_SCORE = ±2^126: the order of the
// scores, which is all the weights depend on at that size, survives, differences of scores stay
// finite, and no infinity reaches the weights. The saturated score's own interest then gets the
// limit weight (1 when it is the only maximum) in every mode.
//
// Saved for the backward: attn [B, K] (the weights, 0 for inactive j) and slope [B, K] = dt/ds,
// set to 0 where the weights are taken as constants: HARD mode, and POW rows whose maximum
// overflows (there the derivative of the weights is exactly 0 except at exact ties, where it is
// unbounded; it is taken as 0 there). At s = 0 with p < 1, where dt/ds is infinite, it is 0.
//
// Dispatch: B workgroups (split over x and y when above 65535).
// Bindings: 0 params, 1 interests [B, K, d], 2 target [B, d], 3 active_k [B] i32 (clamped to
// [1, K]), 4 attn [B, K], 5 slope [B, K], 6 out [B, d], 7 grad_out [B, d],
// 8 grad_interests [B, K, d], 9 grad_target [B, d].

override K: u32;

const WG = 64u;
const MODE_POW = 0u;
const MODE_SCALE = 1u;
const MODE_HARD = 2u;
// log2 of the largest |t| evaluated directly; 2^120 leaves room below f32's 2^128 for sums.
const SAT_LOG2 = 120.0;
// Scores are saturated here (2^126): the difference of two saturated scores is still finite.
const SAT_SCORE = 0x1p126f;

struct Params {
  batch: u32,
  dim: u32,
  mode: u32,
  p: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> interests: array<f32>;
@group(0) @binding(2) var<storage, read> target_vec: array<f32>;
@group(0) @binding(3) var<storage, read> active_k: array<i32>;
@group(0) @binding(4) var<storage, read_write> attn: array<f32>;
@group(0) @binding(5) var<storage, read_write> slope: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<storage, read> grad_out: array<f32>;
@group(0) @binding(8) var<storage, read_write> grad_interests: array<f32>;
@group(0) @binding(9) var<storage, read_write> grad_target: array<f32>;

var<workgroup> score: array<f32, K>;
var<workgroup> weight: array<f32, K>;
var<workgroup> mean_grad: f32;

fn sample_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return wid.x + wid.y * nwg.x;
}

fn active_count(b: u32) -> u32 {
  return u32(clamp(active_k[b], 1, i32(K)));
}

// s = V_j · e for V_j at `base` and e of sample b, saturated at ±SAT_SCORE (see the header).
// Whether the plain sum can overflow is decided from the largest magnitudes beforehand, never
// by testing a result for infinity or NaN (WGSL lets compilers assume neither occurs); below
// the bound the plain sum is exactly the sum this kernel always computed.
fn score_of(base: u32, b: u32, d: u32) -> f32 {
  var top_v = 0.0;
  var top_e = 0.0;
  for (var c = 0u; c < d; c++) {
    top_v = max(top_v, abs(interests[base + c]));
    top_e = max(top_e, abs(target_vec[b * d + c]));
  }
  // |V_c| < 2^kv and |e_c| < 2^ke, so every term and partial sum is below d·2^(kv+ke).
  let kv = frexp(top_v).exp;
  let ke = frexp(top_e).exp;
  if (f32(kv + ke) + log2(f32(max(d, 1u))) < 126.0) {
    var acc = 0.0;
    for (var c = 0u; c < d; c++) { acc += interests[base + c] * target_vec[b * d + c]; }
    return acc;
  }
  // Scaling by powers of two is exact, so this is the plain sum scaled, without overflow.
  var scaled = 0.0;
  for (var c = 0u; c < d; c++) { scaled += ldexp(interests[base + c], -kv) * ldexp(target_vec[b * d + c], -ke); }
  if (scaled == 0.0) { return 0.0; }
  if (f32(kv + ke) + log2(abs(scaled)) >= 126.0) { return sign(scaled) * SAT_SCORE; }
  return ldexp(scaled, kv + ke);
}

// p·log2|s|, the log2 of |t| in POW mode (s ≠ 0).
fn log2_power(s: f32) -> f32 {
  return params.p * log2(abs(s));
}

// t = sign(s)·|s|^p with the exponent capped at SAT_LOG2 (the caller handles overflow).
fn signed_power(s: f32) -> f32 {
  if (s == 0.0) { return 0.0; }
  return sign(s) * exp2(min(log2_power(s), SAT_LOG2));
}

// p·gap for gap ≥ 0 without overflowing: beyond 1e30 the weight exp(−p·gap) is 0 anyway.
fn scaled_gap(gap: f32) -> f32 {
  if (gap <= 0.0 || params.p <= 0.0) { return 0.0; }
  if (log2(params.p) + log2(gap) > 99.0) { return 1e30; }
  return params.p * gap;
}

// dt/ds = p·|s|^(p−1) in POW mode, capped at 2^SAT_LOG2; 0 at s = 0.
fn power_slope(s: f32) -> f32 {
  if (s == 0.0) { return 0.0; }
  return exp2(min(log2(params.p) + (params.p - 1.0) * log2(abs(s)), SAT_LOG2));
}

// Fills weight[0..kb) with the normalised attention weights of the scores in score[0..kb) and
// writes attn and slope rows of sample b (zeros for inactive interests). Run by one thread.
fn attention_weights(b: u32, kb: u32) {
  var best = 0u;
  for (var j = 1u; j < kb; j++) {
    if (score[j] > score[best]) { best = j; }
  }
  let top = score[best];
  let row = b * K;
  var total = 0.0;
  if (params.mode == MODE_HARD) {
    for (var j = 0u; j < kb; j++) {
      weight[j] = select(0.0, 1.0, j == best);
      slope[row + j] = 0.0;
    }
    total = 1.0;
  } else if (params.mode == MODE_SCALE) {
    for (var j = 0u; j < kb; j++) {
      weight[j] = select(exp(-scaled_gap(top - score[j])), 1.0, score[j] == top);
      slope[row + j] = params.p;
      total += weight[j];
    }
  } else {
    let saturated = top != 0.0 && log2_power(top) > SAT_LOG2;
    let t_top = signed_power(top);
    for (var j = 0u; j < kb; j++) {
      let s = score[j];
      var w = 0.0;
      if (s == top) {
        w = 1.0;
      } else if (!saturated && (s == 0.0 || log2_power(s) <= SAT_LOG2)) {
        w = exp(signed_power(s) - t_top);
      }
      weight[j] = w;
      slope[row + j] = select(power_slope(s), 0.0, saturated);
      total += w;
    }
  }
  for (var j = 0u; j < kb; j++) {
    weight[j] = weight[j] / total;
    attn[row + j] = weight[j];
  }
  for (var j = kb; j < K; j++) {
    attn[row + j] = 0.0;
    slope[row + j] = 0.0;
  }
}

// out[b] = Σ_{j < K_b} a_bj V_bj; also writes attn and slope.
@compute @workgroup_size(64)
fn forward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let b = sample_index(wid, nwg);
  if (b >= params.batch) { return; }
  let d = params.dim;
  let kb = active_count(b);
  for (var j = lid; j < kb; j += WG) {
    score[j] = score_of((b * K + j) * d, b, d);
  }
  workgroupBarrier();
  if (lid == 0u) { attention_weights(b, kb); }
  workgroupBarrier();
  for (var c = lid; c < d; c += WG) {
    var acc = 0.0;
    for (var j = 0u; j < kb; j++) { acc += weight[j] * interests[(b * K + j) * d + c]; }
    out[b * d + c] = acc;
  }
}

// With g_j = dv · V_j, ḡ = Σ_j a_j g_j and ds_j = a_j (g_j − ḡ) · slope_j:
// dV_j = a_j dv + ds_j e (0 for inactive j), de = Σ_j ds_j V_j.
@compute @workgroup_size(64)
fn backward(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let b = sample_index(wid, nwg);
  if (b >= params.batch) { return; }
  let d = params.dim;
  let kb = active_count(b);
  for (var j = lid; j < kb; j += WG) {
    let base = (b * K + j) * d;
    var acc = 0.0;
    for (var c = 0u; c < d; c++) { acc += grad_out[b * d + c] * interests[base + c]; }
    score[j] = acc;
    weight[j] = attn[b * K + j];
  }
  workgroupBarrier();
  if (lid == 0u) {
    var acc = 0.0;
    for (var j = 0u; j < kb; j++) { acc += weight[j] * score[j]; }
    mean_grad = acc;
  }
  workgroupBarrier();
  for (var j = lid; j < kb; j += WG) {
    score[j] = weight[j] * (score[j] - mean_grad) * slope[b * K + j];
  }
  workgroupBarrier();
  for (var c = lid; c < d; c += WG) {
    let dv = grad_out[b * d + c];
    let e = target_vec[b * d + c];
    var de = 0.0;
    for (var j = 0u; j < kb; j++) {
      let i = (b * K + j) * d + c;
      grad_interests[i] = weight[j] * dv + score[j] * e;
      de += score[j] * interests[i];
    }
    for (var j = kb; j < K; j++) { grad_interests[(b * K + j) * d + c] = 0.0; }
    grad_target[b * d + c] = de;
  }
}
