/**
 * Softmax cross-entropy over sampled candidates whose logits are given
 * (kernels/candidate_softmax.wgsl): SPEC §3's loss when the logits come from elsewhere, here
 * the max over interests of the interest–candidate products (MindConfig.candidateScore =
 * 'maxInterest'). Two dispatches forward (per-row losses, then their mean), one backward.
 */
import indexWgsl from '../../../kernels/common/index.wgsl?raw';
import source from '../../../kernels/candidate_softmax.wgsl?raw';
import { kernelModule } from '../../gpu/kernel.js';
import { type Tensor, formatShape } from '../../autograd/tensor.js';
import { expectTensor, flatGrid } from '../../autograd/ops/common.js';
import { mean } from '../../autograd/ops/reduce.js';

export interface CandidateSoftmaxOptions {
  /** `[C]` log of each column's expected count among the S draws (SPEC §3 logQ); subtracted, no gradient. */
  logQ?: Tensor;
  /** Drop negative slots that draw the row's own label (default true). */
  removeAccidentalHits?: boolean;
  /**
   * β ≥ 0 of REMI's interest-aware hard negatives (Xie et al., RecSys 2023, §4.1): the
   * negatives' mass becomes n Σ exp((1+β) l_s) / Σ exp(β l_s), i.e. each negative weighted by
   * n·softmax(β l)_s, so the harder ones count more; 0 (default) is the plain sampled softmax.
   */
  hardNegativeBeta?: number;
}

const kernels = kernelModule('candidate_softmax', indexWgsl, source);

const HAS_LOGQ = 1;
const REMOVE_HITS = 2;

function hostIndices(op: string, name: string, t: Tensor, C: number): Int32Array {
  if (!t.host) throw new Error(`${op}: ${name} needs its host copy (create it with ctx.tensor from an Int32Array)`);
  t.host.forEach((v, i) => {
    if (!(v >= 0 && v < C)) throw new Error(`${op}: ${name}[${i}] = ${v} is outside the ${C} candidate columns [0, ${C})`);
  });
  return t.host;
}

/**
 * Mean over rows b of logsumexp(l_b0, l_b1..l_bS) − l_b0 → `[1]` f32, where logits `[B, C]` f32
 * score C candidate columns, labels `[B]` i32 name row b's label column, negatives `[S]` i32 the
 * columns of the S shared negative draws (duplicates allowed), l_b0 = logits[b, y_b] − logQ[y_b]
 * and l_bs = logits[b, n_s] − logQ[n_s] (SPEC §3), the negatives optionally re-weighted towards
 * hard ones (`hardNegativeBeta`). The gradient goes to the logits only. Throws when shapes
 * disagree, an index is outside [0, C) or β is outside [0, 1000].
 */
export function candidateSoftmaxLoss(logits: Tensor, labels: Tensor, negatives: Tensor, options: CandidateSoftmaxOptions = {}): Tensor {
  const op = 'candidateSoftmaxLoss';
  expectTensor(op, 'logits', logits, 'f32', 2);
  expectTensor(op, 'labels', labels, 'i32', 1);
  expectTensor(op, 'negatives', negatives, 'i32', 1);
  const [B, C] = logits.shape;
  const S = negatives.shape[0];
  if (B < 1) throw new Error(`${op}: logits ${formatShape(logits.shape)} has no rows (B must be ≥ 1)`);
  if (labels.shape[0] !== B) throw new Error(`${op}: labels ${formatShape(labels.shape)} must have shape [${B}] (one per row)`);
  if (S < 1) throw new Error(`${op}: negatives ${formatShape(negatives.shape)} is empty (S must be ≥ 1)`);
  const { logQ, removeAccidentalHits = true, hardNegativeBeta = 0 } = options;
  if (typeof hardNegativeBeta !== 'number' || !(hardNegativeBeta >= 0 && hardNegativeBeta <= 1e3)) {
    throw new Error(`${op}: hardNegativeBeta must be a number in [0, 1000], got ${hardNegativeBeta}`);
  }
  if (logQ !== undefined) {
    expectTensor(op, 'logQ', logQ, 'f32', 1);
    if (logQ.shape[0] !== C) throw new Error(`${op}: logQ ${formatShape(logQ.shape)} must have shape [${C}] (one per column)`);
  }
  if (typeof removeAccidentalHits !== 'boolean') throw new Error(`${op}: removeAccidentalHits must be a boolean, got ${String(removeAccidentalHits)}`);
  hostIndices(op, 'labels', labels, C);
  const negativeColumns = hostIndices(op, 'negatives', negatives, C);

  const ctx = logits.ctx;
  const flags = (logQ ? HAS_LOGQ : 0) | (removeAccidentalHits ? REMOVE_HITS : 0);
  const params = { batch: B, cols: C, num_neg: S, flags, beta: hardNegativeBeta };
  // An absent logQ binds the logits as a placeholder; the flag keeps the kernel from reading it.
  const logQBinding = logQ ?? logits;
  const rowLoss = ctx.empty([B], 'f32', `${op}.rows`);
  const stats = ctx.empty([B, 5], 'f32', `${op}.stats`);
  kernels.entry('forward').run(ctx, { params, logits, labels, negatives, logq: logQBinding, row_loss: rowLoss, stats }, flatGrid(B));
  ctx.tape.record(op, [logits], [rowLoss], ([g]) => {
    const counts = new Int32Array(C);
    for (const c of negativeColumns) counts[c]++;
    const countTensor = ctx.tensor(counts, [C], { label: `${op}.counts` });
    const grad = ctx.empty([B, C], 'f32', `${op}.grad`);
    kernels.entry('backward').run(
      ctx,
      { params, logits, labels, logq: logQBinding, stats, upstream: g!, counts: countTensor, grad_logits: grad },
      flatGrid(B * C),
    );
    countTensor.dispose();
    return [grad];
  }, { reads: [logits, labels, logQ], owns: [stats] });
  return mean(rowLoss);
}
