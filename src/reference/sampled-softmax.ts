/** Float64 reference for kernels/sampled_softmax.wgsl (SPEC §3): loss and analytic gradients. */

export interface SampledSoftmaxReferenceInputs {
  /** `[B, d]` */
  user: Float64Array;
  /** `[N, d]` */
  itemTable: Float64Array;
  /** `[B]` item ids. */
  labels: ArrayLike<number>;
  /** `[S]` item ids shared by the batch. */
  negatives: ArrayLike<number>;
  d: number;
  /** `[N]` */
  bias?: Float64Array;
  /** `[N]` */
  logQ?: Float64Array;
  /** Default true. */
  removeAccidentalHits?: boolean;
}

/** Candidate logits of sample b: [l_0, l_1..l_S], −Infinity for removed accidental hits. */
function candidateLogits(inputs: SampledSoftmaxReferenceInputs, b: number): number[] {
  const { user, itemTable, labels, negatives, d, bias, logQ, removeAccidentalHits = true } = inputs;
  const logit = (item: number) => {
    let l = (bias ? bias[item] : 0) - (logQ ? logQ[item] : 0);
    for (let c = 0; c < d; c++) l += user[b * d + c] * itemTable[item * d + c];
    return l;
  };
  const y = labels[b];
  return [logit(y), ...Array.from(negatives, (n) => (removeAccidentalHits && n === y ? -Infinity : logit(n)))];
}

/** Softmax of the candidate logits (0 for −Infinity) and the sample's loss. */
function sampleSoftmax(logits: number[]): { probs: number[]; loss: number } {
  const top = Math.max(...logits);
  const total = logits.reduce((acc, l) => acc + Math.exp(l - top), 0);
  return { probs: logits.map((l) => Math.exp(l - top) / total), loss: top + Math.log(total) - logits[0] };
}

/** Mean over the batch of logsumexp(l_0..l_S) − l_0. */
export function sampledSoftmaxLoss(inputs: SampledSoftmaxReferenceInputs): number {
  const B = inputs.labels.length;
  let total = 0;
  for (let b = 0; b < B; b++) total += sampleSoftmax(candidateLogits(inputs, b)).loss;
  return total / B;
}

/**
 * Gradients of the mean loss: user `[B, d]`, itemTable `[N, d]` (dense, zero for untouched
 * rows) and bias `[N]`. With probabilities p of the candidates, dl_0 = (p_0 − 1)/B and
 * dl_s = p_s/B; each candidate row gets dl·v_b, v_b gets Σ dl·W_row.
 */
export function sampledSoftmaxGrads(inputs: SampledSoftmaxReferenceInputs): {
  gradUser: Float64Array;
  gradTable: Float64Array;
  gradBias: Float64Array;
} {
  const { user, itemTable, labels, negatives, d } = inputs;
  const B = labels.length;
  const gradUser = new Float64Array(B * d);
  const gradTable = new Float64Array(itemTable.length);
  const gradBias = new Float64Array(itemTable.length / d);
  for (let b = 0; b < B; b++) {
    const { probs } = sampleSoftmax(candidateLogits(inputs, b));
    const rows = [labels[b], ...Array.from(negatives)];
    rows.forEach((row, k) => {
      const dl = (probs[k] - (k === 0 ? 1 : 0)) / B;
      if (dl === 0) return;
      gradBias[row] += dl;
      for (let c = 0; c < d; c++) {
        gradUser[b * d + c] += dl * itemTable[row * d + c];
        gradTable[row * d + c] += dl * user[b * d + c];
      }
    });
  }
  return { gradUser, gradTable, gradBias };
}
