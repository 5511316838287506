/** mind-webgpu: the public API (browser-safe; Node-only helpers live in `mind-webgpu/node`). */
export { createContext, Context, type ContextOptions, type TensorOptions } from './autograd/context.js';
export { Tensor, RowGrad, type DType, type Grad } from './autograd/tensor.js';
export { add, mul, scale, relu, fill } from './autograd/ops/elementwise.js';
export { embeddingBag, embeddingMean, type Bags } from './autograd/ops/embedding.js';
export { GpuRuntime, type RuntimeOptions } from './gpu/runtime.js';
export { KernelModule, KernelEntry, kernelModule, type KernelBindings, type StorageValue, type UniformFields, type DispatchTarget } from './gpu/kernel.js';
export { parseKernel, packUniform, type KernelContract, type ResourceBinding, type StructField, type WgslType, type UniformValue } from './gpu/kernel-contract.js';
export { matmul, batchedMatmul, type MatmulOptions } from './autograd/ops/matmul.js';
export { biasAdd } from './autograd/ops/bias.js';
export { concatLast } from './autograd/ops/concat.js';
export { tile } from './autograd/ops/tile.js';
export { reshape } from './autograd/ops/reshape.js';
export { sum, mean, sumRows } from './autograd/ops/reduce.js';
export { Adam, type AdamOptions } from './train/adam.js';
export { gradCheck, finiteDifference, type GradCheckResult } from './autograd/grad-check.js';
export { labelAwareAttention, type LabelAttentionOptions } from './mind/ops/label-attention.js';
export { sampledSoftmaxLoss, type SampledSoftmaxOptions } from './mind/ops/sampled-softmax.js';
export { b2iRouting, activeInterestCount, sampleInitialLogits, type B2IRoutingOptions, type InitialLogitDraw } from './mind/ops/routing.js';

// The model, data, training and serving layers.
export * from './data/index.js';
export { type MindConfig, DEFAULT_CONFIG, resolveConfig } from './mind/config.js';
export { MindModel, modelShapeOf, type UserBatch, type UserInterests, type SampledCandidates, type TrainingDraws } from './mind/model.js';
export { type ModelShape, parameterSpecs } from './mind/parameters.js';
export { train, snapshotWeights, type TrainOptions, type TrainProgress, type TrainResult } from './train/trainer.js';
export { type TrainState, encodeTrainState, decodeTrainState } from './train/train-state.js';
export { NonFiniteError, findNonFinite } from './train/non-finite.js';
export { encodeSafetensors, decodeSafetensors, checkWeights, CheckpointFormatError, encodeManifest, decodeManifest, type CheckpointManifest } from './train/checkpoint.js';
export { topKInnerProduct, type TopKResult } from './serve/topk.js';
export { rankingMetrics, poolInterests, type RankingMetrics } from './serve/metrics.js';
export { evaluateModel, recommendForUsers, retrievePerInterest, popularityRecommendations } from './serve/retrieval.js';
export { capsulePurity, type CapsulePurity } from './serve/purity.js';
export { interestNorms, interestRecall, pooledContributions, interestOverlap, routingEntropy, type InterestNorms, type InterestRecall, type Contributions, type RoutingEntropy, type UserRoutingWeights } from './serve/diagnostics.js';
export { diagnoseModel, type ModelDiagnostics } from './serve/diagnose.js';
export { Recommender, type RecommenderOptions, type ServedRecommendation, type InterestList, type UserProfileInput } from './serve/recommender.js';
export { type VectorIndex, type InterestQuery, searchInterests } from './serve/vector-index.js';
