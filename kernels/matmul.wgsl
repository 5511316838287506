// Tiled matrix product, batched: C[z] = op(A[z]) · op(B[z]) with op(A) [M, K], op(B) [K, N],
// C [M, N], all row-major f32. op is the identity or the transpose, chosen by the override flags
// TRANS_A (A stored [K, M]) and TRANS_B (B stored [N, K]), so the backward products
// dA = dC·Bᵀ and dB = Aᵀ·dC need no transposed copies.
//
// Each workgroup of 16×16 threads computes a 64×64 tile of C: it stages a 64×16 slice of op(A)
// and a 16×64 slice of op(B) in workgroup memory per step along K, and each thread keeps a 4×4
// block of C in registers. A thread's rows and columns are strided by 16 (rows ty + 16i,
// columns tx + 16j) so that neighbouring threads read neighbouring words of the B tile and
// write neighbouring words of C. Out-of-range elements load as zeros, so any M, N, K work
// (K = 0 gives zeros).
//
// Dispatch: (ceil(N / 64), ceil(M / 64), batches). The batch strides (elements between
// consecutive matrices) are 0 for an operand shared by every batch.
// Bindings: 0 params, 1 a, 2 b, 3 c.

override TRANS_A: bool = false;
override TRANS_B: bool = false;

const TILE_M = 64u;
const TILE_N = 64u;
const TILE_K = 16u;

struct Params {
  m: u32,
  n: u32,
  k: u32,
  stride_a: u32,
  stride_b: u32,
  stride_c: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

// Both tiles are stored k-major: tile_a[kk * TILE_M + m], tile_b[kk * TILE_N + n].
var<workgroup> tile_a: array<f32, 1024>;
var<workgroup> tile_b: array<f32, 1024>;

// op(A)[row, col] of the current matrix, 0 outside [M, K].
fn load_a(base: u32, row: u32, col: u32) -> f32 {
  if (row >= params.m || col >= params.k) { return 0.0; }
  if (TRANS_A) { return a[base + col * params.m + row]; }
  return a[base + row * params.k + col];
}

// op(B)[row, col] of the current matrix, 0 outside [K, N].
fn load_b(base: u32, row: u32, col: u32) -> f32 {
  if (row >= params.k || col >= params.n) { return 0.0; }
  if (TRANS_B) { return b[base + col * params.k + row]; }
  return b[base + row * params.n + col];
}

fn store_c(base: u32, row: u32, col: u32, value: f32) {
  if (row < params.m && col < params.n) { c[base + row * params.n + col] = value; }
}

@compute @workgroup_size(16, 16)
fn matmul(
  @builtin(workgroup_id) wg: vec3<u32>,
  @builtin(local_invocation_id) lid: vec3<u32>,
  @builtin(local_invocation_index) li: u32,
) {
  let row0 = wg.y * TILE_M;
  let col0 = wg.x * TILE_N;
  let base_a = wg.z * params.stride_a;
  let base_b = wg.z * params.stride_b;
  let base_c = wg.z * params.stride_c;
  let tx = lid.x;
  let ty = lid.y;

  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);

  for (var k0 = 0u; k0 < params.k; k0 += TILE_K) {
    // 1024 elements per tile, 4 per thread. The element order follows the operand's memory
    // layout so that consecutive threads load consecutive addresses.
    for (var s = 0u; s < 4u; s++) {
      let e = li + s * 256u;
      var m = e / TILE_K;
      var ka = e % TILE_K;
      if (TRANS_A) {
        m = e % TILE_M;
        ka = e / TILE_M;
      }
      tile_a[ka * TILE_M + m] = load_a(base_a, row0 + m, k0 + ka);
      var n = e % TILE_N;
      var kb = e / TILE_N;
      if (TRANS_B) {
        n = e / TILE_K;
        kb = e % TILE_K;
      }
      tile_b[kb * TILE_N + n] = load_b(base_b, k0 + kb, col0 + n);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TILE_K; kk++) {
      let ra = kk * TILE_M + ty;
      let rb = kk * TILE_N + tx;
      let bv = vec4<f32>(tile_b[rb], tile_b[rb + 16u], tile_b[rb + 32u], tile_b[rb + 48u]);
      acc0 += tile_a[ra] * bv;
      acc1 += tile_a[ra + 16u] * bv;
      acc2 += tile_a[ra + 32u] * bv;
      acc3 += tile_a[ra + 48u] * bv;
    }
    workgroupBarrier();
  }

  let accs = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
  for (var i = 0u; i < 4u; i++) {
    let row = row0 + ty + 16u * i;
    let acc = accs[i];
    store_c(base_c, row, col0 + tx, acc.x);
    store_c(base_c, row, col0 + tx + 16u, acc.y);
    store_c(base_c, row, col0 + tx + 32u, acc.z);
    store_c(base_c, row, col0 + tx + 48u, acc.w);
  }
}
