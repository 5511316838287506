/** The per-user active-interest counts that label-aware attention and interest max take. */
import { expectTensor } from '../../autograd/ops/common.js';
import { type Tensor, formatShape } from '../../autograd/tensor.js';

/**
 * Throws unless `activeK` is a `[B]` i32 tensor whose host copy (when it has one) holds counts in
 * [1, K], naming `op`, the index and the bad value. Counts computed on the GPU (no host copy)
 * are not checked here: the kernels clamp them to [1, K].
 */
export function expectActiveCounts(op: string, activeK: Tensor, B: number, K: number): void {
  expectTensor(op, 'activeK', activeK, 'i32', 1);
  if (activeK.shape[0] !== B) throw new Error(`${op}: activeK ${formatShape(activeK.shape)} must have shape [${B}]`);
  activeK.host?.forEach((k, b) => {
    if (k < 1 || k > K) throw new Error(`${op}: activeK[${b}] = ${k} is outside [1, ${K}]`);
  });
}
