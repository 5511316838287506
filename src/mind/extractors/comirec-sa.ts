/**
 * ComiRec-SA, the self-attentive extractor of Cen et al., "Controllable Multi-Interest Framework
 * for Recommendation", KDD 2020, §3.2 ("Self-Attentive Method"): for a history H `[L, d]`,
 *   A = softmax(W2 · tanh(W1 · Hᵀ))   `[K, L]`, the softmax over the valid history positions,
 *   interests V = A · H               `[K, d]`,
 * with W1 `[d_a, d]` and W2 `[K, d_a]`, d_a = config.selfAttentionRatio · d (4d in the paper's
 * code). Written as a composition of the primitives and matmul: no kernel of its own, the
 * gradient is the composition's. Every one of the K interests is active. Padding positions get
 * attention 0 (masked softmax); an empty history gives zero interests.
 * Differences from the authors' code: no learned position embeddings added to the attention's
 * input, and no biases in the two projections (the paper's equation has none).
 */
import { batchedMatmul, matmul } from '../../autograd/ops/matmul.js';
import { maskedSoftmax, swapAxes, tanh } from '../../autograd/ops/primitives.js';
import { reshape } from '../../autograd/ops/reshape.js';
import type { Tensor } from '../../autograd/tensor.js';
import type { InterestExtractor } from './extractor.js';
import { glorot } from './init.js';

/**
 * The self-attention A `[B, K, L]` f32 of behaviours H `[B, L, d]` with W1 `[d_a, d]`, W2
 * `[K, d_a]`, masked by `lengths` `[B]` i32: each row sums to 1 over positions < lengths[b] and
 * is 0 past them (all zeros for an empty history).
 */
export function selfAttention(behaviors: Tensor, lengths: Tensor, w1: Tensor, w2: Tensor): Tensor {
  const [B, L, d] = behaviors.shape;
  const hidden = tanh(matmul(reshape(behaviors, [B * L, d]), w1, { transB: true }));
  // Scores [B, L, K] with W2 shared by every user, then K before L so the softmax runs over L.
  const scores = batchedMatmul(reshape(hidden, [B, L, w1.shape[0]]), w2, { transB: true });
  return maskedSoftmax(swapAxes(scores, 1), lengths);
}

export const comirecSaExtractor: InterestExtractor = {
  name: 'comirec-sa',
  displayName: 'ComiRec-SA',
  description: 'self-attentive multi-interest extraction (ComiRec-SA, Cen et al. 2020)',
  multiInterest: true,
  parameterSpecs: (config) => {
    const d = config.dim;
    const da = config.selfAttentionRatio * d;
    return [
      { name: 'comirec_sa.w1', shape: [da, d], embedding: false, init: glorot(d, da) },
      { name: 'comirec_sa.w2', shape: [config.kMax, da], embedding: false, init: glorot(da, config.kMax) },
    ];
  },
  numInterests: (config) => config.kMax,
  extract: (input) => {
    const behaviors = input.behaviors();
    const attention = selfAttention(behaviors, input.lengthsTensor(), input.param('comirec_sa.w1'), input.param('comirec_sa.w2'));
    return { interests: batchedMatmul(attention, behaviors), activeK: new Int32Array(input.batchSize).fill(input.config.kMax) };
  },
};
