// Adam updates, in place on the parameter and its moment buffers m and v.
//   g ← grad + weight_decay · param          (L2 regularisation added to the gradient)
//   m ← β1·m + (1 − β1)·g,   v ← β2·v + (1 − β2)·g²
//   param ← param − lr · (m / bc1) / (sqrt(v / bc2) + eps),   bc1 = 1 − β1^t, bc2 = 1 − β2^t
// The host computes bc1 and bc2 in float64 from the step count t.
// One thread per updated element; flat index rebuilt from num_workgroups (ceil(count / 256)
// workgroups, over x and y).
// Bindings: 0 params, 1 grad, 2 rows (i32, adam_rows only), 3 param, 4 m, 5 v.

struct Params {
  count: u32,   // adam_dense: elements; adam_rows: touched rows
  width: u32,   // adam_rows: elements per row
  first: u32,   // adam_rows: row of grad holding the gradient of rows[0] (0 for adam_dense)
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  weight_decay: f32,
  bc1: f32,
  bc2: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read> rows: array<i32>;
@group(0) @binding(3) var<storage, read_write> param: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;

fn update(i: u32, raw_grad: f32) {
  let p = param[i];
  let g = raw_grad + params.weight_decay * p;
  let m_new = params.beta1 * m[i] + (1.0 - params.beta1) * g;
  let v_new = params.beta2 * v[i] + (1.0 - params.beta2) * g * g;
  m[i] = m_new;
  v[i] = v_new;
  param[i] = p - params.lr * (m_new / params.bc1) / (sqrt(v_new / params.bc2) + params.eps);
}

// Every element of param, with a dense gradient of the same shape.
@compute @workgroup_size(256)
fn adam_dense(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i < params.count) { update(i, grad[i]); }
}

// Only the rows listed in `rows` (unique, so no two threads share an element), with grad rows
// first .. first + count - 1 their gradient. Other rows of param, m and v are not touched at
// all. For a table split over several buffers, one dispatch per shard: param, m and v are that
// shard's, `rows` are local to it, and `first` picks the shard's slice of the (global) gradient.
@compute @workgroup_size(256)
fn adam_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.count * params.width) { return; }
  let r = i / params.width;
  let c = i % params.width;
  update(u32(rows[r]) * params.width + c, grad[params.first * params.width + i]);
}
