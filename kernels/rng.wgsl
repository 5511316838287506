// Counter-based random numbers: Philox4x32-10 (Salmon et al., SC'11, the Random123 variant)
// and a Box-Muller standard normal built on it. No bindings and no entry points: a kernel file
// that draws random numbers is compiled with this file's text prepended (WGSL has no imports;
// see src/autograd/ops/routing.ts). src/reference/rng.ts is the float64 twin, checked
// against Random123's known-answer vectors.
//
// Why counter-based: a value depends only on (key, counter), so any thread can draw "its"
// number with no state, in any order, and a seed reproduces the same numbers bit for bit.
//
// Why our own log and cos: WGSL's built-in precision is implementation-defined (cos may be off
// by 2^-11 absolute); these polynomials are accurate to a few f32 ulps everywhere, so the
// draws agree with the float64 reference to ~1e-7 on any adapter.

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// The 64-bit product a * b as (high word, low word), from 16-bit halves (WGSL has no u64).
fn rng_mul_hi_lo(a: u32, b: u32) -> vec2<u32> {
  let a0 = a & 0xffffu;
  let a1 = a >> 16u;
  let b0 = b & 0xffffu;
  let b1 = b >> 16u;
  let p00 = a0 * b0;
  let p01 = a0 * b1;
  let p10 = a1 * b0;
  let p11 = a1 * b1;
  let mid = (p00 >> 16u) + (p01 & 0xffffu) + (p10 & 0xffffu);
  return vec2<u32>(p11 + (p01 >> 16u) + (p10 >> 16u) + (mid >> 16u), a * b);
}

// Philox4x32 with 10 rounds; the key is bumped before rounds 2..10.
fn philox4x32_10(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = counter;
  var k = key;
  for (var round = 0u; round < 10u; round++) {
    if (round > 0u) {
      k += vec2<u32>(PHILOX_W0, PHILOX_W1);
    }
    let p0 = rng_mul_hi_lo(PHILOX_M0, c.x);
    let p1 = rng_mul_hi_lo(PHILOX_M1, c.z);
    c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
  }
  return c;
}

// ln(x) for x > 0: x = m * 2^e with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(s), s = (m-1)/(m+1),
// |s| <= 0.172, so the odd series to s^9 is exact to f32 precision.
fn rng_ln(x: f32) -> f32 {
  let parts = frexp(x);
  var m = parts.fract;
  var e = f32(parts.exp);
  if (m < 0.70710678) {
    m *= 2.0;
    e -= 1.0;
  }
  let s = (m - 1.0) / (m + 1.0);
  let s2 = s * s;
  let series = s * (2.0 + s2 * (0.66666667 + s2 * (0.4 + s2 * (0.28571429 + s2 * 0.22222222))));
  return e * 0.69314718 + series;
}

// cos(2 pi v) for v in [0, 1): v*4 = n + f with n an integer and |f| <= 1/2 (both exact), so the
// angle left is theta = f pi/2 in [-pi/4, pi/4], where short Taylor polynomials are f32-exact.
fn rng_cos_turns(v: f32) -> f32 {
  let v4 = v * 4.0;
  let n = round(v4);
  let theta = (v4 - n) * 1.5707963;
  let t2 = theta * theta;
  let c = 1.0 + t2 * (-0.5 + t2 * (0.041666668 + t2 * (-0.0013888889 + t2 * (0.000024801587 - t2 * 0.00000027557319))));
  let s = theta * (1.0 + t2 * (-0.16666667 + t2 * (0.0083333333 + t2 * (-0.00019841270 + t2 * 0.0000027557319))));
  switch (u32(n) & 3u) {
    case 0u: { return c; }
    case 1u: { return -s; }
    case 2u: { return -c; }
    default: { return s; }
  }
}

// A standard normal draw from the first two words of one Philox block (Box-Muller, cosine
// branch): u1 = (x.x >> 8 + 1) / 2^24 in (0, 1] keeps the log finite, u2 = (x.y >> 8) / 2^24.
fn rng_normal(counter: vec4<u32>, key: vec2<u32>) -> f32 {
  let x = philox4x32_10(counter, key);
  let u1 = (f32(x.x >> 8u) + 1.0) * 5.9604645e-8;
  let u2 = f32(x.y >> 8u) * 5.9604645e-8;
  return sqrt(-2.0 * rng_ln(u1)) * rng_cos_turns(u2);
}
