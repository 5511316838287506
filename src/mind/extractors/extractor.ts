/**
 * The interest extractor interface: the part of the user tower that turns a history of item
 * vectors into interest vectors, before the profile concat and the per-interest DNN (SPEC §4).
 * MIND's B2I routing, the YouTube-DNN mean pooling and ComiRec's self-attentive and
 * dynamic-routing extractors all fit behind it; the model picks one by name from the registry
 * (registry.ts) and never branches on which.
 */
import type { Context } from '../../autograd/context.js';
import type { Tensor } from '../../autograd/tensor.js';
import type { MindConfig } from '../config.js';
import type { ModelShape, ParameterSpec } from '../parameters.js';

/** What a training step draws for the extractor: a seed for random initial logits and one for dropout masks. */
export interface ExtractorDraws {
  /** Seed of per-sample random draws (an integer in [0, 2^53)). */
  seed: number;
  /** Seed of the dropout masks (an integer in [0, 2^53)); the model's DNN uses it. */
  dropoutSeed?: number;
}

/** One batch of histories as an extractor reads it. Tensors are built lazily and shared. */
export interface HistoryInput {
  ctx: Context;
  config: MindConfig;
  shape: ModelShape;
  /** B users, histories right-padded to L positions. */
  batchSize: number;
  length: number;
  /** `[B]` i32 history lengths in [0, L] (host copy). */
  lengths: Int32Array;
  /** `[B]` i32 history lengths as a tensor. */
  lengthsTensor(): Tensor;
  /** `[B, L, d]` f32: each position's item vector; padding positions are zero vectors. */
  behaviors(): Tensor;
  /** `[B, 1, d]` f32: the mean of each user's first lengths[b] item vectors (zeros for an empty history). */
  historyMean(): Tensor;
  /** One of the extractor's own parameters (see `parameterSpecs`); throws for an unknown name. */
  param(name: string): Tensor;
  /** Present during training: per-sample draws; absent when serving and evaluating (deterministic). */
  training?: ExtractorDraws;
}

/** An extractor's output: interests and how many are active per user. */
export interface ExtractedInterests {
  /** `[B, K, d]` f32 with K = numInterests(config); a user's inactive interests come last. */
  interests: Tensor;
  /** `[B]` i32 active interests per user, each in [1, K]. */
  activeK: Int32Array;
}

/** MIND-style routing output for diagnostics (routing weights): only routing extractors give it. */
export interface RoutingOutput {
  /** `[B, L, d]` f32 routed history vectors. */
  behaviors: Tensor;
  /** `[B, K, d]` f32 capsules. */
  capsules: Tensor;
  activeK: Int32Array;
}

export interface InterestExtractor {
  /** Registry name, as written in config.json and given to `--extractor`. */
  readonly name: string;
  /** The model's name in logs and tables ('MIND', 'YouTube DNN', 'ComiRec-SA', …). */
  readonly displayName: string;
  /** One line for `--help` and the docs, with the source of the method. */
  readonly description: string;
  /**
   * Whether the model may add the global interest (config.globalInterest: the history mean as
   * one more interest). False for single-vector extractors, which are a mean already.
   */
  readonly multiInterest: boolean;
  /** The parameters it owns: names prefixed with the extractor's own namespace, shapes and initialisers. */
  parameterSpecs(config: MindConfig, shape: ModelShape): ParameterSpec[];
  /** K of its output for `config` (the global interest, if any, not counted). */
  numInterests(config: MindConfig): number;
  /** Interests `[B, K, d]` of a batch (see HistoryInput for the inputs). */
  extract(input: HistoryInput): ExtractedInterests;
  /**
   * Its largest per-user buffers for a window of L positions, as (description, f32 values per
   * user) pairs, so that the CLI can refuse a batch size that would not fit before training.
   */
  perSampleBuffers?(config: MindConfig, L: number): [string, number][];
  /** Routing extractors: the capsules before the DNN and the inputs they route, for routing diagnostics. */
  routing?(input: HistoryInput): RoutingOutput;
}
