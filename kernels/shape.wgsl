// Layout kernels over row-major f32 matrices: column-block copies (concatenation and its
// gradient), tiling along a new middle axis, and a row-broadcast bias add.
// One thread per output element; the flat index is rebuilt from num_workgroups (dispatch
// ceil(count / 256) workgroups, over x and y).
// Bindings: 0 params, 1 x (input), 2 y (second input, bias_add only), 3 out.

struct Params {
  rows: u32,
  width: u32,       // copy_block: columns copied; tile: P; bias_add: n
  src_stride: u32,  // copy_block: columns of x; tile: K (copies per row)
  src_offset: u32,  // copy_block: first column read in x
  dst_stride: u32,  // copy_block: columns of out
  dst_offset: u32,  // copy_block: first column written in out
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> y: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// out[r, dst_offset + c] = x[r, src_offset + c] for r < rows, c < width: places a block of
// columns (concatenation) or takes one out (its gradient). Other columns of out are untouched.
@compute @workgroup_size(256)
fn copy_block(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.rows * params.width) { return; }
  let r = i / params.width;
  let c = i % params.width;
  out[r * params.dst_stride + params.dst_offset + c] = x[r * params.src_stride + params.src_offset + c];
}

// out[b, k, p] = x[b, p] for x [rows, width] and K = src_stride copies.
@compute @workgroup_size(256)
fn tile(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.rows * params.src_stride * params.width) { return; }
  let p = i % params.width;
  let b = i / (params.width * params.src_stride);
  out[i] = x[b * params.width + p];
}

// out[r, j] = x[r, j] + y[j] for x [rows, width], y [width].
@compute @workgroup_size(256)
fn bias_add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.rows * params.width) { return; }
  out[i] = x[i] + y[i % params.width];
}
