// Exact top-k selection over rows of precomputed scores (the scoring is the tuned GEMM,
// kernels/matmul.wgsl; see src/serve/topk.ts). One workgroup per (query, block): it finds the
// block row's k best (score, id) pairs without sorting the row.
//
// Keys: an order-preserving map f32 → u32 (key(x) > key(y) iff x > y), with key 0 marking a
// slot that may not be returned (excluded, below first_item, or an empty merge candidate).
//
// Fast path (two reads of the row, no per-slot atomics): each of the 64 threads keeps the 4
// largest keys of its strided share of the row; the k-th largest of those 256 keys, tau, is a
// lower bound of the row's k-th largest key (they belong to k distinct slots, all at least tau).
// Every slot with key >= tau is gathered into workgroup memory (typically little more than k of
// them); each candidate's rank among them (higher score first, ties to the lower id) is counted
// and the candidates ranked below k are written at their rank: the answer, in order.
// Fallback (when more than CAPACITY slots reach tau, e.g. heavy ties): a radix select over the
// row (three histogram passes, bits 31..21, 20..10, 9..0) fixes the k-th largest key T and how
// many ties at T are needed; one more pass gathers the keys above T and the ties, the ties in
// ascending id order.
// Either way the selected set is a function of the scores alone (workgroup atomics only choose
// storage positions) and the ranks fix the order: results are deterministic. Counting ranks
// (m² comparisons for m candidates, no barriers) beats a bitonic sort here: on CPU drivers each
// barrier costs about as much as a few thousand comparisons.
//
// Two uses: the first pass reads scores [Q, n] of items base_id .. base_id + n − 1 (ids
// implicit, first_item applied); the merge pass reads earlier candidates (scores and explicit
// ids, id −1 = empty) to combine the blocks' top-k lists.
// Empty output slots (fewer than k eligible) carry id −1 and score −3.4e38.
//
// Exclusion (a query's history): before the first pass, mask_excluded overwrites the block's
// score of every excluded (query, item) pair with the bit pattern EXCLUDED, which the first pass
// reads as "may not be returned". The pairs cost 8 bytes each (Q · history length), where a
// per-query bitmap of the catalogue would cost Q · N / 8 bytes (800 MB for 1,280 queries over
// 5M items). Scores are read as raw u32 bits so the pattern survives any float handling;
// EXCLUDED is a NaN no product of finite numbers yields (a NaN score is meaningless anyway).
//
// Bindings: select_top: 0 params, 1 scores [Q, n] (f32 bits), 2 in_ids [Q, n] (merge pass),
// 4 out_scores, 5 out_ids [Q, blocks, K]. mask_excluded: 0 params, 1 score_slots (the same
// scores, written), 3 excluded [pairs, 2] u32 (query, item id).

override K: u32 = 50u;

// 64 threads: on CPU drivers every barrier switches between the workgroup's SIMD groups, so
// fewer, longer-running threads make the sorts cheaper; a GPU still runs a full warp or two.
const THREADS: u32 = 64u;
const PER_THREAD: u32 = 4u; // keys each thread keeps in pass 1: THREADS * PER_THREAD = 256 >= k
const BINS: u32 = 2048u;
const CAPACITY: u32 = 2048u; // candidates sorted in workgroup memory
const EMPTY: f32 = -3.4e38;
const EXCLUDED: u32 = 0xffffffffu;

struct Params {
  n: u32,             // slots per row
  base_id: u32,       // id of slot 0 (first pass)
  first_item: u32,    // ids below this are never returned (first pass)
  pairs: u32,         // mask_excluded: (query, item) pairs in `excluded`
  has_ids: u32,       // 1: merge pass (ids from in_ids), 0: first pass (id = base_id + slot)
  block: u32,         // this dispatch's block index in the output
  blocks: u32,        // blocks per query in the output
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> scores: array<u32>; // f32 bits
@group(0) @binding(2) var<storage, read> in_ids: array<i32>;
@group(0) @binding(1) var<storage, read_write> score_slots: array<u32>; // mask_excluded only
@group(0) @binding(3) var<storage, read> excluded: array<u32>;
@group(0) @binding(4) var<storage, read_write> out_scores: array<f32>;
@group(0) @binding(5) var<storage, read_write> out_ids: array<i32>;

var<workgroup> hist: array<atomic<u32>, BINS>;
var<workgroup> partial: array<u32, 256>; // pass 1's keys, and the radix passes' bin sums
var<workgroup> tau_key: atomic<u32>; // the fast path's bound
var<workgroup> prefix: u32;        // the key bits fixed so far
var<workgroup> prefix_mask: u32;
var<workgroup> remaining: u32;     // how many of the slots matching prefix are still needed
var<workgroup> ties: u32;          // slots whose key equals the final T
var<workgroup> take_all: u32;      // fewer than K eligible slots: take every eligible one
var<workgroup> above: atomic<u32>; // gather counters
var<workgroup> tied: atomic<u32>;
var<workgroup> count: atomic<u32>; // slots reaching tau
var<workgroup> sort_scores: array<f32, CAPACITY>;
var<workgroup> sort_ids: array<i32, CAPACITY>;

// Order-preserving map of f32 bits → u32, clamped so that no score maps to 0.
fn order_key(b: u32) -> u32 {
  let k = select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
  return max(k, 1u);
}

fn slot_id(q: u32, j: u32) -> i32 {
  if (params.has_ids != 0u) { return in_ids[q * params.n + j]; }
  return i32(params.base_id + j);
}

// The slot's key, or 0 when it may not be returned.
fn slot_key(q: u32, j: u32) -> u32 {
  let id = slot_id(q, j);
  if (id < 0) { return 0u; }
  if (params.has_ids == 0u) {
    let item = u32(id);
    if (item < params.first_item) { return 0u; }
  }
  let bits = scores[q * params.n + j];
  if (params.has_ids == 0u && bits == EXCLUDED) { return 0u; }
  return order_key(bits);
}

// One radix pass: histogram of the digit (key >> shift) & digit_mask over the slots matching the
// prefix, then the digit holding the remaining-th largest key (scanned from the top bin).
fn radix_pass(q: u32, tid: u32, shift: u32, digit_mask: u32) {
  for (var b = tid; b < BINS; b += THREADS) { atomicStore(&hist[b], 0u); }
  workgroupBarrier();
  let p = prefix;
  let pm = prefix_mask;
  for (var j = tid; j < params.n; j += THREADS) {
    let key = slot_key(q, j);
    if (key != 0u && (key & pm) == p) { atomicAdd(&hist[(key >> shift) & digit_mask], 1u); }
  }
  workgroupBarrier();
  // Each thread sums its BINS / THREADS bins; thread 0 walks the sums from the top.
  let per = BINS / THREADS;
  var s = 0u;
  for (var b = tid * per; b < tid * per + per; b++) { s += atomicLoad(&hist[b]); }
  partial[tid] = s;
  workgroupBarrier();
  if (tid == 0u) {
    var need = remaining;
    var total = 0u;
    for (var t = 0u; t < THREADS; t++) { total += partial[t]; }
    if (shift == 21u && total < K) {
      take_all = 1u; // every eligible slot is returned; the rest stay empty
    } else if (take_all == 0u) {
      var t = THREADS;
      loop {
        t -= 1u;
        if (partial[t] >= need) { break; }
        need -= partial[t];
      }
      var b = t * per + per;
      loop {
        b -= 1u;
        let c = atomicLoad(&hist[b]);
        if (c >= need) { ties = c; break; }
        need -= c;
      }
      prefix = p | (b << shift);
      prefix_mask = pm | (digit_mask << shift);
      remaining = need;
    }
  }
  workgroupBarrier();
}

// Whether candidate a comes before candidate b: higher score first, ties to the lower id.
fn before(a: u32, b: u32) -> bool {
  let sa = sort_scores[a];
  let sb = sort_scores[b];
  return sa > sb || (sa == sb && u32(sort_ids[a]) < u32(sort_ids[b]));
}

// The fallback: radix select of the k-th largest key, then the gather of exactly the k best
// (or every eligible slot when there are fewer) into sort_scores/sort_ids[0 .. k).
fn radix_select_gather(q: u32, tid: u32) {
  if (tid == 0u) {
    prefix = 0u;
    prefix_mask = 0u;
    remaining = K;
    ties = 0u;
    take_all = 0u;
    atomicStore(&above, 0u);
    atomicStore(&tied, 0u);
  }
  for (var i = tid; i < CAPACITY; i += THREADS) {
    sort_scores[i] = EMPTY;
    sort_ids[i] = -1;
  }
  workgroupBarrier();
  radix_pass(q, tid, 21u, 0x7FFu);
  radix_pass(q, tid, 10u, 0x7FFu);
  radix_pass(q, tid, 0u, 0x3FFu);

  let all = take_all != 0u;
  let t_key = prefix;
  let need = remaining;
  let all_ties = ties == need; // else the ties must be taken in id order (below)
  let tie_base = K - need;
  for (var j = tid; j < params.n; j += THREADS) {
    let key = slot_key(q, j);
    if (key == 0u) { continue; }
    if (all || key > t_key) {
      let at = atomicAdd(&above, 1u);
      sort_scores[at] = bitcast<f32>(scores[q * params.n + j]);
      sort_ids[at] = slot_id(q, j);
    } else if (key == t_key && all_ties) {
      let at = tie_base + atomicAdd(&tied, 1u);
      sort_scores[at] = bitcast<f32>(scores[q * params.n + j]);
      sort_ids[at] = slot_id(q, j);
    }
  }
  workgroupBarrier();
  if (!all && !all_ties && tid == 0u) {
    // More slots tie at T than are needed: take the `need` lowest ids among them, one scan per
    // pick so that any id order works.
    var last = -1;
    for (var r = 0u; r < need; r++) {
      var best = 0x7FFFFFFF;
      var best_j = 0u;
      for (var j = 0u; j < params.n; j++) {
        if (slot_key(q, j) != t_key) { continue; }
        let id = slot_id(q, j);
        if (id > last && id < best) { best = id; best_j = j; }
      }
      sort_scores[tie_base + r] = bitcast<f32>(scores[q * params.n + best_j]);
      sort_ids[tie_base + r] = best;
      last = best;
    }
  }
  workgroupBarrier();
}

@compute @workgroup_size(THREADS)
fn select_top(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tid = lid.x;
  let q = wg.y;
  if (tid == 0u) {
    atomicStore(&count, 0u);
    atomicStore(&tau_key, 0u);
  }
  // Pass 1: each thread's PER_THREAD largest keys (a branch-free insertion into sorted registers).
  var t0 = 0u;
  var t1 = 0u;
  var t2 = 0u;
  var t3 = 0u;
  for (var j = tid; j < params.n; j += THREADS) {
    let x = slot_key(q, j);
    let r0 = min(t0, x);
    t0 = max(t0, x);
    let r1 = min(t1, r0);
    t1 = max(t1, r0);
    let r2 = min(t2, r1);
    t2 = max(t2, r1);
    t3 = max(t3, r2);
  }
  partial[tid * PER_THREAD] = t0;
  partial[tid * PER_THREAD + 1u] = t1;
  partial[tid * PER_THREAD + 2u] = t2;
  partial[tid * PER_THREAD + 3u] = t3;
  workgroupBarrier();
  // tau = the k-th largest of the 256 keys: the key with fewer than k keys above it and at least
  // k at or above it (every thread tests its own four).
  for (var i = tid * PER_THREAD; i < tid * PER_THREAD + PER_THREAD; i++) {
    let v = partial[i];
    var greater = 0u;
    var at_least = 0u;
    for (var o = 0u; o < 256u; o++) {
      greater += select(0u, 1u, partial[o] > v);
      at_least += select(0u, 1u, partial[o] >= v);
    }
    if (greater < K && at_least >= K) { atomicMax(&tau_key, v); }
  }
  let tau = max(workgroupUniformLoad(&tau_key), 1u);
  // Pass 2: gather every eligible slot reaching tau (positions past CAPACITY are only counted).
  for (var j = tid; j < params.n; j += THREADS) {
    let key = slot_key(q, j);
    if (key >= tau) {
      let at = atomicAdd(&count, 1u);
      if (at < CAPACITY) {
        sort_scores[at] = bitcast<f32>(scores[q * params.n + j]);
        sort_ids[at] = slot_id(q, j);
      }
    }
  }
  var m = workgroupUniformLoad(&count);
  if (m > CAPACITY) {
    radix_select_gather(q, tid);
    m = select(K, atomicLoad(&above), take_all != 0u);
  }
  // Each candidate's rank; those below k are the answer, written in order.
  let row = (q * params.blocks + params.block) * K;
  for (var i = tid; i < m; i += THREADS) {
    var rank = 0u;
    for (var o = 0u; o < m; o++) { rank += select(0u, 1u, before(o, i)); }
    if (rank < K) {
      out_scores[row + rank] = sort_scores[i];
      out_ids[row + rank] = sort_ids[i];
    }
  }
  for (var r = m + tid; r < K; r += THREADS) {
    out_scores[row + r] = EMPTY;
    out_ids[row + r] = -1;
  }
}

// Marks the excluded (query, item) pairs whose item lies in this block: their score slots get
// EXCLUDED. One thread per pair; pairs outside the block are skipped.
@compute @workgroup_size(THREADS)
fn mask_excluded(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let p = gid.x + gid.y * nwg.x * THREADS;
  if (p >= params.pairs) { return; }
  let q = excluded[2u * p];
  let item = excluded[2u * p + 1u];
  if (item < params.base_id || item - params.base_id >= params.n) { return; }
  score_slots[q * params.n + item - params.base_id] = EXCLUDED;
}
