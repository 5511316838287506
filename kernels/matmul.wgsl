// The GEMM family, one code path for the matrix products: the matmul ops and their gradients,
// routing's projections (Ê = E·S, dE = dÊ·Sᵀ, dS = Eᵀ·dÊ) and top-k's scoring run here,
// parameterised by uniforms and override constants; src/autograd/ops/matmul.ts (`gemm`) is its
// only dispatcher. Up to 2^32 workgroup tiles (the flat tile number is a u32).
//
// C[slab] = op(A[batch]) · op(B[batch]) with op(A) [M, K], op(B) [K, N], C [M, N], all f32 and
// row-major with row lengths lda, ldb, ldc (elements; ≥ the logical row length, so padded rows
// such as routing's vec4-aligned Ê and dÊ are read and written in place). op is the identity or
// the transpose, chosen by the override flags TRANS_A (A stored [K, M]) and TRANS_B (B stored
// [N, K]), so the backward products dA = dC·Bᵀ and dB = Aᵀ·dC need no transposed copies.
//
// Loads, not arithmetic, bound this kernel (on CPU Vulkan a load whose address differs across
// SIMD lanes costs about as much as a hundred multiply-adds, whether f32 or vec4; on a GPU loads
// are memory traffic). So each thread keeps a register block of 4 rows × 8 columns of C (eight
// named vec4 accumulators; dynamically indexed vec4 arrays are slow on SIMD CPUs) and walks K
// four at a time: per step 4 vec4 loads of op(A) and 8 of op(B) feed 32 vec4 multiply-adds. No
// workgroup memory, no barriers. The threads along x share their rows (their op(A) loads have
// one address across those lanes) and take neighbouring column blocks.
//
// vec4 loads go through the aliases a4 / b4 (bindings 4 and 5, the same buffers as a and b) when
// the host sets A_VEC4 / B_VEC4: the stored rows and batch strides are multiples of 4, and K is
// too when K is the contiguous axis (A not transposed, B transposed), so a vec4 never straddles
// K's end; otherwise four scalar loads per vec4. Out-of-range indices are clamped (no divergent
// branches in the loop): rows past M and columns past N compute duplicates (or read the row's
// padding) that are never stored; the last K step zeroes the terms past K on both sides, so any
// M, N, K work (K = 0 gives zeros). Columns N .. ldc-1 of every row of C are written as zeros
// (the padding of a vec4-aligned output).
//
// The grid is one flat list of workgroup tiles, numbered t = x + nx·(y + ny·z) over however many
// dimensions the host needed (src/gpu/runtime.ts gridFor3: it folds the list over y and z when
// it passes the per-dimension limit, e.g. B·L rows past 65,535 row tiles): column tile fastest,
// then row tile, then slab. Tiles past the list compute nothing. The numbering only renames
// workgroups: every output is computed by the same code from the same inputs, bit for bit.
//
// Split-K (a tall K, few output tiles, e.g. dS = Eᵀ·dÊ with K = B·L): a slab is (batch, part);
// part p sums k in [p·k_chunk, min(K, (p+1)·k_chunk)) (k_chunk a multiple of 4) into its own
// partial C [batches, parts, M, ldc]; the host adds the parts in ascending order
// (reduce.wgsl's sum_middle). Fixed summation order everywhere, no atomics: deterministic.
//
// Entry points: `matmul` stores C as f32; `matmul_c4` (ldc % 4 == 0) stores vec4s through c4out.
// Workgroup WG_X × WG_Y threads covers 4·WG_Y rows × 8·WG_X columns.
// Bindings: 0 params, 1 a, 2 b, 3 c (f32, or vec4 as c4out), 4 a as vec4, 5 b as vec4.

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override A_VEC4: bool = false;
override B_VEC4: bool = false;
// Workgroup shape (threads along columns, along rows), set by the host.
override WG_X: u32 = 8u;
override WG_Y: u32 = 8u;

struct Params {
  m: u32,
  n: u32,
  k: u32,
  lda: u32,        // stored row length of A: ≥ K, or ≥ M if TRANS_A
  ldb: u32,        // stored row length of B: ≥ N, or ≥ K if TRANS_B
  ldc: u32,        // row length of C: ≥ N (columns past N are written as zeros)
  stride_a: u32,   // elements between consecutive batches of A (0: one A for every batch)
  stride_b: u32,
  stride_c: u32,   // elements between consecutive slabs of C
  col_tiles: u32,  // ceil(ldc / (8 WG_X))
  row_tiles: u32,  // ceil(M / (4 WG_Y))
  slabs: u32,      // batches · parts
  parts: u32,      // split-K parts (1: no split)
  k_chunk: u32,    // K per part; a multiple of 4 when parts > 1
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;
@group(0) @binding(4) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> b4: array<vec4<f32>>;
// C as vec4 rows (ldc % 4 == 0), for the entry point matmul_c4 only.
@group(0) @binding(3) var<storage, read_write> c4out: array<vec4<f32>>;

// Which of kk .. kk+3 are below K.
fn k_valid(kk: u32) -> vec4<bool> {
  return vec4<u32>(kk) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(params.k);
}

// A stored [M, lda]: A[row, kk .. kk+3], zeros past K (row < M).
fn a_row(base: u32, row: u32, kk: u32) -> vec4<f32> {
  let k = params.k;
  let r = base + row * params.lda;
  if (A_VEC4) {
    return a4[(r + kk) / 4u];
  }
  let v = vec4<f32>(a[r + min(kk, k - 1u)], a[r + min(kk + 1u, k - 1u)], a[r + min(kk + 2u, k - 1u)],
                    a[r + min(kk + 3u, k - 1u)]);
  return select(vec4<f32>(0.0), v, k_valid(kk));
}

// A stored [K, lda]: A[kk, r0 .. r0+3] (rows of op(A)), zeros when kk >= K; r0 < M. The vec4
// holding row M-1 may reach into the row's padding: those rows are never stored.
fn a_col(base: u32, kk: u32, r0: u32) -> vec4<f32> {
  let m = params.m;
  let r = base + min(kk, params.k - 1u) * params.lda;
  var v = vec4<f32>(0.0);
  if (A_VEC4) {
    v = a4[(r + min(r0, 4u * ((m + 3u) / 4u) - 4u)) / 4u];
  } else {
    v = vec4<f32>(a[r + r0], a[r + min(r0 + 1u, m - 1u)], a[r + min(r0 + 2u, m - 1u)], a[r + min(r0 + 3u, m - 1u)]);
  }
  return select(vec4<f32>(0.0), v, kk < params.k);
}

// B stored [K, ldb]: B[kk, 4 c4 .. 4 c4 + 3] (columns clamped), zeros when kk >= K.
fn b_row(base: u32, kk: u32, c4: u32) -> vec4<f32> {
  let n = params.n;
  let r = base + min(kk, params.k - 1u) * params.ldb;
  var v = vec4<f32>(0.0);
  if (B_VEC4) {
    v = b4[r / 4u + min(c4, (n + 3u) / 4u - 1u)];
  } else {
    let c = 4u * c4;
    v = vec4<f32>(b[r + min(c, n - 1u)], b[r + min(c + 1u, n - 1u)], b[r + min(c + 2u, n - 1u)],
                  b[r + min(c + 3u, n - 1u)]);
  }
  return select(vec4<f32>(0.0), v, kk < params.k);
}

// B stored [N, ldb]: B[col, kk .. kk+3] (col clamped), zeros past K.
fn b_col(base: u32, col: u32, kk: u32) -> vec4<f32> {
  let k = params.k;
  let r = base + min(col, params.n - 1u) * params.ldb;
  if (B_VEC4) {
    return b4[(r + kk) / 4u];
  }
  let v = vec4<f32>(b[r + min(kk, k - 1u)], b[r + min(kk + 1u, k - 1u)], b[r + min(kk + 2u, k - 1u)],
                    b[r + min(kk + 3u, k - 1u)]);
  return select(vec4<f32>(0.0), v, k_valid(kk));
}

// Where one workgroup's tile lies: its first row and first vec4 column block, the bases of its
// batch's A and B and of its slab's C, and its range of K.
struct Tile {
  valid: bool,
  row_tile: u32,
  col_tile: u32,
  base_a: u32,
  base_b: u32,
  base_c: u32,
  k_begin: u32,
  k_end: u32,
}

fn tile_of(wg: vec3<u32>, nwg: vec3<u32>) -> Tile {
  let t = wg.x + nwg.x * (wg.y + nwg.y * wg.z);
  let col_tile = t % params.col_tiles;
  let row_tile = (t / params.col_tiles) % params.row_tiles;
  let slab = t / (params.col_tiles * params.row_tiles);
  let batch = slab / params.parts;
  let k_begin = (slab % params.parts) * params.k_chunk;
  return Tile(slab < params.slabs, row_tile, col_tile, batch * params.stride_a, batch * params.stride_b,
              slab * params.stride_c, k_begin, min(params.k, k_begin + params.k_chunk));
}

struct Block {
  acc00: vec4<f32>,
  acc01: vec4<f32>,
  acc10: vec4<f32>,
  acc11: vec4<f32>,
  acc20: vec4<f32>,
  acc21: vec4<f32>,
  acc30: vec4<f32>,
  acc31: vec4<f32>,
}

// The 4 × 8 block of C at rows r0 .. r0+3, vec4 columns c4, c4+1, summed over the tile's K range.
fn compute_block(tile: Tile, r0: u32, c4: u32) -> Block {
  let base_a = tile.base_a;
  let base_b = tile.base_b;
  let m1 = params.m - 1u;

  var acc00 = vec4<f32>(0.0);
  var acc01 = vec4<f32>(0.0);
  var acc10 = vec4<f32>(0.0);
  var acc11 = vec4<f32>(0.0);
  var acc20 = vec4<f32>(0.0);
  var acc21 = vec4<f32>(0.0);
  var acc30 = vec4<f32>(0.0);
  var acc31 = vec4<f32>(0.0);

  for (var kk = tile.k_begin; kk < tile.k_end; kk += 4u) {
    // op(A)[r0 + r, kk .. kk+3] as ar.
    var a0 = vec4<f32>(0.0);
    var a1 = vec4<f32>(0.0);
    var a2 = vec4<f32>(0.0);
    var a3 = vec4<f32>(0.0);
    if (TRANS_A) {
      let rr = min(r0, m1);
      let v0 = a_col(base_a, kk, rr);
      let v1 = a_col(base_a, kk + 1u, rr);
      let v2 = a_col(base_a, kk + 2u, rr);
      let v3 = a_col(base_a, kk + 3u, rr);
      a0 = vec4<f32>(v0.x, v1.x, v2.x, v3.x);
      a1 = vec4<f32>(v0.y, v1.y, v2.y, v3.y);
      a2 = vec4<f32>(v0.z, v1.z, v2.z, v3.z);
      a3 = vec4<f32>(v0.w, v1.w, v2.w, v3.w);
    } else {
      a0 = a_row(base_a, min(r0, m1), kk);
      a1 = a_row(base_a, min(r0 + 1u, m1), kk);
      a2 = a_row(base_a, min(r0 + 2u, m1), kk);
      a3 = a_row(base_a, min(r0 + 3u, m1), kk);
    }
    // op(B)[kk + q, 4 c4 + 4 h .. 4 c4 + 4 h + 3] as sqh.
    var s00 = vec4<f32>(0.0);
    var s01 = vec4<f32>(0.0);
    var s10 = vec4<f32>(0.0);
    var s11 = vec4<f32>(0.0);
    var s20 = vec4<f32>(0.0);
    var s21 = vec4<f32>(0.0);
    var s30 = vec4<f32>(0.0);
    var s31 = vec4<f32>(0.0);
    if (TRANS_B) {
      let col = 4u * c4;
      let t0 = b_col(base_b, col, kk);
      let t1 = b_col(base_b, col + 1u, kk);
      let t2 = b_col(base_b, col + 2u, kk);
      let t3 = b_col(base_b, col + 3u, kk);
      let t4 = b_col(base_b, col + 4u, kk);
      let t5 = b_col(base_b, col + 5u, kk);
      let t6 = b_col(base_b, col + 6u, kk);
      let t7 = b_col(base_b, col + 7u, kk);
      s00 = vec4<f32>(t0.x, t1.x, t2.x, t3.x);
      s10 = vec4<f32>(t0.y, t1.y, t2.y, t3.y);
      s20 = vec4<f32>(t0.z, t1.z, t2.z, t3.z);
      s30 = vec4<f32>(t0.w, t1.w, t2.w, t3.w);
      s01 = vec4<f32>(t4.x, t5.x, t6.x, t7.x);
      s11 = vec4<f32>(t4.y, t5.y, t6.y, t7.y);
      s21 = vec4<f32>(t4.z, t5.z, t6.z, t7.z);
      s31 = vec4<f32>(t4.w, t5.w, t6.w, t7.w);
    } else {
      s00 = b_row(base_b, kk, c4);
      s01 = b_row(base_b, kk, c4 + 1u);
      s10 = b_row(base_b, kk + 1u, c4);
      s11 = b_row(base_b, kk + 1u, c4 + 1u);
      s20 = b_row(base_b, kk + 2u, c4);
      s21 = b_row(base_b, kk + 2u, c4 + 1u);
      s30 = b_row(base_b, kk + 3u, c4);
      s31 = b_row(base_b, kk + 3u, c4 + 1u);
    }
    acc00 += a0.x * s00 + a0.y * s10 + a0.z * s20 + a0.w * s30;
    acc01 += a0.x * s01 + a0.y * s11 + a0.z * s21 + a0.w * s31;
    acc10 += a1.x * s00 + a1.y * s10 + a1.z * s20 + a1.w * s30;
    acc11 += a1.x * s01 + a1.y * s11 + a1.z * s21 + a1.w * s31;
    acc20 += a2.x * s00 + a2.y * s10 + a2.z * s20 + a2.w * s30;
    acc21 += a2.x * s01 + a2.y * s11 + a2.z * s21 + a2.w * s31;
    acc30 += a3.x * s00 + a3.y * s10 + a3.z * s20 + a3.w * s30;
    acc31 += a3.x * s01 + a3.y * s11 + a3.z * s21 + a3.w * s31;
  }

  return Block(acc00, acc01, acc10, acc11, acc20, acc21, acc30, acc31);
}

// Row `row` of C, columns col .. col+7 (zeros from column N on, nothing past ldc).
fn store_row(base: u32, row: u32, col: u32, v0: vec4<f32>, v1: vec4<f32>) {
  if (row >= params.m) {
    return;
  }
  let vals = array<vec4<f32>, 2>(v0, v1);
  for (var j = 0u; j < 8u; j++) {
    if (col + j < params.ldc) {
      c[base + row * params.ldc + col + j] = select(0.0, vals[j / 4u][j % 4u], col + j < params.n);
    }
  }
}

@compute @workgroup_size(WG_X, WG_Y)
fn matmul(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
          @builtin(local_invocation_id) lid: vec3<u32>) {
  let tile = tile_of(wg, nwg);
  if (!tile.valid) {
    return;
  }
  let r0 = (tile.row_tile * WG_Y + lid.y) * 4u;
  let c4 = (tile.col_tile * WG_X + lid.x) * 2u;
  let o = compute_block(tile, r0, c4);
  let col = 4u * c4;
  store_row(tile.base_c, r0, col, o.acc00, o.acc01);
  store_row(tile.base_c, r0 + 1u, col, o.acc10, o.acc11);
  store_row(tile.base_c, r0 + 2u, col, o.acc20, o.acc21);
  store_row(tile.base_c, r0 + 3u, col, o.acc30, o.acc31);
}

// v with the lanes at columns ≥ N zeroed; v holds columns 4 c4 .. 4 c4 + 3.
fn pad_zero(v: vec4<f32>, c4: u32) -> vec4<f32> {
  return select(vec4<f32>(0.0), v, vec4<u32>(4u * c4) + vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(params.n));
}

fn store_row4(base: u32, row: u32, c4: u32, v0: vec4<f32>, v1: vec4<f32>) {
  let n4 = params.ldc / 4u;
  if (row < params.m && c4 < n4) {
    c4out[base + row * n4 + c4] = pad_zero(v0, c4);
  }
  if (row < params.m && c4 + 1u < n4) {
    c4out[base + row * n4 + c4 + 1u] = pad_zero(v1, c4 + 1u);
  }
}

// The same product when ldc % 4 == 0, stored as vec4s.
@compute @workgroup_size(WG_X, WG_Y)
fn matmul_c4(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
             @builtin(local_invocation_id) lid: vec3<u32>) {
  let tile = tile_of(wg, nwg);
  if (!tile.valid) {
    return;
  }
  let r0 = (tile.row_tile * WG_Y + lid.y) * 4u;
  let c4 = (tile.col_tile * WG_X + lid.x) * 2u;
  let o = compute_block(tile, r0, c4);
  let base_c = tile.base_c / 4u;
  store_row4(base_c, r0, c4, o.acc00, o.acc01);
  store_row4(base_c, r0 + 1u, c4, o.acc10, o.acc11);
  store_row4(base_c, r0 + 2u, c4, o.acc20, o.acc21);
  store_row4(base_c, r0 + 3u, c4, o.acc30, o.acc31);
}
