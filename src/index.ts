/** mind-webgpu: the public API (browser-safe; Node-only helpers live in `mind-webgpu/node`). */
export { createContext, Context, type ContextOptions, type TensorOptions } from './autograd/context.js';
export { Tensor, RowGrad, type DType, type Grad } from './autograd/tensor.js';
export { add, mul, scale, relu, fill } from './autograd/ops/elementwise.js';
export { embeddingBag, embeddingMean, type Bags } from './autograd/ops/embedding.js';
export { GpuRuntime, type RuntimeOptions } from './gpu/runtime.js';
export { matmul, batchedMatmul, type MatmulOptions } from './autograd/ops/matmul.js';
export { biasAdd } from './autograd/ops/bias.js';
export { concatLast } from './autograd/ops/concat.js';
export { tile } from './autograd/ops/tile.js';
export { reshape } from './autograd/ops/reshape.js';
export { sum, mean, sumRows } from './autograd/ops/reduce.js';
export { Adam, type AdamOptions } from './train/adam.js';
export { gradCheck, finiteDifference, type GradCheckResult } from './autograd/grad-check.js';
export { labelAwareAttention, type LabelAttentionOptions } from './autograd/ops/label-attention.js';
export { sampledSoftmaxLoss, type SampledSoftmaxOptions } from './autograd/ops/sampled-softmax.js';
