/**
 * Float64 references of ComiRec's extractors (Cen et al., KDD 2020, §3.2), written from the
 * definitions with plain loops (src/mind/extractors/comirec-sa.ts and comirec-dr.ts compose GPU
 * ops instead). Row-major flat arrays throughout.
 */

/**
 * ComiRec-SA: A = softmax over positions l < len_b of W2·tanh(W1·h_l), interests = A·H.
 * H `[B, L, d]`, W1 `[da, d]`, W2 `[K, da]`, lengths `[B]` → `{ attention [B, K, L], interests [B, K, d] }`.
 * Masked positions get attention 0; an empty history gives zero attention and interests.
 */
export function comirecSa(H: Float64Array, W1: Float64Array, W2: Float64Array, lengths: ArrayLike<number>, B: number, L: number, d: number, da: number, K: number) {
  const attention = new Float64Array(B * K * L);
  const interests = new Float64Array(B * K * d);
  for (let b = 0; b < B; b++) {
    const len = Math.min(Math.max(lengths[b], 0), L);
    const hidden = new Float64Array(L * da);
    for (let l = 0; l < len; l++) {
      for (let a = 0; a < da; a++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += W1[a * d + c] * H[(b * L + l) * d + c];
        hidden[l * da + a] = Math.tanh(s);
      }
    }
    for (let k = 0; k < K; k++) {
      const scores = new Float64Array(len);
      for (let l = 0; l < len; l++) {
        let s = 0;
        for (let a = 0; a < da; a++) s += W2[k * da + a] * hidden[l * da + a];
        scores[l] = s;
      }
      const m = Math.max(...scores);
      let z = 0;
      for (let l = 0; l < len; l++) z += Math.exp(scores[l] - m);
      for (let l = 0; l < len; l++) {
        const w = Math.exp(scores[l] - m) / z;
        attention[(b * K + k) * L + l] = w;
        for (let c = 0; c < d; c++) interests[(b * K + k) * d + c] += w * H[(b * L + l) * d + c];
      }
    }
  }
  return { attention, interests };
}

/** squash(s) = |s|²/(1 + |s|²) · s/√(|s|² + eps), in place on s. */
function squashInPlace(s: Float64Array, eps: number): void {
  let n2 = 0;
  for (const x of s) n2 += x * x;
  const f = n2 / (1 + n2) / Math.sqrt(n2 + eps);
  for (let i = 0; i < s.length; i++) s[i] *= f;
}

/** ê[b, j, l] = e[b, l]·W[l] sliced to interest j: E `[B, L, d]`, W `[L, d, K·d]` → `[B, K, L, d]`. */
export function comirecDrMapped(E: Float64Array, W: Float64Array, B: number, L: number, d: number, K: number): Float64Array {
  const out = new Float64Array(B * K * L * d);
  for (let b = 0; b < B; b++)
    for (let l = 0; l < L; l++)
      for (let j = 0; j < K; j++)
        for (let c = 0; c < d; c++) {
          let s = 0;
          for (let i = 0; i < d; i++) s += E[(b * L + l) * d + i] * W[(l * d + i) * K * d + j * d + c];
          out[((b * K + j) * L + l) * d + c] = s;
        }
  return out;
}

/**
 * The routing weights `[B, K, L]` of ComiRec-DR after `iterations − 1` logit updates from zero:
 * softmax over the K interests per position, 0 at positions ≥ len. `ehat` `[B, K, L, d]`.
 */
export function comirecDrWeights(ehat: Float64Array, lengths: ArrayLike<number>, B: number, L: number, d: number, K: number, iterations: number, eps = 1e-9): Float64Array {
  const logits = new Float64Array(B * K * L);
  const weights = new Float64Array(B * K * L);
  for (let r = 0; r < iterations; r++) {
    for (let b = 0; b < B; b++) {
      const len = Math.min(Math.max(lengths[b], 0), L);
      for (let l = 0; l < L; l++) {
        let m = -Infinity;
        for (let j = 0; j < K; j++) m = Math.max(m, logits[(b * K + j) * L + l]);
        let z = 0;
        for (let j = 0; j < K; j++) z += Math.exp(logits[(b * K + j) * L + l] - m);
        for (let j = 0; j < K; j++) weights[(b * K + j) * L + l] = l < len ? Math.exp(logits[(b * K + j) * L + l] - m) / z : 0;
      }
    }
    if (r === iterations - 1) break;
    const v = comirecDrCapsules(ehat, weights, B, L, d, K, eps);
    for (let b = 0; b < B; b++)
      for (let j = 0; j < K; j++)
        for (let l = 0; l < L; l++) {
          let s = 0;
          for (let c = 0; c < d; c++) s += ehat[((b * K + j) * L + l) * d + c] * v[(b * K + j) * d + c];
          logits[(b * K + j) * L + l] += s;
        }
  }
  return weights;
}

/** Capsules `[B, K, d]` = squash(Σ_l w[b, j, l] ê[b, j, l]) for given weights `[B, K, L]`. */
export function comirecDrCapsules(ehat: Float64Array, weights: Float64Array, B: number, L: number, d: number, K: number, eps = 1e-9): Float64Array {
  const out = new Float64Array(B * K * d);
  for (let bj = 0; bj < B * K; bj++) {
    const s = new Float64Array(d);
    for (let l = 0; l < L; l++) for (let c = 0; c < d; c++) s[c] += weights[bj * L + l] * ehat[(bj * L + l) * d + c];
    squashInPlace(s, eps);
    out.set(s, bj * d);
  }
  return out;
}

/** ComiRec-DR's interests `[B, K, d]` for E `[B, L, d]`, maps W `[L, d, K·d]`, lengths `[B]`. */
export function comirecDr(E: Float64Array, W: Float64Array, lengths: ArrayLike<number>, B: number, L: number, d: number, K: number, iterations: number): Float64Array {
  const ehat = comirecDrMapped(E, W, B, L, d, K);
  return comirecDrCapsules(ehat, comirecDrWeights(ehat, lengths, B, L, d, K, iterations), B, L, d, K);
}
