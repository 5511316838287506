// Row gather and scatter for embedding tables, laid out row-major as [rows, width].
// One thread per output element (row, column); flat index rebuilt from num_workgroups.
// Bindings: 0 params, 1 offsets (i32), 2 indices (i32), 3 weights (f32), 4 source (f32), 5 out (f32).

struct Params {
  rows: u32,   // output rows (bag_sum), source rows (rows_scatter_add) or rows copied (rows_gather)
  width: u32,
  first: u32,  // rows_gather: the first output row written; 0 for the others
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> offsets: array<i32>;
@group(0) @binding(2) var<storage, read> indices: array<i32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read> source: array<f32>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;

// Weighted bags of rows: out[r, c] = sum over k in [offsets[r], offsets[r+1]) of
// weights[k] * source[indices[k], c], summed in ascending k so the result is deterministic.
// An empty bag gives exact zeros. Serves both the gather (source = table) and its backward
// (source = output gradient, bags = the occurrences of each touched row, built on the host).
@compute @workgroup_size(256)
fn bag_sum(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.rows * params.width) { return; }
  let r = i / params.width;
  let c = i % params.width;
  var acc = 0.0;
  for (var k = offsets[r]; k < offsets[r + 1u]; k++) {
    acc += weights[k] * source[u32(indices[k]) * params.width + c];
  }
  out[i] = acc;
}

// out[indices[r], c] += source[r, c] for unique indices (no two threads touch one element).
@compute @workgroup_size(256)
fn rows_scatter_add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.rows * params.width) { return; }
  let r = i / params.width;
  let c = i % params.width;
  let dst = u32(indices[r]) * params.width + c;
  out[dst] = out[dst] + source[i];
}

// out[first + r, c] = source[indices[r], c] for r < rows: copies rows of one shard of a table
// (indices local to the shard) into consecutive rows of out, exactly (no arithmetic). A table
// split over several buffers is gathered this way, shard by shard, into one buffer of the rows
// a batch touches, which bag_sum then reads as it would read the unsplit table.
@compute @workgroup_size(256)
fn rows_gather(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.rows * params.width) { return; }
  let r = i / params.width;
  let c = i % params.width;
  out[(params.first + r) * params.width + c] = source[u32(indices[r]) * params.width + c];
}
