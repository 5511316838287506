/**
 * Layer normalisation (Ba, Kiros & Hinton, 2016, eq. 4) written as a composition of the
 * primitives: y = γ ⊙ (x − μ) / √(σ² + ε) + β over the last axis, μ and σ² the row's mean and
 * (biased) variance. The gradient comes from the primitives' backward rules; nothing here is a
 * kernel of its own.
 */
import { addB, addScalar, mulB, rowMean, rsqrt, sub } from '../ops/primitives.js';
import { reshape } from '../ops/reshape.js';
import type { Tensor } from '../tensor.js';

/**
 * x `[..., n]` f32, gain γ and bias β `[n]` f32 → `[..., n]` f32. Throws (from the primitives)
 * when γ or β does not broadcast against x's last axis or n = 0.
 */
export function layerNorm(x: Tensor, gain: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  const rowShape = [...x.shape.slice(0, -1), 1];
  const centred = sub(x, reshape(rowMean(x), rowShape));
  const variance = reshape(rowMean(mulB(centred, centred)), rowShape);
  return addB(mulB(mulB(centred, rsqrt(addScalar(variance, eps))), gain), bias);
}
