/**
 * Float64 reference for kernels/candidate_softmax.wgsl: SPEC §3's sampled softmax loss on given
 * candidate logits `[B, C]`, with label columns `[B]`, shared negative columns `[S]` (duplicates
 * count once per draw), optional logQ `[C]`, accidental-hit removal and REMI's interest-aware
 * hard-negative weights (β; Xie et al., RecSys 2023, §4.1). Written straight from the
 * definitions (no max-shifting beyond what float64 needs): clarity, not speed.
 */

export interface CandidateSoftmaxReferenceOptions {
  logQ?: ArrayLike<number>;
  removeAccidentalHits?: boolean;
  hardNegativeBeta?: number;
}

interface Row {
  l0: number;
  /** Corrected logits of the kept negative slots, in slot order, with their columns. */
  negatives: { column: number; logit: number }[];
}

function row(logits: Float64Array, C: number, b: number, label: number, negatives: ArrayLike<number>, options: CandidateSoftmaxReferenceOptions): Row {
  const q = (c: number) => options.logQ?.[c] ?? 0;
  const kept = Array.from(negatives).filter((c) => !((options.removeAccidentalHits ?? true) && c === label));
  return { l0: logits[b * C + label] - q(label), negatives: kept.map((column) => ({ column, logit: logits[b * C + column] - q(column) })) };
}

/** N_b = Σ_s w_s exp(l_s) with w_s = n·softmax(β l)_s, and each slot's w_s. */
function negativeMass(r: Row, beta: number): { mass: number; weights: number[] } {
  const n = r.negatives.length;
  const z = r.negatives.reduce((a, s) => a + Math.exp(beta * s.logit), 0);
  const weights = r.negatives.map((s) => (n * Math.exp(beta * s.logit)) / z);
  return { mass: r.negatives.reduce((a, s, i) => a + weights[i] * Math.exp(s.logit), 0), weights };
}

/** Mean over rows of log(exp(l_b0) + N_b) − l_b0. */
export function candidateSoftmaxLoss(logits: Float64Array, B: number, C: number, labels: ArrayLike<number>, negatives: ArrayLike<number>, options: CandidateSoftmaxReferenceOptions = {}): number {
  let total = 0;
  for (let b = 0; b < B; b++) {
    const r = row(logits, C, b, labels[b], negatives, options);
    total += Math.log(Math.exp(r.l0) + negativeMass(r, options.hardNegativeBeta ?? 0).mass) - r.l0;
  }
  return total / B;
}

/**
 * d loss / d logits `[B, C]` for an upstream gradient `dLoss` of the mean loss. The weights
 * w_s depend on the logits too; their derivative is dw_s/dl_t = β w_s ([s = t] − softmax(βl)_t).
 */
export function candidateSoftmaxBackward(logits: Float64Array, B: number, C: number, labels: ArrayLike<number>, negatives: ArrayLike<number>, dLoss: number, options: CandidateSoftmaxReferenceOptions = {}): Float64Array {
  const beta = options.hardNegativeBeta ?? 0;
  const grad = new Float64Array(B * C);
  for (let b = 0; b < B; b++) {
    const y = labels[b];
    const r = row(logits, C, b, y, negatives, options);
    const { mass, weights } = negativeMass(r, beta);
    const denominator = Math.exp(r.l0) + mass;
    const g = dLoss / B;
    grad[b * C + y] += (Math.exp(r.l0) / denominator - 1) * g;
    const n = r.negatives.length;
    // dN/dl_t = w_t e^{l_t} + Σ_s e^{l_s} dw_s/dl_t, with softmax(βl)_t = w_t / n.
    r.negatives.forEach((t, ti) => {
      let dMass = weights[ti] * Math.exp(t.logit);
      r.negatives.forEach((s, si) => {
        dMass += Math.exp(s.logit) * beta * weights[si] * ((si === ti ? 1 : 0) - weights[ti] / n);
      });
      grad[b * C + t.column] += (dMass / denominator) * g;
    });
  }
  return grad;
}
