// Softmax cross-entropy over sampled candidates whose logits are already computed (SPEC §3's
// loss with the product taken elsewhere): the multi-interest loss of
// src/autograd/ops/candidate-softmax.ts scores candidates by the max over interests
// (interest_max.wgsl) and needs the loss of SPEC §3 on those logits.
//
// logits [B, C] hold a score for each candidate column c (the batch's labels and negatives,
// deduplicated). Row b's label is column labels[b]; the S negatives shared by the batch are
// columns negatives[s], duplicates allowed (a sampler with replacement). With the log of each
// column's expected count q_c (HAS_LOGQ) and REMOVE_HITS, row b keeps n_b slots:
//   l_0 = logits[b, y_b] − q_{y_b},   l_s = logits[b, n_s] − q_{n_s},  skipped where n_s = y_b
//   loss_b = log(exp(l_0) + N_b) − l_0,  N_b = Σ_s exp(l_s)          (β = 0: SPEC §3)
// Interest-aware hard negatives (REMI, Xie et al., RecSys 2023, §4.1) re-weight the negatives
// towards the hard ones with importance weights w_s = n_b softmax_s(β l_s), β ≥ 0:
//   N_b = Σ_s w_s exp(l_s) = n_b Σ_s exp((1+β) l_s) / Σ_s exp(β l_s)
// computed max-shifted (m = max_s l_s): log N_b = log n_b + m + log A − log B' with
// A = Σ exp((1+β)(l_s − m)) and B' = Σ exp(β(l_s − m)), both ≥ 1, so nothing overflows.
// Backward, with σ_b = exp(l_0 − lse_b), a_s = exp((1+β)(l_s − m) − log A),
// b_s = exp(β(l_s − m) − log B') and count_c = the number of kept slots drawing column c:
//   dl_0 = σ_b − 1,   dl_s = (1 − σ_b)((1+β) a_s − β b_s)     (β = 0: dl_s = exp(l_s − lse_b))
// All draws of one column share its logit, so the per-column count replaces a scatter over the
// slots: the backward is one thread per (b, c), no atomics, bitwise reproducible.
// Bindings: 0 params, 1 logits [B, C], 2 labels [B] i32, 3 negatives [S] i32, 4 logq [C],
// 5 row_loss [B], 6 stats [B, 5] (lse, log N, m, log A, log B'), 7 upstream [B],
// 8 counts [C] i32, 9 grad_logits [B, C].

const HAS_LOGQ = 1u;
const REMOVE_HITS = 2u;

struct Params {
  batch: u32,
  cols: u32,
  num_neg: u32,
  flags: u32,
  beta: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read> negatives: array<i32>;
@group(0) @binding(4) var<storage, read> logq: array<f32>;
@group(0) @binding(5) var<storage, read_write> row_loss: array<f32>;
@group(0) @binding(6) var<storage, read_write> stats: array<f32>;
@group(0) @binding(7) var<storage, read> upstream: array<f32>;
@group(0) @binding(8) var<storage, read> counts: array<i32>;
@group(0) @binding(9) var<storage, read_write> grad_logits: array<f32>;

// The corrected logit of column c for row b.
fn corrected(b: u32, c: u32) -> f32 {
  var l = logits[b * params.cols + c];
  if ((params.flags & HAS_LOGQ) != 0u) {
    l -= logq[c];
  }
  return l;
}

// One thread per row: the label logit, then a max pass and a sum pass over the kept slots.
@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = flat_index(gid, nwg);
  if (b >= params.batch) { return; }
  let y = u32(labels[b]);
  let remove_hits = (params.flags & REMOVE_HITS) != 0u;
  let beta = params.beta;
  let l0 = corrected(b, y);
  var kept = 0u;
  var m = -3.4028234e38;
  for (var s = 0u; s < params.num_neg; s++) {
    let c = u32(negatives[s]);
    if (remove_hits && c == y) { continue; }
    kept++;
    m = max(m, corrected(b, c));
  }
  var row_lse = l0;
  var log_n = -3.4028234e38;
  var log_a = 0.0;
  var log_b = 0.0;
  if (kept > 0u) {
    var a = 0.0;
    var bsum = 0.0;
    for (var s = 0u; s < params.num_neg; s++) {
      let c = u32(negatives[s]);
      if (remove_hits && c == y) { continue; }
      let x = corrected(b, c) - m;
      a += exp((1.0 + beta) * x);
      bsum += exp(beta * x);
    }
    log_a = log(a);
    log_b = log(bsum);
    // β = 0: B' = n_b exactly, so log N = m + log A without a rounded log n − log n.
    log_n = select(log(f32(kept)) + m + log_a - log_b, m + log_a, beta == 0.0);
    let top = max(l0, log_n);
    row_lse = top + log(exp(l0 - top) + exp(log_n - top));
  }
  stats[b * 5u] = row_lse;
  stats[b * 5u + 1u] = log_n;
  stats[b * 5u + 2u] = m;
  stats[b * 5u + 3u] = log_a;
  stats[b * 5u + 4u] = log_b;
  row_loss[b] = row_lse - l0;
}

@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.batch * params.cols) { return; }
  let b = i / params.cols;
  let c = i % params.cols;
  let beta = params.beta;
  let row_lse = stats[b * 5u];
  let is_label = c == u32(labels[b]);
  let l = corrected(b, c);
  var grad = 0.0;
  if (counts[c] > 0 && !(is_label && (params.flags & REMOVE_HITS) != 0u)) {
    let x = l - stats[b * 5u + 2u];
    let a = exp((1.0 + beta) * x - stats[b * 5u + 3u]);
    let w = exp(stats[b * 5u + 1u] - row_lse) * ((1.0 + beta) * a - beta * exp(beta * x - stats[b * 5u + 4u]));
    grad = f32(counts[c]) * w;
  }
  if (is_label) {
    grad += exp(l - row_lse) - 1.0;
  }
  grad_logits[i] = upstream[b] * grad;
}
