// Inverted dropout with its mask drawn on the GPU: out[i] = x[i] · (kept(i) ? scale : 0), where
// kept(i) compares one 32-bit Philox word with a threshold. Compiled with kernels/rng.wgsl and
// kernels/common/index.wgsl prepended (src/autograd/ops/dropout.ts). src/reference/dropout.ts
// draws the same words on the host.
//
// The draw (the contract the reference and the tests hold): element i takes word i % 4 of
// philox4x32_10(counter (i / 4, stream, 0, DROPOUT_TAG), key (seed_lo, seed_hi)); it is kept iff
// that word < threshold, where threshold = round(keep · 2^32) and scale = 2^32 / threshold (the
// exact inverse of the keep probability the threshold gives), rounded to f32 by the host.
// The tag keeps these counters apart from the routing logits' (whose fourth word is 0 or 1).
//
// Forward and backward are this one kernel: y = x·m·scale and dx = dy·m·scale are the same
// function, so the backward redraws the mask from (seed, stream) instead of storing it.
//
// A dropped element is x · 0 (so a NaN or infinite x still shows as NaN, as x·mask would), a
// kept one x · scale, correctly rounded (WGSL's f32 multiply), so the output is bit-exact.
// Dispatch: ceil(n / 4) threads in 256-wide workgroups (flatGrid), each one Philox block.

const DROPOUT_TAG: u32 = 2u;

struct DropoutParams {
  n: u32,
  seed_lo: u32,
  seed_hi: u32,
  stream: u32,
  threshold: u32,
  scale: f32,
}

@group(0) @binding(0) var<uniform> params: DropoutParams;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(256)
fn dropout(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let block = flat_index(gid, nwg);
  let first = block * 4u;
  if (first >= params.n) { return; }
  let words = philox4x32_10(vec4<u32>(block, params.stream, 0u, DROPOUT_TAG), vec2<u32>(params.seed_lo, params.seed_hi));
  let count = min(4u, params.n - first);
  for (var k = 0u; k < count; k++) {
    out[first + k] = x[first + k] * select(0.0, params.scale, words[k] < params.threshold);
  }
}
