/**
 * Float64 reference of B2I dynamic routing (SPEC.md section 1), written for clarity: the forward
 * with explicit initial logits b0, and the stop-gradient backward exactly as SPEC defines it
 * (it is not the derivative of the forward, so finite differences cannot check it).
 */

export interface RoutingReferenceArgs {
  /** `[B, L, dIn]` */
  E: ArrayLike<number>;
  /** `[B]` history lengths in [0, L] */
  lengths: ArrayLike<number>;
  /** `[dIn, d]` */
  S: ArrayLike<number>;
  /** `[B, kMax, L]` initial logits */
  b0: ArrayLike<number>;
  B: number;
  L: number;
  dIn: number;
  d: number;
  kMax: number;
  iterations: number;
  softmaxOver?: 'interests' | 'behaviors';
  dynamicK?: boolean;
}

/** The state of one sample after the last routing iteration. */
export interface SampleRouting {
  len: number;
  activeK: number;
  /** last iteration's routing weights `[K][L]` */
  w: number[][];
  /** last iteration's z `[K][d]` */
  z: number[][];
  /** last iteration's u `[K][d]` */
  u: number[][];
}

const EPS = 1e-9;

function activeK(len: number, kMax: number, dynamicK: boolean): number {
  return dynamicK ? Math.max(1, Math.min(kMax, Math.floor(Math.log2(Math.max(len, 1))))) : kMax;
}

/** Softmax over the valid entries of `x`; zeros elsewhere. */
function softmax(x: number[], valid: boolean[]): number[] {
  let m = -Infinity;
  x.forEach((v, k) => {
    if (valid[k]) m = Math.max(m, v);
  });
  const e = x.map((v, k) => (valid[k] ? Math.exp(v - m) : 0));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => (sum > 0 ? v / sum : 0));
}

/** w[j][i]: SPEC's masked softmax of the logits b `[K][L]`. */
function routingWeights(b: number[][], len: number, activeK: number, over: 'interests' | 'behaviors'): number[][] {
  const K = b.length;
  const L = b[0].length;
  const w = b.map((row) => row.map(() => 0));
  if (over === 'interests') {
    for (let i = 0; i < len; i++) {
      const col = softmax(
        b.map((row) => row[i]),
        b.map((_, j) => j < activeK),
      );
      for (let j = 0; j < K; j++) w[j][i] = col[j];
    }
  } else {
    for (let j = 0; j < activeK; j++) {
      w[j] = softmax(
        b[j],
        Array.from({ length: L }, (_, i) => i < len),
      );
    }
  }
  return w;
}

function squash(z: number[]): number[] {
  const q = z.reduce((a, v) => a + v * v, 0);
  const f = q / (1 + q) / Math.sqrt(q + EPS);
  return z.map((v) => f * v);
}

function routeSample(args: RoutingReferenceArgs, b: number): SampleRouting {
  const { E, lengths, S, b0, L, dIn, d, kMax, iterations, softmaxOver = 'interests', dynamicK = false } = args;
  const len = lengths[b];
  const K = activeK(len, kMax, dynamicK);
  const ehat: number[][] = [];
  for (let i = 0; i < L; i++) {
    const row = new Array<number>(d).fill(0);
    for (let k = 0; k < dIn; k++) {
      const e = E[(b * L + i) * dIn + k];
      for (let c = 0; c < d; c++) row[c] += e * S[k * d + c];
    }
    ehat.push(row);
  }
  const logits: number[][] = [];
  for (let j = 0; j < kMax; j++) logits.push(Array.from({ length: L }, (_, i) => b0[(b * kMax + j) * L + i]));
  let w: number[][] = [];
  let z: number[][] = [];
  let u: number[][] = [];
  for (let r = 0; r < iterations; r++) {
    w = routingWeights(logits, len, K, softmaxOver);
    z = w.map((wj) => {
      const zj = new Array<number>(d).fill(0);
      for (let i = 0; i < L; i++) for (let c = 0; c < d; c++) zj[c] += wj[i] * ehat[i][c];
      return zj;
    });
    u = z.map(squash);
    if (r < iterations - 1) {
      for (let j = 0; j < kMax; j++) {
        for (let i = 0; i < L; i++) logits[j][i] += u[j].reduce((a, v, c) => a + v * ehat[i][c], 0);
      }
    }
  }
  return { len, activeK: K, w, z, u };
}

/**
 * Every sample's state after the last routing iteration, one entry per sample b < B: its length
 * and K_b, the routing weights `w` `[kMax][L]` that built the output (rows j ≥ K_b and columns
 * i ≥ len_b zero), `z` and `u` `[kMax][d]`. `u` is the capsule routingForwardReference outputs
 * for active j of a non-empty history; what is in rows j ≥ K_b is not part of the output.
 */
export function routingStatesReference(args: RoutingReferenceArgs): SampleRouting[] {
  return Array.from({ length: args.B }, (_, b) => routeSample(args, b));
}

/** Interest capsules U `[B, kMax, d]`: the last iteration's u_j for active j, zeros elsewhere. */
export function routingForwardReference(args: RoutingReferenceArgs): Float64Array {
  const { kMax, d } = args;
  const U = new Float64Array(args.B * kMax * d);
  for (const [b, s] of routingStatesReference(args).entries()) {
    if (s.len === 0) continue;
    for (let j = 0; j < s.activeK; j++) for (let c = 0; c < d; c++) U[(b * kMax + j) * d + c] = s.u[j][c];
  }
  return U;
}

/**
 * SPEC's 'stop' gradient for upstream dU `[B, kMax, d]`: the last iteration's w is constant,
 * dz_j = J_squash(z_j)ᵀ du_j, dÊ_i = Σ_j w[j,i] dz_j, dS = Σ_b E_bᵀ dÊ_b, dE = dÊ Sᵀ.
 * Returns dE `[B, L, dIn]` and dS `[dIn, d]`.
 */
export function routingStopGradientReference(args: RoutingReferenceArgs, dU: ArrayLike<number>): { dE: Float64Array; dS: Float64Array } {
  const { E, S, B, L, dIn, d, kMax } = args;
  const dE = new Float64Array(B * L * dIn);
  const dS = new Float64Array(dIn * d);
  for (let b = 0; b < B; b++) {
    const s = routeSample(args, b);
    if (s.len === 0) continue;
    const dEhat: number[][] = Array.from({ length: L }, () => new Array<number>(d).fill(0));
    for (let j = 0; j < s.activeK; j++) {
      // u = f(q) z with q = ‖z‖²: du/dz = f I + 2 f'(q) z zᵀ (symmetric), where
      // f(q) = q / ((1+q) sqrt(q+ε)) and f'(q) = (q + ε − q(1+q)/2) / ((1+q)² (q+ε)^{3/2}).
      const z = s.z[j];
      const du = Array.from({ length: d }, (_, c) => dU[(b * kMax + j) * d + c]);
      const q = z.reduce((a, v) => a + v * v, 0);
      const f = q / (1 + q) / Math.sqrt(q + EPS);
      const fPrime = (q + EPS - (q * (1 + q)) / 2) / ((1 + q) ** 2 * (q + EPS) ** 1.5);
      const zDotDu = z.reduce((a, v, c) => a + v * du[c], 0);
      const dz = z.map((v, c) => f * du[c] + 2 * fPrime * zDotDu * v);
      for (let i = 0; i < s.len; i++) for (let c = 0; c < d; c++) dEhat[i][c] += s.w[j][i] * dz[c];
    }
    for (let i = 0; i < L; i++) {
      for (let k = 0; k < dIn; k++) {
        const e = E[(b * L + i) * dIn + k];
        let acc = 0;
        for (let c = 0; c < d; c++) {
          dS[k * d + c] += e * dEhat[i][c];
          acc += dEhat[i][c] * S[k * d + c];
        }
        dE[(b * L + i) * dIn + k] = acc;
      }
    }
  }
  return { dE, dS };
}
