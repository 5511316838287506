/**
 * Label-aware attention (SPEC §2, kernels/label_attention.wgsl): the training-time user vector
 * is the attention-weighted sum of the interests, weighted by how well each matches the target
 * item. Forward and backward are one dispatch each.
 */
import source from '../../../kernels/label_attention.wgsl?raw';
import { kernelModule } from '../../gpu/kernel.js';
import { type Tensor, formatShape } from '../../autograd/tensor.js';
import { expectTensor } from '../../autograd/ops/common.js';
import { expectActiveCounts } from './active-interests.js';
import { gridFor } from '../../gpu/runtime.js';

export interface LabelAttentionOptions {
  /**
   * Sharpness, ≥ 0; default 1. `Infinity` is hard attention (a one-hot at the best-matching
   * active interest, ties to the lowest index) in either mode.
   */
  p?: number;
  /** `'pow'` (default, the paper): t = sign(s)·|s|^p. `'scale'`: t = p·s. */
  mode?: 'pow' | 'scale';
  /** Active interests per sample `[B]` i32 in [1, K]; default K for every sample. */
  activeK?: Tensor;
}

const kernels = kernelModule('label_attention', source);

const MODE_POW = 0;
const MODE_SCALE = 1;
const MODE_HARD = 2;
/**
 * Finite p above this behave as this: with f32 scores every weight is already at its limit
 * (|log2|s|| ≥ 1.7e-7 for s ≠ ±1, so p·log2|s| is far past overflow or underflow), and the
 * kernel's p·log2|s| stays finite.
 */
const MAX_FINITE_P = 1e30;

/** The kernel's mode and p: pow with p = 0 or 1 is the scale mode with the same p. */
function kernelMode(p: number, mode: 'pow' | 'scale'): { mode: number; p: number } {
  if (p === Infinity) return { mode: MODE_HARD, p: 0 };
  const capped = Math.min(p, MAX_FINITE_P);
  if (mode === 'scale' || p === 0 || p === 1) return { mode: MODE_SCALE, p: capped };
  return { mode: MODE_POW, p: capped };
}

/**
 * v_b = Σ_{j < K_b} a_bj V_bj with a_b = softmax over active j of t(V_bj · e_b): interests
 * `[B, K, d]`, target `[B, d]` → `[B, d]`. Gradients flow to interests and target (in hard mode
 * only to the chosen interest). Inactive interests get weight 0 and an exact zero gradient, and
 * never reach the output (not even as NaN). The weights the forward computes are saved on the
 * tape for the backward (which may run outside the forward's tidy scope).
 */
export function labelAwareAttention(interests: Tensor, target: Tensor, options: LabelAttentionOptions = {}): Tensor {
  const op = 'labelAwareAttention';
  expectTensor(op, 'interests', interests, 'f32', 3);
  expectTensor(op, 'target', target, 'f32', 2);
  const [B, K, d] = interests.shape;
  if (target.shape[0] !== B || target.shape[1] !== d) {
    throw new Error(`${op}: target ${formatShape(target.shape)} does not match interests ${formatShape(interests.shape)}; expected [${B}, ${d}]`);
  }
  if (K < 1) throw new Error(`${op}: interests ${formatShape(interests.shape)} has no interests (K = 0)`);
  const { p = 1, mode = 'pow', activeK } = options;
  if (typeof p !== 'number' || Number.isNaN(p) || p < 0) throw new Error(`${op}: p must be a number ≥ 0 (or Infinity), got ${p}`);
  if (mode !== 'pow' && mode !== 'scale') throw new Error(`${op}: mode must be 'pow' or 'scale', got ${String(mode)}`);
  if (activeK !== undefined) expectActiveCounts(op, activeK, B, K);
  const ctx = interests.ctx;
  const scratchBytes = 8 * K + 4;
  if (scratchBytes > ctx.gpu.limits.maxComputeWorkgroupStorageSize) {
    throw new Error(`${op}: K = ${K} interests exceed this device's workgroup storage`);
  }
  const active = activeK ?? ctx.tensor(new Int32Array(B).fill(K), [B], { label: 'activeK' });
  const kernel = kernelMode(p, mode);
  const params = { batch: B, dim: d, mode: kernel.mode, p: kernel.p };
  const attn = ctx.empty([B, K], 'f32', 'labelAttention.weights');
  const slope = ctx.empty([B, K], 'f32', 'labelAttention.slope');
  const out = ctx.empty([B, d], 'f32', op);
  kernels.entry('forward').run(ctx, { params, interests, target_vec: target, active_k: active, attn, slope, out }, gridFor(B), { K });

  ctx.tape.record(op, [interests, target], [out], ([g]) => {
    const gradInterests = ctx.empty(interests.shape, 'f32', `${op}.grad.interests`);
    const gradTarget = ctx.empty(target.shape, 'f32', `${op}.grad.target`);
    kernels.entry('backward').run(
      ctx,
      {
        params,
        interests,
        target_vec: target,
        active_k: active,
        attn,
        slope,
        grad_out: g!,
        grad_interests: gradInterests,
        grad_target: gradTarget,
      },
      gridFor(B),
      { K },
    );
    return [gradInterests, gradTarget];
  }, { reads: [interests, target, activeK], owns: activeK ? [attn, slope] : [attn, slope, active] });
  return out;
}
