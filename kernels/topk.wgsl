// Exact top-k by inner product, without reading the score matrix back.
//
// Pass 1 (score_chunks): one workgroup per (chunk of 1024 items, query). It scores the chunk's
// items against the query (held in shared memory), sorts the 1024 (score, id) pairs with a
// bitonic network in shared memory, and writes the chunk's best K to candidates[q, chunk, :].
// Pass 2 (select_chunks), repeated on the host side until one chunk remains: the same sort over
// 1024 earlier candidates at a time. Each pass shrinks the list by 1024 / K.
// Order: higher score first, ties to the lower id, so results are deterministic. Empty slots
// (fewer than K items) carry id -1 and score -3.4e38.
//
// Bindings: 0 params, 1 queries [Q, D], 2 items [N, D], 3 exclude bitmap [Q, ceil(N/32)] u32,
// 4 in_scores, 5 in_ids (select pass), 6 out_scores, 7 out_ids [Q, chunks, K].

override D: u32 = 64u;
override K: u32 = 50u;

const CHUNK: u32 = 1024u;
const THREADS: u32 = 256u;
const EMPTY: f32 = -3.4e38;

struct Params {
  n: u32,             // items (pass 1) or candidates per query (pass 2)
  first_item: u32,    // ids below this are never returned (the padding id)
  use_exclude: u32,
  exclude_words: u32, // u32 words per query in the bitmap
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> queries: array<f32>;
@group(0) @binding(2) var<storage, read> items: array<f32>;
@group(0) @binding(3) var<storage, read> exclude: array<u32>;
@group(0) @binding(4) var<storage, read> in_scores: array<f32>;
@group(0) @binding(5) var<storage, read> in_ids: array<i32>;
@group(0) @binding(6) var<storage, read_write> out_scores: array<f32>;
@group(0) @binding(7) var<storage, read_write> out_ids: array<i32>;

var<workgroup> query: array<f32, D>;
var<workgroup> scores: array<f32, CHUNK>;
var<workgroup> ids: array<i32, CHUNK>;

fn before(sa: f32, ia: i32, sb: f32, ib: i32) -> bool {
  return sa > sb || (sa == sb && u32(ia) < u32(ib));
}

// Sorts scores/ids in shared memory into `before` order.
fn bitonic_sort(tid: u32) {
  for (var size = 2u; size <= CHUNK; size = size << 1u) {
    for (var stride = size >> 1u; stride > 0u; stride = stride >> 1u) {
      workgroupBarrier();
      for (var p = tid; p < CHUNK / 2u; p += THREADS) {
        let i = 2u * stride * (p / stride) + (p % stride);
        let l = i + stride;
        let ascending = (i & size) == 0u;
        let l_first = before(scores[l], ids[l], scores[i], ids[i]);
        if (l_first == ascending) {
          let s = scores[i];
          scores[i] = scores[l];
          scores[l] = s;
          let t = ids[i];
          ids[i] = ids[l];
          ids[l] = t;
        }
      }
    }
  }
  workgroupBarrier();
}

fn write_top(q: u32, chunk: u32, chunks: u32, tid: u32) {
  for (var r = tid; r < K; r += THREADS) {
    let o = (q * chunks + chunk) * K + r;
    out_scores[o] = scores[r];
    out_ids[o] = ids[r];
  }
}

@compute @workgroup_size(THREADS)
fn score_chunks(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
                @builtin(num_workgroups) nwg: vec3<u32>) {
  let tid = lid.x;
  let chunk = wg.x;
  let q = wg.y;
  for (var c = tid; c < D; c += THREADS) { query[c] = queries[q * D + c]; }
  workgroupBarrier();
  for (var t = tid; t < CHUNK; t += THREADS) {
    let item = chunk * CHUNK + t;
    var s = EMPTY;
    var id = -1;
    var skip = item >= params.n || item < params.first_item;
    if (!skip && params.use_exclude != 0u) {
      skip = (exclude[q * params.exclude_words + item / 32u] & (1u << (item % 32u))) != 0u;
    }
    if (!skip) {
      var acc = 0.0;
      for (var c = 0u; c < D; c++) { acc += query[c] * items[item * D + c]; }
      s = acc;
      id = i32(item);
    }
    scores[t] = s;
    ids[t] = id;
  }
  bitonic_sort(tid);
  write_top(q, chunk, nwg.x, tid);
}

@compute @workgroup_size(THREADS)
fn select_chunks(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
                 @builtin(num_workgroups) nwg: vec3<u32>) {
  let tid = lid.x;
  let chunk = wg.x;
  let q = wg.y;
  for (var t = tid; t < CHUNK; t += THREADS) {
    let j = chunk * CHUNK + t;
    if (j < params.n) {
      scores[t] = in_scores[q * params.n + j];
      ids[t] = in_ids[q * params.n + j];
    } else {
      scores[t] = EMPTY;
      ids[t] = -1;
    }
  }
  bitonic_sort(tid);
  write_top(q, chunk, nwg.x, tid);
}
