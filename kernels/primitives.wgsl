// Composable primitives (src/autograd/ops/primitives.ts): unary maps and their derivatives,
// broadcast binary ops, row-wise reductions over the last axis, a softmax over the last axis
// masked by lengths, and a swap of two adjacent axes.
// Every sum runs in a fixed order (one thread per row, left to right), so results are bitwise
// reproducible. The operation is the override constant OP, so each op compiles to its own
// pipeline with no branch on a uniform.
// Dispatch: one thread per element (flat ops) or per row (row ops), 256-wide workgroups split
// over x and y above 65535 workgroups; the flat index is rebuilt from num_workgroups.
// Bindings: 0 params, 1 a, 2 b, 3 out, 4 lengths (masked softmax only).

struct Params {
  // Elements of out (flat ops) or rows (row ops).
  n: u32,
  // Row width (row ops); elements sharing one b element along the trailing axes (broadcast).
  inner: u32,
  // Elements of b (broadcast): b's index is (i / inner) % bsize.
  bsize: u32,
  // Rows sharing one length (masked softmax); m of the axis swap.
  group: u32,
  // n of the axis swap.
  cols2: u32,
  alpha: f32,
}

override OP: u32 = 0u;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read> lengths: array<i32>;


// tanh without the overflow of (e^2x − 1)/(e^2x + 1): e^(−2|x|) ≤ 1.
fn stable_tanh(x: f32) -> f32 {
  let t = exp(-2.0 * abs(x));
  return sign(x) * (1.0 - t) / (1.0 + t);
}

// 1/(1 + e^−x) without overflow: the exponent is never positive.
fn stable_sigmoid(x: f32) -> f32 {
  let e = exp(-abs(x));
  if (x >= 0.0) { return 1.0 / (1.0 + e); }
  return e / (1.0 + e);
}

// OP: 0 exp, 1 log, 2 tanh, 3 rsqrt, 4 sigmoid, 5 x + alpha.
fn unary_op(x: f32) -> f32 {
  switch OP {
    case 0u: { return exp(x); }
    case 1u: { return log(x); }
    case 2u: { return stable_tanh(x); }
    case 3u: { return inverseSqrt(x); }
    case 4u: { return stable_sigmoid(x); }
    default: { return x + params.alpha; }
  }
}

// dy/dx from the saved value v: the input x for log (1/x), the output y otherwise.
fn unary_derivative(v: f32) -> f32 {
  switch OP {
    case 0u: { return v; }
    case 1u: { return 1.0 / v; }
    case 2u: { return 1.0 - v * v; }
    case 3u: { return -0.5 * v * v * v; }
    case 4u: { return v * (1.0 - v); }
    default: { return 1.0; }
  }
}

// out = f(a)
@compute @workgroup_size(256)
fn unary(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i < params.n) { out[i] = unary_op(a[i]); }
}

// out = b · f'(from a): a is the saved value (see unary_derivative), b the upstream gradient.
@compute @workgroup_size(256)
fn unary_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i < params.n) { out[i] = b[i] * unary_derivative(a[i]); }
}

// out = a ∘ b[(i / inner) % bsize], OP: 0 add, 1 sub, 2 mul, 3 div.
@compute @workgroup_size(256)
fn broadcast(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  let x = a[i];
  let y = b[(i / params.inner) % params.bsize];
  switch OP {
    case 0u: { out[i] = x + y; }
    case 1u: { out[i] = x - y; }
    case 2u: { out[i] = x * y; }
    default: { out[i] = x / y; }
  }
}

// out = alpha · b[(i / inner) % bsize]: b spread over out's shape (the gradient of a reduction).
@compute @workgroup_size(256)
fn spread(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i < params.n) { out[i] = params.alpha * b[(i / params.inner) % params.bsize]; }
}

// out[r] = alpha · Σ_c a[r, c] (OP 0), or max_c a[r, c] (OP 1), rows of width inner.
@compute @workgroup_size(256)
fn row_reduce(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = flat_index(gid, nwg);
  if (r >= params.n) { return; }
  let base = r * params.inner;
  if (OP == 1u) {
    var m = a[base];
    for (var c = 1u; c < params.inner; c++) { m = max(m, a[base + c]); }
    out[r] = m;
  } else {
    var s = 0.0;
    for (var c = 0u; c < params.inner; c++) { s += a[base + c]; }
    out[r] = params.alpha * s;
  }
}

// The gradient of row max: b[r] to the first position holding the row's max, 0 elsewhere.
@compute @workgroup_size(256)
fn row_max_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = flat_index(gid, nwg);
  if (r >= params.n) { return; }
  let base = r * params.inner;
  var best = 0u;
  for (var c = 1u; c < params.inner; c++) {
    if (a[base + c] > a[base + best]) { best = c; }
  }
  for (var c = 0u; c < params.inner; c++) { out[base + c] = select(0.0, b[r], c == best); }
}

// Valid positions of row r: min(max(lengths[r / group], 0), inner).
fn valid_count(r: u32) -> u32 {
  return min(u32(max(lengths[r / params.group], 0)), params.inner);
}

// out[r, c] = softmax over the row's valid positions c < len, 0 at c ≥ len; an all-masked row is
// all zeros. The max is subtracted first, so no exponent is positive.
@compute @workgroup_size(256)
fn masked_softmax(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = flat_index(gid, nwg);
  if (r >= params.n) { return; }
  let base = r * params.inner;
  let len = valid_count(r);
  var m = 0.0;
  if (len > 0u) { m = a[base]; }
  for (var c = 1u; c < len; c++) { m = max(m, a[base + c]); }
  var s = 0.0;
  for (var c = 0u; c < len; c++) { s += exp(a[base + c] - m); }
  for (var c = 0u; c < params.inner; c++) {
    var y = 0.0;
    if (c < len) { y = exp(a[base + c] - m) / s; }
    out[base + c] = y;
  }
}

// dx = y ⊙ (g − Σ_c y_c g_c) per row: a is the softmax output y, b the upstream gradient g.
// Masked positions have y = 0, so they get 0.
@compute @workgroup_size(256)
fn masked_softmax_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let r = flat_index(gid, nwg);
  if (r >= params.n) { return; }
  let base = r * params.inner;
  var s = 0.0;
  for (var c = 0u; c < params.inner; c++) { s += a[base + c] * b[base + c]; }
  for (var c = 0u; c < params.inner; c++) { out[base + c] = a[base + c] * (b[base + c] - s); }
}

// a [outer, m, n, inner] → out [outer, n, m, inner] (m = group, n = cols2).
@compute @workgroup_size(256)
fn swap_axes(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_index(gid, nwg);
  if (i >= params.n) { return; }
  let m = params.group;
  let n = params.cols2;
  let t = i % params.inner;
  let rest = i / params.inner;
  let k = rest % m;
  let j = (rest / m) % n;
  let o = rest / (m * n);
  out[i] = a[((o * m + k) * n + j) * params.inner + t];
}
