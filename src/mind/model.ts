/**
 * MIND (SPEC §4): item tower → interest extractor → profile concat tiled per interest →
 * per-interest DNN → label-aware attention → sampled softmax. The extractor is chosen by name
 * (config.extractor, src/mind/extractors/registry.ts): B2I routing is MIND; 'meanPool' (the mean
 * of the history's item vectors, K = 1) is the single-vector YouTube-DNN-style baseline;
 * 'comirec-sa' and 'comirec-dr' are ComiRec's extractors. Everything else is identical.
 */
import type { Context } from '../autograd/context.js';
import { concatLast } from '../autograd/ops/concat.js';
import { embeddingBag } from '../autograd/ops/embedding.js';
import { biasAdd } from '../autograd/ops/bias.js';
import { dropout } from '../autograd/ops/dropout.js';
import { mul, relu } from '../autograd/ops/elementwise.js';
import { labelAwareAttention } from './ops/label-attention.js';
import { matmul } from '../autograd/ops/matmul.js';
import { reshape } from '../autograd/ops/reshape.js';
import { placesInSorted, sortedDistinct } from '../autograd/ops/sorted-ids.js';
import { candidateSoftmaxLoss } from './ops/candidate-softmax.js';
import { interestMax } from './ops/interest-max.js';
import { sampledSoftmaxLoss } from './ops/sampled-softmax.js';
import { tile } from '../autograd/ops/tile.js';
import type { Tensor } from '../autograd/tensor.js';
import type { ItemFeatures } from '../data/features.js';
import { Random } from '../data/random.js';
import type { MindConfig } from './config.js';
import type { HistoryInput, InterestExtractor } from './extractors/extractor.js';
import { getExtractor } from './extractors/registry.js';
import { ItemBags } from './item-tower.js';
import { type ModelShape, createParameters, profileWidth } from './parameters.js';

/** A batch of users as the model reads it. */
export interface UserBatch {
  /** `[B, L]` i32 item ids, right-padded with 0. */
  histories: Int32Array;
  /** `[B]` i32 history lengths (0..L). */
  lengths: Int32Array;
  /** `[B, Cu]` i32 categorical profile ids. */
  profileCategorical: Int32Array;
  /** `[B, Du]` f32 dense profile values. */
  profileDense: Float32Array;
}

/** Interests of a batch of users: `[B, K, d]` plus the number active per user. */
export interface UserInterests {
  interests: Tensor;
  /** `[B]` active interests per user (K_b); the rest of each row is exact zeros. */
  activeK: Int32Array;
}

/** What a training step's user tower draws: the routing seed and the dropout masks' seed. */
export interface TrainingDraws {
  /** Seed of the routing's per-sample initial logits (an integer in [0, 2^53)). */
  seed: number;
  /**
   * Seed of the dropout masks (an integer in [0, 2^53)), drawn on the GPU by `dropout` with the
   * hidden layer's index as the stream; no dropout without it.
   */
  dropoutSeed?: number;
}

/** What one training step needs beyond the batch: the shared negatives and their log-Q. */
export interface SampledCandidates {
  /** `[S]` i32 negative item ids. */
  negatives: Int32Array;
  /** log of the expected count of an id among the S draws, for any id (SPEC §3). */
  logExpectedCount: (ids: Int32Array) => Float32Array;
}

export class MindModel {
  readonly params: Map<string, Tensor>;
  readonly itemBags: ItemBags;
  /** The interest extractor named by config.extractor. */
  readonly extractor: InterestExtractor;
  private readonly profileOffsets: number[];

  constructor(
    readonly ctx: Context,
    readonly config: MindConfig,
    readonly shape: ModelShape,
    itemFeatures?: ItemFeatures,
    weights?: Map<string, Float32Array>,
  ) {
    this.extractor = getExtractor(config.extractor);
    this.params = createParameters(ctx, config, shape, weights);
    this.itemBags = new ItemBags(shape.numItems, itemFeatures);
    this.profileOffsets = [];
    let offset = 0;
    for (const size of shape.profileSpaces) {
      this.profileOffsets.push(offset);
      offset += size;
    }
  }

  /**
   * K of the interest tensor: the extractor's (kMax for the multi-interest ones, 1 for mean
   * pooling), plus 1 with the global interest on a multi-interest extractor.
   */
  get numInterests(): number {
    return this.extractor.numInterests(this.config) + (this.config.globalInterest && this.extractor.multiInterest ? 1 : 0);
  }

  private param(name: string): Tensor {
    const p = this.params.get(name);
    if (!p) throw new Error(`model has no parameter ${name}`);
    return p;
  }

  /** Item vectors `[ids.length, d]` (SPEC §4 item tower). */
  itemVectors(ids: ArrayLike<number>): Tensor {
    return embeddingBag(this.param('item_embedding'), this.itemBags.bagsFor(ids));
  }

  /**
   * The history's distinct items' vectors `[U, d]` and, for each of the `[B, L]` positions, its
   * row among them. Each distinct item's vector is built once and then gathered: a batch repeats
   * items (and a side feature such as a genre is shared by thousands of positions), so gathering
   * feature rows per position would redo the item tower's mean and lengthen the backward's
   * per-row sums.
   */
  private historyItems(histories: Int32Array): { vectors: Tensor; rows: Int32Array } {
    const distinct = sortedDistinct(histories);
    return { vectors: this.itemVectors(distinct), rows: placesInSorted(distinct, histories) };
  }

  /** Behaviours `[B, L, d]`: each position's item vector (padding positions get the zero vector of id 0). */
  private behaviors(items: { vectors: Tensor; rows: Int32Array }, B: number, L: number): Tensor {
    const offsets = Int32Array.from({ length: items.rows.length + 1 }, (_, i) => i);
    return embeddingBag(items.vectors, { offsets, indices: items.rows }, [B, L, this.config.dim]);
  }

  /** The mean of each row's first lengths[b] item vectors `[B, 1, d]`: the mean-pooling user input. */
  private historyMean(items: { vectors: Tensor; rows: Int32Array }, lengths: Int32Array, L: number): Tensor {
    const offsets = new Int32Array(lengths.length + 1);
    lengths.forEach((len, b) => (offsets[b + 1] = offsets[b] + len));
    const indices = new Int32Array(offsets[lengths.length]);
    const weights = new Float32Array(indices.length);
    lengths.forEach((len, b) => {
      indices.set(items.rows.subarray(b * L, b * L + len), offsets[b]);
      weights.fill(1 / len, offsets[b], offsets[b] + len);
    });
    return embeddingBag(items.vectors, { offsets, indices, weights }, [lengths.length, 1, this.config.dim]);
  }

  /** p_u `[B, P]`: categorical embeddings then dense values, or undefined without a profile. */
  private profile(batch: UserBatch, size: number): Tensor | undefined {
    const parts: Tensor[] = [];
    const spaces = this.shape.profileSpaces.length;
    for (let c = 0; c < spaces; c++) {
      const indices = new Int32Array(size);
      for (let b = 0; b < size; b++) indices[b] = this.profileOffsets[c] + batch.profileCategorical[b * spaces + c];
      const offsets = Int32Array.from({ length: size + 1 }, (_, i) => i);
      parts.push(embeddingBag(this.param('profile_embedding'), { offsets, indices }));
    }
    if (this.shape.profileDense > 0) parts.push(this.ctx.tensor(batch.profileDense, [size, this.shape.profileDense]));
    if (parts.length === 0) return undefined;
    return parts.length === 1 ? parts[0] : concatLast(parts);
  }

  /** The history input an extractor reads, its tensors built on first use and shared. */
  private historyInput(batch: UserBatch, training?: TrainingDraws, items = this.historyItems(batch.histories)): HistoryInput {
    const { ctx, config, shape } = this;
    const size = batch.lengths.length;
    const L = size === 0 ? 0 : batch.histories.length / size;
    let behaviors: Tensor | undefined;
    let mean: Tensor | undefined;
    let lengths: Tensor | undefined;
    return {
      ctx,
      config,
      shape,
      batchSize: size,
      length: L,
      lengths: batch.lengths,
      lengthsTensor: () => (lengths ??= ctx.tensor(batch.lengths, [size])),
      behaviors: () => (behaviors ??= this.behaviors(items, size, L)),
      historyMean: () => (mean ??= this.historyMean(items, batch.lengths, L)),
      param: (name) => this.param(name),
      training,
    };
  }

  /**
   * The routing step of the user tower (SPEC §1, §4), before the per-interest DNN, for routing
   * extractors ('mind'): `behaviors` E `[B, L, d]` f32, the history item vectors it routes (Ê =
   * E·S, S the 'routing.bilinear' parameter `[d, d]`), the capsules U `[B, K, d]` f32 and activeK
   * `[B]` i32. The initial logits are drawn as userInterests says: per sample from
   * `training.seed`, or the serving draw sampleInitialLogits({ seed: config.seed, initStd:
   * config.initStd, initDraw: 'shared' }) without `training`. K here is config.kMax: the global
   * interest, when configured, is added by userInterests. Throws when the model's extractor does
   * not route, and as userInterests.
   */
  routing(batch: UserBatch, training?: TrainingDraws): { behaviors: Tensor; capsules: Tensor; activeK: Int32Array } {
    if (!this.extractor.routing) throw new Error(`MindModel.routing: the model's extractor '${this.extractor.name}' does not route`);
    return this.extractor.routing(this.historyInput(batch, training));
  }

  /**
   * The user tower (SPEC §4): interests `[B, K, d]` f32 after the per-interest DNN, inactive ones
   * exact zeros, and `activeK` `[B]` i32. `batch.histories` is `[B, L]` i32 for any L ≥ the
   * longest length; the model sees each row's first `lengths[b]` items. The interests before the
   * DNN come from the configured extractor (config.extractor); with config.globalInterest and a
   * multi-interest extractor, the history's mean is prepended as interest 0.
   *
   * With `training`, random extractors (MIND's routing) draw fresh per-sample initial logits from
   * `training.seed` (SPEC 1.3) and dropout is on when `training.dropoutSeed` is given. Without it
   * (serving and evaluation) MIND's initial logits are the model's fixed serving draw, keyed by
   * (config.seed, interest, history position) and never by the row ('shared' in b2iRouting),
   * and there is no dropout: a user's interests are then a pure function of the weights and
   * that user's history and profile, whatever batch, order or chunk the user comes in.
   *
   * Throws (from the extractor) when a length is outside [0, L], or when the routing seed
   * (`training.seed`, or config.seed when serving) is not an integer in [0, 2^53).
   */
  userInterests(batch: UserBatch, training?: TrainingDraws): UserInterests {
    const { ctx, config } = this;
    const size = batch.lengths.length;
    const d = config.dim;
    const K = this.numInterests;
    const input = this.historyInput(batch, training);
    let { interests: capsules, activeK } = this.extractor.extract(input);
    if (K !== this.extractor.numInterests(config)) {
      // Interest 0 is the history's mean; the extracted ones follow, so active ones stay first.
      const global = reshape(input.historyMean(), [size, d]);
      capsules = reshape(concatLast([global, reshape(capsules, [size, (K - 1) * d])]), [size, K, d]);
      activeK = activeK.map((k) => k + 1);
    }

    let x = reshape(capsules, [size * K, d]);
    const profile = this.profile(batch, size);
    if (profile) {
      const width = profileWidth(config, this.shape);
      x = concatLast([x, reshape(tile(profile, K), [size * K, width])]);
    }
    const layers = config.hiddenUnits.length + 1;
    for (let layer = 0; layer < layers; layer++) {
      x = biasAdd(matmul(x, this.param(`dnn.${layer}.weight`)), this.param(`dnn.${layer}.bias`));
      if (layer === layers - 1) break;
      if (config.activation === 'relu') x = relu(x);
      const dropoutSeed = training?.dropoutSeed;
      if (dropoutSeed !== undefined && config.dropout > 0) x = dropout(x, { rate: config.dropout, seed: dropoutSeed, stream: layer });
    }
    // Inactive interests carry the DNN's bias; SPEC §4 keeps them exact zeros.
    const mask = new Float32Array(size * K * d);
    for (let b = 0; b < size; b++) mask.fill(1, b * K * d, (b * K + activeK[b]) * d);
    const interests = reshape(mul(x, ctx.tensor(mask, [size * K, d])), [size, K, d]);
    return { interests, activeK };
  }

  /**
   * Mean sampled-softmax loss of predicting `targets` `[B]` for a training batch (SPEC §4).
   * Candidate rows (targets ∪ negatives, deduplicated) are gathered once, so accidental hits
   * are still recognised by id and each row's gradient flows back through the item tower.
   * Candidates are scored as `config.candidateScore` says: through label-aware attention (the
   * paper), or by their best active interest (the serving score of SPEC §5).
   */
  loss(batch: UserBatch & { targets: Int32Array }, candidates: SampledCandidates, step: number): Tensor {
    const { ctx, config } = this;
    const size = batch.lengths.length;
    const { interests, activeK } = this.userInterests(batch, stepDraws(config.seed, step));

    const unique = sortedDistinct([...batch.targets, ...candidates.negatives]);
    const remap = (ids: Int32Array) => placesInSorted(unique, ids);
    const candidateTable = this.itemVectors(unique);
    const labels = ctx.tensor(remap(batch.targets), [size]);
    const negatives = ctx.tensor(remap(candidates.negatives), [candidates.negatives.length]);
    const logQ = ctx.tensor(candidates.logExpectedCount(unique), [unique.length]);
    const activeTensor = ctx.tensor(activeK, [size]);

    const lossOptions = { logQ, hardNegativeBeta: config.hardNegativeBeta };
    if (config.candidateScore === 'maxInterest') {
      const K = this.numInterests;
      const scores = matmul(reshape(interests, [size * K, config.dim]), candidateTable, { transB: true });
      return candidateSoftmaxLoss(interestMax(reshape(scores, [size, K, unique.length]), activeTensor), labels, negatives, lossOptions);
    }
    const userVectors = labelAwareAttention(interests, this.itemVectors(batch.targets), {
      p: config.attentionPower,
      mode: config.attentionMode,
      activeK: activeTensor,
    });
    // The fused sampled softmax has no hard-negative weights; with them the product is taken apart.
    if (config.hardNegativeBeta > 0) {
      return candidateSoftmaxLoss(matmul(userVectors, candidateTable, { transB: true }), labels, negatives, lossOptions);
    }
    return sampledSoftmaxLoss(userVectors, candidateTable, labels, negatives, { logQ });
  }

  dispose(): void {
    for (const p of this.params.values()) p.dispose();
  }
}

/**
 * The draws of training step `step` (an integer ≥ 0) for a model seeded `seed`, as `loss` makes
 * them: from the generator g = Random(seed).fork('step').fork(step), the routing seed is
 * g.uint32(), and the dropout seed is 53 bits of d = g.fork('dropout'):
 * (d.uint32() mod 2^21)·2^32 + d.uint32(). Only (seed, step) matter, so a resumed run draws the
 * masks an uninterrupted one would. 53 bits rather than 32 keep the masks of different steps
 * apart: among a million steps, 32-bit seeds would repeat about a hundred times.
 */
export function stepDraws(seed: number, step: number): Required<TrainingDraws> {
  const rng = new Random(seed).fork('step').fork(step);
  const routingSeed = rng.uint32();
  const drops = rng.fork('dropout');
  const high = drops.uint32() % 2 ** 21;
  return { seed: routingSeed, dropoutSeed: high * 2 ** 32 + drops.uint32() };
}

/** Model shape from a data set's sizes. */
export function modelShapeOf(dataset: {
  numItems: number;
  maxLength?: number;
  itemFeatures?: ItemFeatures;
  userFeatures?: { categorical: { size: number }[]; dense: string[] };
}): ModelShape {
  return {
    numItems: dataset.numItems,
    numFeatureRows: dataset.itemFeatures?.numRows ?? 0,
    profileSpaces: dataset.userFeatures?.categorical.map((s) => s.size) ?? [],
    profileDense: dataset.userFeatures?.dense.length ?? 0,
    ...(dataset.maxLength !== undefined ? { historyLength: dataset.maxLength } : {}),
  };
}
