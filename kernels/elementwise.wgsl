// Element-wise kernels over flat f32 arrays of length params.n.
// Dispatch: ceil(n / 256) workgroups of 256, split over x and y when above 65535; the flat index
// is rebuilt from num_workgroups so no size needs compiling in.
// Bindings: 0 params, 1 a, 2 b (binary ops and gradients only), 3 out.

struct Params {
  n: u32,
  alpha: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

// out = a + b
@compute @workgroup_size(256)
fn add(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i < params.n) { out[i] = a[i] + b[i]; }
}

// out = a * b
@compute @workgroup_size(256)
fn mul(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i < params.n) { out[i] = a[i] * b[i]; }
}

// out = alpha * a
@compute @workgroup_size(256)
fn scale(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i < params.n) { out[i] = params.alpha * a[i]; }
}

// out = max(a, 0)
@compute @workgroup_size(256)
fn relu(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i < params.n) { out[i] = max(a[i], 0.0); }
}

// out = b where a > 0 else 0: the ReLU gradient, a = the ReLU's input, b = upstream gradient.
// The gradient at exactly 0 is taken as 0.
@compute @workgroup_size(256)
fn relu_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i < params.n) { out[i] = select(0.0, b[i], a[i] > 0.0); }
}

// out = alpha
@compute @workgroup_size(256)
fn fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i < params.n) { out[i] = params.alpha; }
}
