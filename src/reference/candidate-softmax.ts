/**
 * Float64 reference for kernels/candidate_softmax.wgsl: SPEC §3's sampled softmax loss on given
 * candidate logits `[B, C]`, with label columns `[B]`, shared negative columns `[S]` (duplicates
 * count once per draw), optional logQ `[C]` and accidental-hit removal. Clarity, not speed.
 */

export interface CandidateSoftmaxReferenceOptions {
  logQ?: ArrayLike<number>;
  removeAccidentalHits?: boolean;
}

/** Row b's candidate logits: the label's first, then each kept negative slot's. */
function rowLogits(logits: Float64Array, C: number, b: number, label: number, negatives: ArrayLike<number>, options: CandidateSoftmaxReferenceOptions): number[] {
  const q = (c: number) => options.logQ?.[c] ?? 0;
  const out = [logits[b * C + label] - q(label)];
  for (const c of Array.from(negatives)) {
    if ((options.removeAccidentalHits ?? true) && c === label) continue;
    out.push(logits[b * C + c] - q(c));
  }
  return out;
}

function logSumExp(xs: number[]): number {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0));
}

/** Mean over rows of logsumexp(l_b0, l_b1..) − l_b0. */
export function candidateSoftmaxLoss(logits: Float64Array, B: number, C: number, labels: ArrayLike<number>, negatives: ArrayLike<number>, options: CandidateSoftmaxReferenceOptions = {}): number {
  let total = 0;
  for (let b = 0; b < B; b++) {
    const l = rowLogits(logits, C, b, labels[b], negatives, options);
    total += logSumExp(l) - l[0];
  }
  return total / B;
}

/** d loss / d logits `[B, C]` for an upstream gradient `dLoss` of the mean loss. */
export function candidateSoftmaxBackward(logits: Float64Array, B: number, C: number, labels: ArrayLike<number>, negatives: ArrayLike<number>, dLoss: number, options: CandidateSoftmaxReferenceOptions = {}): Float64Array {
  const grad = new Float64Array(B * C);
  const q = (c: number) => options.logQ?.[c] ?? 0;
  for (let b = 0; b < B; b++) {
    const y = labels[b];
    const lse = logSumExp(rowLogits(logits, C, b, y, negatives, options));
    const p = (c: number) => Math.exp(logits[b * C + c] - q(c) - lse);
    grad[b * C + y] += (p(y) - 1) * (dLoss / B);
    for (const c of Array.from(negatives)) {
      if ((options.removeAccidentalHits ?? true) && c === y) continue;
      grad[b * C + c] += p(c) * (dLoss / B);
    }
  }
  return grad;
}
