/**
 * Float64 reference for kernels/label_attention.wgsl (SPEC §2): forward and analytic backward.
 *
 * In 'pow' mode t = sign(s)·|s|^p can overflow. Both the kernel and this reference follow one
 * rule: a power whose log2 exceeds SATURATION_LOG2 (2^120, near f32's limit) is treated as
 * overflowing. Its weight is 0 unless its score is the maximum; when the maximum overflows, the
 * weights are uniform over the interests whose score equals the maximum exactly, and they are
 * constants for the backward (slope 0). Except at exact ties this is the exact softmax: the gap
 * between an overflowing t and any other t is astronomically larger than 100.
 */

/** log2 |t| beyond which the power counts as overflowing. */
export const SATURATION_LOG2 = 120;

export interface LabelAttentionShape {
  B: number;
  K: number;
  d: number;
}

export interface LabelAttentionReferenceOptions {
  /** ≥ 0, default 1; Infinity is hard attention. */
  p?: number;
  mode?: 'pow' | 'scale';
  /** `[B]` active interests per sample; default K. */
  activeK?: ArrayLike<number>;
}

export interface AttentionWeights {
  /** Softmax weights over the active scores. */
  weights: Float64Array;
  /** dt/ds per score, 0 where the weights are treated as constants. */
  slope: Float64Array;
}

/** Attention weights of the active scores `s` of one sample. */
export function attentionWeights(s: ArrayLike<number>, p: number, mode: 'pow' | 'scale'): AttentionWeights {
  const n = s.length;
  let best = 0;
  for (let j = 1; j < n; j++) if (s[j] > s[best]) best = j;
  const weights = new Float64Array(n);
  const slope = new Float64Array(n);
  if (p === Infinity) {
    weights[best] = 1;
    return { weights, slope };
  }
  if (mode === 'scale' || p === 0 || p === 1) {
    // In 'pow' mode p = 0 is uniform by definition (SPEC), which t = 0·s gives, and p = 1 is
    // t = s (dt/ds = 1 also at s = 0).
    const t = Array.from(s, (x) => p * x);
    softmaxInto(t, weights);
    slope.fill(p);
    return { weights, slope };
  }
  const log2Power = (x: number) => p * Math.log2(Math.abs(x));
  const top = s[best];
  if (top !== 0 && log2Power(top) > SATURATION_LOG2) {
    for (let j = 0; j < n; j++) weights[j] = s[j] === top ? 1 : 0;
    const ties = weights.reduce((a, b) => a + b, 0);
    for (let j = 0; j < n; j++) weights[j] /= ties;
    return { weights, slope };
  }
  // The maximum is finite, so an overflowing power is a huge negative t: weight 0.
  const t = Array.from(s, (x) => (x === 0 ? 0 : Math.sign(x) * 2 ** log2Power(x)));
  const tTop = t[best];
  let total = 0;
  for (let j = 0; j < n; j++) {
    weights[j] = s[j] !== 0 && log2Power(s[j]) > SATURATION_LOG2 ? 0 : Math.exp(t[j] - tTop);
    total += weights[j];
  }
  for (let j = 0; j < n; j++) {
    weights[j] /= total;
    // d/ds sign(s)|s|^p = p|s|^(p−1); at s = 0 it is 0 for p > 1, and taken as 0 for p < 1.
    // Where the weight is 0 the slope is irrelevant (and may overflow): 0.
    slope[j] = s[j] === 0 || weights[j] === 0 ? 0 : p * Math.abs(s[j]) ** (p - 1);
  }
  return { weights, slope };
}

function softmaxInto(t: number[], out: Float64Array): void {
  const m = Math.max(...t);
  let total = 0;
  t.forEach((x, j) => {
    out[j] = Math.exp(x - m);
    total += out[j];
  });
  for (let j = 0; j < t.length; j++) out[j] /= total;
}

function activeCount(options: LabelAttentionReferenceOptions, K: number, b: number): number {
  return options.activeK ? options.activeK[b] : K;
}

function scores(V: Float64Array, e: Float64Array, { K, d }: LabelAttentionShape, b: number, kb: number): Float64Array {
  const s = new Float64Array(kb);
  for (let j = 0; j < kb; j++) {
    for (let c = 0; c < d; c++) s[j] += V[(b * K + j) * d + c] * e[b * d + c];
  }
  return s;
}

/** v = Σ_j a_j V_j: interests `[B, K, d]`, target `[B, d]` → `[B, d]`. */
export function labelAwareAttention(
  V: Float64Array,
  e: Float64Array,
  shape: LabelAttentionShape,
  options: LabelAttentionReferenceOptions = {},
): Float64Array {
  const { B, K, d } = shape;
  const { p = 1, mode = 'pow' } = options;
  const out = new Float64Array(B * d);
  for (let b = 0; b < B; b++) {
    const kb = activeCount(options, K, b);
    const { weights } = attentionWeights(scores(V, e, shape, b, kb), p, mode);
    for (let j = 0; j < kb; j++) {
      for (let c = 0; c < d; c++) out[b * d + c] += weights[j] * V[(b * K + j) * d + c];
    }
  }
  return out;
}

/**
 * Analytic gradients for output gradient dv `[B, d]`: with g_j = dv·V_j, ḡ = Σ a_j g_j and
 * ds_j = a_j (g_j − ḡ) dt/ds_j, dV_j = a_j dv + ds_j e and de = Σ_j ds_j V_j.
 */
export function labelAwareAttentionBackward(
  V: Float64Array,
  e: Float64Array,
  dv: Float64Array,
  shape: LabelAttentionShape,
  options: LabelAttentionReferenceOptions = {},
): { gradInterests: Float64Array; gradTarget: Float64Array } {
  const { B, K, d } = shape;
  const { p = 1, mode = 'pow' } = options;
  const gradInterests = new Float64Array(B * K * d);
  const gradTarget = new Float64Array(B * d);
  for (let b = 0; b < B; b++) {
    const kb = activeCount(options, K, b);
    const { weights, slope } = attentionWeights(scores(V, e, shape, b, kb), p, mode);
    const g = scores(V, dv, shape, b, kb);
    const mean = g.reduce((acc, x, j) => acc + weights[j] * x, 0);
    for (let j = 0; j < kb; j++) {
      const ds = weights[j] * (g[j] - mean) * slope[j];
      for (let c = 0; c < d; c++) {
        const i = (b * K + j) * d + c;
        gradInterests[i] = weights[j] * dv[b * d + c] + ds * e[b * d + c];
        gradTarget[b * d + c] += ds * V[i];
      }
    }
  }
  return { gradInterests, gradTarget };
}
