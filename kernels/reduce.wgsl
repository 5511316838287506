// Deterministic reductions: every sum is taken in an order fixed by the sizes alone (no atomics,
// no dependence on scheduling), so repeated runs give identical bits.
// Bindings: 0 params, 1 x (input), 2 out.

struct Params {
  n: u32,        // sum_blocks: element count; sum_middle: rows R; broadcast_scalar: output count
  cols: u32,     // sum_middle: columns C
  outer: u32,    // sum_middle: batches B
  chunk: u32,    // sum_middle: rows summed per output row
  alpha: f32,    // scale applied to every result
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const BLOCK = 1024u;

// One level of a 1024-ary tree over x[0 .. n): workgroup w writes
// out[w] = alpha · Σ x[w·1024 .. w·1024 + 1023] (zeros past n). Each thread adds four
// elements 256 apart (coalesced), then the workgroup halves its 256 partial sums in shared
// memory. Applied repeatedly until one value is left. Dispatch: max(1, ceil(n / 1024))
// workgroups, over x and y.
@compute @workgroup_size(256)
fn sum_blocks(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let block = wg.x + wg.y * nwg.x;
  let start = block * BLOCK + li;
  var acc = 0.0;
  for (var s = 0u; s < 4u; s++) {
    let i = start + s * 256u;
    if (i < params.n) { acc += x[i]; }
  }
  let total = workgroup_sum_256(li, acc);
  if (li == 0u) { out[block] = params.alpha * total; }
}

// One level of a chunked sum over the middle axis of x [B, R, C]:
// out[b, q, c] = alpha · Σ_{r in [q·chunk, min((q+1)·chunk, R))} x[b, r, c], in ascending r,
// for q < ceil(R / chunk). Applied repeatedly until one row per batch is left. One thread per
// output element; neighbouring threads take neighbouring columns.
@compute @workgroup_size(256)
fn sum_middle(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  let chunks = (params.n + params.chunk - 1u) / params.chunk;
  if (i >= params.outer * chunks * params.cols) { return; }
  let c = i % params.cols;
  let q = (i / params.cols) % chunks;
  let batch = i / (params.cols * chunks);
  let end = min((q + 1u) * params.chunk, params.n);
  var acc = 0.0;
  for (var r = q * params.chunk; r < end; r++) {
    acc += x[(batch * params.n + r) * params.cols + c];
  }
  out[i] = params.alpha * acc;
}

// out[i] = alpha · x[0] for i < n: the gradient of a sum or mean spread over its input.
@compute @workgroup_size(256)
fn broadcast_scalar(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i < params.n) { out[i] = params.alpha * x[0]; }
}
