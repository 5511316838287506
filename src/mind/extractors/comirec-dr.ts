/**
 * ComiRec-DR, the dynamic-routing extractor of Cen et al., "Controllable Multi-Interest Framework
 * for Recommendation", KDD 2020, §3.2 ("Dynamic Routing"), as their reference code defines it.
 * It differs from MIND's B2I routing (mind-routing.ts) in four ways:
 * - each (history position i, interest j) pair has its own bilinear map: ê_{j|i} = W_ij e_i
 *   (MIND shares one map S), so the parameter is `[P, d, K·d]` for P = the history window;
 * - the routing logits start at zero (MIND draws them from a Gaussian);
 * - always K interests (no dynamic K_b);
 * - the softmax runs over the interests per position (as MIND's default), padding positions get
 *   weight 0, and squash(s) = |s|²/(1 + |s|²) · s/√(|s|² + 1e-9).
 * Iterations: config.iterations (3 in the paper). As in their code, the logit updates see the
 * maps' output without gradient: the gradient flows only through the last iteration's
 * weighted sum (for fixed routing weights) and its squash.
 * Written as a composition of the primitives and batched matmul; no kernel of its own.
 * Initialisation: N(0, 1/d) per map entry (their code draws N(0, 1), which makes ê √d times
 * larger than e; this keeps ê at e's scale, like MIND's map).
 */
import type { Context } from '../../autograd/context.js';
import { batchedMatmul } from '../../autograd/ops/matmul.js';
import { add } from '../../autograd/ops/elementwise.js';
import { addScalar, div, maskedSoftmax, mulB, rowSum, rsqrt, swapAxes } from '../../autograd/ops/primitives.js';
import { reshape } from '../../autograd/ops/reshape.js';
import type { Tensor } from '../../autograd/tensor.js';
import type { InterestExtractor } from './extractor.js';
import { normal } from './init.js';

/** ε inside squash's square root, as the authors' code. */
export const SQUASH_EPS = 1e-9;

/** squash of each row of z `[R, 1, d]`: |z|²/(1 + |z|²) · z/√(|z|² + ε) → `[R, 1, d]`. */
export function squash(z: Tensor): Tensor {
  const norm2 = rowSum(mulB(z, z));
  const factor = mulB(div(norm2, addScalar(norm2, 1)), rsqrt(addScalar(norm2, SQUASH_EPS)));
  return mulB(z, reshape(factor, [...factor.shape, 1]));
}

/**
 * The mapped behaviours Ê `[B·K, L, d]` f32: ê[b, j, i] = W[i] e[b, i] sliced per interest j,
 * for behaviours E `[B, L, d]` and maps W `[L, d, K·d]` (right-multiplied: ê = e·W[i]).
 */
export function mappedBehaviors(behaviors: Tensor, maps: Tensor, K: number): Tensor {
  const [B, L, d] = behaviors.shape;
  // Position-major so that one batched product applies each position's map to every user.
  const perPosition = batchedMatmul(swapAxes(behaviors, 0), maps); // [L, B, K·d]
  const byInterest = swapAxes(reshape(swapAxes(perPosition, 0), [B, L, K, d]), 1); // [B, K, L, d]
  return reshape(byInterest, [B * K, L, d]);
}

/**
 * Routing over Ê `[B·K, L, d]` with positions masked by `lengths` `[B]` (host copy): the
 * interest capsules `[B, K, d]`. Logits start at 0; each of `iterations` rounds takes the softmax
 * over the K interests per position, zeroes padding positions, sums and squashes; all but the
 * last round update the logits by ê·v with nothing recorded for the gradient.
 */
export function dynamicRouting(ctx: Context, ehat: Tensor, lengths: Int32Array, K: number, iterations: number): Tensor {
  const [BK, L, d] = ehat.shape;
  const B = BK / K;
  const mask = new Float32Array(B * K * L);
  lengths.forEach((len, b) => {
    for (let j = 0; j < K; j++) mask.fill(1, (b * K + j) * L, (b * K + j) * L + Math.min(Math.max(len, 0), L));
  });
  const maskTensor = ctx.tensor(mask, [B * K, 1, L]);
  const weightsOf = (logits: Tensor) => mulB(reshape(swapAxes(maskedSoftmax(swapAxes(logits, 1)), 1), [B * K, 1, L]), maskTensor);
  let logits = ctx.zeros([B, K, L]);
  for (let r = 0; r < iterations - 1; r++) {
    logits = ctx.noGrad(() => {
      const v = squash(batchedMatmul(weightsOf(logits), ehat));
      return add(logits, reshape(batchedMatmul(ehat, v, { transB: true }), [B, K, L]));
    });
  }
  const weights = ctx.noGrad(() => weightsOf(logits));
  return reshape(squash(batchedMatmul(weights, ehat)), [B, K, d]);
}

export const comirecDrExtractor: InterestExtractor = {
  name: 'comirec-dr',
  displayName: 'ComiRec-DR',
  description: 'dynamic routing with per-position, per-interest maps (ComiRec-DR, Cen et al. 2020)',
  multiInterest: true,
  parameterSpecs: (config, shape) => {
    if (shape.historyLength === undefined) throw new Error("comirec-dr: the model shape has no historyLength (the per-position maps need the history window)");
    const d = config.dim;
    return [{ name: 'comirec_dr.maps', shape: [shape.historyLength, d, config.kMax * d], embedding: false, init: normal(1 / Math.sqrt(d)) }];
  },
  numInterests: (config) => config.kMax,
  perSampleBuffers: (config, L) => [['the mapped history vectors [B, K, L, d]', config.kMax * L * config.dim]],
  extract: (input) => {
    const { ctx, config, length } = input;
    const maps = input.param('comirec_dr.maps');
    if (length !== maps.shape[0]) {
      throw new Error(`comirec-dr: histories are padded to ${length} positions, the model's maps cover ${maps.shape[0]} (the training window)`);
    }
    const ehat = mappedBehaviors(input.behaviors(), maps, config.kMax);
    const interests = dynamicRouting(ctx, ehat, input.lengths, config.kMax, config.iterations);
    return { interests, activeK: new Int32Array(input.batchSize).fill(config.kMax) };
  },
};
