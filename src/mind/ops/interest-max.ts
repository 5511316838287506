/**
 * The max over a user's active interests of per-interest scores (kernels/interest_max.wgsl):
 * SPEC §5 ranks an item by max_j V_j · e over active j at serving time, and this op lets the
 * training loss use exactly that score (MindConfig.candidateScore = 'maxInterest').
 */
import indexWgsl from '../../../kernels/common/index.wgsl?raw';
import source from '../../../kernels/interest_max.wgsl?raw';
import { kernelModule } from '../../gpu/kernel.js';
import { type Tensor, formatShape } from '../../autograd/tensor.js';
import { expectTensor, flatGrid } from '../../autograd/ops/common.js';
import { expectActiveCounts } from './active-interests.js';

const kernels = kernelModule('interest_max', indexWgsl, source);

/**
 * out[b, c] = max over j < K_b of scores[b, j, c]: scores `[B, K, C]` f32, activeK `[B]` i32 in
 * [1, K] (default K; checked against its host copy when it has one) → `[B, C]` f32. The gradient
 * goes to the interest that attained the max (ties: the lowest j), exact zeros elsewhere and on
 * inactive interests. Throws when shapes disagree or an active count is outside [1, K].
 */
export function interestMax(scores: Tensor, activeK?: Tensor): Tensor {
  const op = 'interestMax';
  expectTensor(op, 'scores', scores, 'f32', 3);
  const [B, K, C] = scores.shape;
  if (K < 1) throw new Error(`${op}: scores ${formatShape(scores.shape)} has no interests (K = 0)`);
  if (activeK !== undefined) expectActiveCounts(op, activeK, B, K);
  const ctx = scores.ctx;
  const active = activeK ?? ctx.tensor(new Int32Array(B).fill(K), [B], { label: `${op}.activeK` });
  const params = { batch: B, k: K, cols: C };
  const out = ctx.empty([B, C], 'f32', op);
  const argmax = ctx.empty([B, C], 'i32', `${op}.argmax`);
  kernels.entry('forward').run(ctx, { params, scores, active_k: active, out, argmax }, flatGrid(B * C));
  if (!activeK) active.dispose();
  ctx.tape.record(op, [scores], [out], ([g]) => {
    const grad = ctx.empty(scores.shape, 'f32', `${op}.grad`);
    kernels.entry('backward').run(ctx, { params, argmax, upstream: g!, grad_scores: grad }, flatGrid(B * K * C));
    return [grad];
  }, { owns: [argmax] });
  return out;
}
