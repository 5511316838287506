// Softmax cross-entropy over sampled candidates whose logits are already computed (SPEC §3's
// loss with the product taken elsewhere): the multi-interest loss of
// src/autograd/ops/candidate-softmax.ts scores candidates by the max over interests
// (interest_max.wgsl) and needs the loss of SPEC §3 on those logits.
//
// logits [B, C] hold a score for each candidate column c (the batch's labels and negatives,
// deduplicated). Row b's label is column labels[b]; the S negatives shared by the batch are
// columns negatives[s], duplicates allowed (a sampler with replacement). With the log of each
// column's expected count q_c (HAS_LOGQ) and REMOVE_HITS:
//   l_0 = logits[b, y_b] − q_{y_b},   l_s = logits[b, n_s] − q_{n_s},  skipped where n_s = y_b
//   loss_b = logsumexp(l_0, l_1..l_S) − l_0   (max-shifted: finite for any finite logits)
// Backward, with p_bc = exp(logits[b, c] − q_c − lse_b) and count_c = the number of negative
// slots drawing column c:
//   dlogits[b, c] = g_b (count_c p_bc [not a removed hit] + [c = y_b] (p_bc − 1))
// All draws of one column share its logit, so the per-column count replaces a scatter over the
// slots: the backward is one thread per (b, c), no atomics, bitwise reproducible.
// Bindings: 0 params, 1 logits [B, C], 2 labels [B] i32, 3 negatives [S] i32, 4 logq [C],
// 5 row_loss [B], 6 lse [B], 7 upstream [B], 8 counts [C] i32, 9 grad_logits [B, C].

const HAS_LOGQ = 1u;
const REMOVE_HITS = 2u;

struct Params {
  batch: u32,
  cols: u32,
  num_neg: u32,
  flags: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> logits: array<f32>;
@group(0) @binding(2) var<storage, read> labels: array<i32>;
@group(0) @binding(3) var<storage, read> negatives: array<i32>;
@group(0) @binding(4) var<storage, read> logq: array<f32>;
@group(0) @binding(5) var<storage, read_write> row_loss: array<f32>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;
@group(0) @binding(7) var<storage, read> upstream: array<f32>;
@group(0) @binding(8) var<storage, read> counts: array<i32>;
@group(0) @binding(9) var<storage, read_write> grad_logits: array<f32>;

fn flat_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
  return gid.x + gid.y * nwg.x * 256u;
}

// The corrected logit of column c for row b.
fn corrected(b: u32, c: u32) -> f32 {
  var l = logits[b * params.cols + c];
  if ((params.flags & HAS_LOGQ) != 0u) {
    l -= logq[c];
  }
  return l;
}

// One thread per row: the label logit, a max pass and a sum pass over the S slots.
@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let b = flat_index(gid, nwg);
  if (b >= params.batch) { return; }
  let y = u32(labels[b]);
  let remove_hits = (params.flags & REMOVE_HITS) != 0u;
  let l0 = corrected(b, y);
  var m = l0;
  for (var s = 0u; s < params.num_neg; s++) {
    let c = u32(negatives[s]);
    if (remove_hits && c == y) { continue; }
    m = max(m, corrected(b, c));
  }
  var total = exp(l0 - m);
  for (var s = 0u; s < params.num_neg; s++) {
    let c = u32(negatives[s]);
    if (remove_hits && c == y) { continue; }
    total += exp(corrected(b, c) - m);
  }
  let row_lse = m + log(total);
  lse[b] = row_lse;
  row_loss[b] = row_lse - l0;
}

@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.batch * params.cols) { return; }
  let b = i / params.cols;
  let c = i % params.cols;
  let is_label = c == u32(labels[b]);
  let p = exp(corrected(b, c) - lse[b]);
  var grad = 0.0;
  if (!(is_label && (params.flags & REMOVE_HITS) != 0u)) {
    grad = f32(counts[c]) * p;
  }
  if (is_label) {
    grad += p - 1.0;
  }
  grad_logits[i] = upstream[b] * grad;
}
