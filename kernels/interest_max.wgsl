// Max over a user's active interests of per-interest candidate scores: the score SPEC §5 ranks
// items by at serving time (max_j V_j · e over active j), computed for the candidates of a
// training step so the loss can be taken on exactly that score (MindConfig.candidateScore =
// 'maxInterest'; src/autograd/ops/interest-max.ts).
//
//   forward:  out[b, c] = max over j < K_b of scores[b, j, c];  argmax[b, c] = the lowest j
//             reaching it (so ties go to the lowest interest, as in label-aware attention's
//             hard mode, SPEC §2)
//   backward: grad_scores[b, j, c] = g[b, c] where j = argmax[b, c], else exact 0
//
// K_b = clamp(active_k[b], 1, K). One thread per output element; the flat index is rebuilt from
// num_workgroups so any size fits the 2-D dispatch (as elementwise.wgsl does).
// Bindings: 0 params, 1 scores [B, K, C], 2 active_k [B] i32, 3 out [B, C], 4 argmax [B, C] i32,
// 5 upstream [B, C], 6 grad_scores [B, K, C].

struct Params {
  batch: u32,
  k: u32,
  cols: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> scores: array<f32>;
@group(0) @binding(2) var<storage, read> active_k: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> argmax: array<i32>;
@group(0) @binding(5) var<storage, read> upstream: array<f32>;
@group(0) @binding(6) var<storage, read_write> grad_scores: array<f32>;

@compute @workgroup_size(256)
fn forward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.batch * params.cols) { return; }
  let b = i / params.cols;
  let c = i % params.cols;
  let kb = u32(clamp(active_k[b], 1, i32(params.k)));
  var best = scores[b * params.k * params.cols + c];
  var best_j = 0u;
  for (var j = 1u; j < kb; j++) {
    let s = scores[(b * params.k + j) * params.cols + c];
    if (s > best) {
      best = s;
      best_j = j;
    }
  }
  out[i] = best;
  argmax[i] = i32(best_j);
}

@compute @workgroup_size(256)
fn backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.batch * params.k * params.cols) { return; }
  let c = i % params.cols;
  let j = (i / params.cols) % params.k;
  let b = i / (params.cols * params.k);
  let o = b * params.cols + c;
  grad_scores[i] = select(0.0, upstream[o], u32(argmax[o]) == j);
}
