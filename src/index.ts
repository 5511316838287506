/** mind-webgpu: the public API (browser-safe; Node-only helpers live in `mind-webgpu/node`). */
export { createContext, Context, type ContextOptions, type TensorOptions } from './autograd/context.js';
export { Tensor, RowGrad, type DType, type Grad } from './autograd/tensor.js';
export { add, mul, scale, relu, fill } from './autograd/ops/elementwise.js';
export { embeddingBag, embeddingMean, type Bags } from './autograd/ops/embedding.js';
export { GpuRuntime, type RuntimeOptions } from './gpu/runtime.js';
