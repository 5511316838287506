/** Bias add (kernels/shape.wgsl `bias_add`): a vector added to every row. */
import { formatShape, type Tensor } from '../tensor.js';
import { expectTensor, flatGrid } from './common.js';
import { shapeKernels } from './kernels.js';
import { sumRows } from './reduce.js';

/**
 * x `[..., n]` + b `[n]` broadcast over every leading index. Gradients: dx = dy, and db = the
 * column sums of dy (a deterministic reduction).
 */
export function biasAdd(x: Tensor, b: Tensor): Tensor {
  expectTensor('biasAdd', 'x', x, 'f32');
  expectTensor('biasAdd', 'b', b, 'f32', 1);
  const n = b.shape[0];
  if (x.rank < 1 || x.shape[x.rank - 1] !== n) {
    throw new Error(`biasAdd: x ${formatShape(x.shape)} must end in the bias length ${n}`);
  }
  const ctx = x.ctx;
  const out = ctx.empty(x.shape, 'f32', 'biasAdd');
  shapeKernels.entry('bias_add').run(
    ctx,
    { params: { rows: n === 0 ? 0 : x.size / n, width: n, src_stride: 0, src_offset: 0, dst_stride: 0, dst_offset: 0 }, x, y: b, out },
    flatGrid(x.size),
  );
  ctx.tape.record('biasAdd', [x, b], [out], ([g]) => [g, b.requiresGrad ? sumRows(g!) : null]);
  return out;
}
