/**
 * MIND (SPEC §4) in TensorFlow.js with the same parameters, names and sizes as src/mind
 * (MindModel): item table → B2I routing → profile concat tiled per interest → per-interest DNN
 * → label-aware attention → sampled softmax, trained with tf.variableGrads and tf.train.adam.
 * With config.globalInterest the history's mean is interest 0, ahead of the K capsules; with
 * candidateScore 'maxInterest' (the default) every candidate is scored by the best active interest
 * instead of through label-aware attention, as MindModel.loss does.
 *
 * It covers the configuration the benchmark trains: item ids without side features (so an item
 * vector is its table row), categorical user features, no dropout, no L2, no hard-negative
 * weights. Differences that are
 * tfjs's own and stay: tf.gather's gradient is a dense `[N, d]` tensor, and tf.train.adam
 * updates every row of every table each step (ours updates only the rows a step touched).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { MindConfig } from '../../src/mind/config.js';
import type { ModelShape } from '../../src/mind/parameters.js';
import { activeInterests, interestPenalty, labelAttentionTf, maxInterestSoftmaxTf, routingMasks, routingTf, sampledSoftmaxTf } from './ops.js';

/** One training batch on the host, as MindModel.loss takes it plus the step's negatives. */
export interface StepBatch {
  /** `[B, L]` item ids, right-padded with 0. */
  histories: Int32Array;
  /** `[B]` history lengths. */
  lengths: Int32Array;
  /** `[B, C]` categorical profile ids, one column per profile space. */
  profileCategorical: Int32Array;
  /** `[B]` target item ids. */
  targets: Int32Array;
  /** `[S]` negative item ids. */
  negatives: Int32Array;
}

/** The batch as tfjs tensors (built once per backend, outside the timed step). */
export interface StepInputsTf {
  histories: tf.Tensor1D;
  /** `[B, C]` rows of profile_embedding: the profile ids shifted by their space's offset. */
  profileRows: tf.Tensor2D;
  targets: tf.Tensor1D;
  negatives: tf.Tensor1D;
  /** `[N]` log expected count of every id among the S draws. */
  logQ: tf.Tensor1D;
  /** Routing's masks over the K = config.kMax capsules. */
  routingMasks: ReturnType<typeof routingMasks>;
  /** `[B, L, 1]` 1/len at a row's valid positions, 0 elsewhere: the history mean's weights. */
  meanWeights: tf.Tensor3D;
  /** `[B, K']` 0 for active interests, EXCLUDED otherwise (attention, max-interest scores); K' = K + 1 with the global interest. */
  interestPenalty: tf.Tensor2D;
  /** `[B, K', 1]` 1 for active interests, 0 otherwise (zeros the DNN output of inactive ones). */
  interestMask: tf.Tensor3D;
  B: number;
  L: number;
}

export class TfMind {
  readonly variables = new Map<string, tf.Variable>();
  private readonly optimizer: tf.Optimizer;

  /** `weights`: initial values by parameter name (MindModel's, so both start equal). */
  constructor(
    readonly config: MindConfig,
    readonly shape: ModelShape,
    weights: Map<string, { data: Float32Array; shape: number[] }>,
  ) {
    if (config.extractor !== 'mind' || config.dropout !== 0 || config.l2Embedding !== 0 || config.hardNegativeBeta !== 0 || shape.numFeatureRows !== 0 || shape.profileDense !== 0) {
      throw new Error("TfMind covers the 'mind' extractor without dropout, L2, hard-negative weights, item side features or dense profile features");
    }
    for (const [name, w] of weights) this.variables.set(name, tf.variable(tf.tensor(w.data, w.shape), true, `${name}.${tf.getBackend()}`));
    this.optimizer = tf.train.adam(config.learningRate, 0.9, 0.999, 1e-8);
  }

  private v(name: string): tf.Variable {
    const v = this.variables.get(name);
    if (!v) throw new Error(`TfMind has no variable ${name}`);
    return v;
  }

  /** Uploads a batch; `logQ` is log(S·P(id)) for every id. */
  inputs(batch: StepBatch, logQ: Float32Array): StepInputsTf {
    const { config, shape } = this;
    const B = batch.lengths.length;
    const L = batch.histories.length / B;
    const K = config.kMax;
    const activeK = activeInterests(batch.lengths, K, config.dynamicK);
    const global = config.globalInterest ? 1 : 0;
    const allK = K + global;
    const activeAll = activeK.map((k) => k + global);
    const meanWeights = new Float32Array(B * L);
    batch.lengths.forEach((len, b) => meanWeights.fill(1 / len, b * L, b * L + len));
    const spaces = shape.profileSpaces.length;
    const offsets = shape.profileSpaces.map((_, c) => shape.profileSpaces.slice(0, c).reduce((a, b) => a + b, 0));
    const profileRows = Int32Array.from(batch.profileCategorical, (id, at) => offsets[at % spaces] + id);
    const interestMask = new Float32Array(B * allK);
    activeAll.forEach((k, b) => interestMask.fill(1, b * allK, b * allK + k));
    return {
      histories: tf.tensor1d(batch.histories, 'int32'),
      profileRows: tf.tensor2d(profileRows, [B, spaces], 'int32'),
      targets: tf.tensor1d(batch.targets, 'int32'),
      negatives: tf.tensor1d(batch.negatives, 'int32'),
      logQ: tf.tensor1d(logQ),
      routingMasks: routingMasks(batch.lengths, L, activeK, K, config.softmaxOver),
      meanWeights: tf.tensor3d(meanWeights, [B, L, 1]),
      interestPenalty: interestPenalty(activeAll, allK),
      interestMask: tf.tensor3d(interestMask, [B, allK, 1]),
      B,
      L,
    };
  }

  /** Mean sampled-softmax loss of the batch; `initialLogits` `[B, K, L]` seeds the routing. */
  loss(x: StepInputsTf, initialLogits: tf.Tensor3D): tf.Scalar {
    const { config } = this;
    const { B, L } = x;
    const d = config.dim;
    const table = this.v('item_embedding') as tf.Tensor2D;
    const behaviors = tf.reshape(tf.gather(table, x.histories), [B, L, d]) as tf.Tensor3D;
    let capsules = routingTf(behaviors, this.v('routing.bilinear') as tf.Tensor2D, initialLogits, x.routingMasks, {
      iterations: config.iterations,
      softmaxOver: config.softmaxOver,
      gradient: config.routingGradient,
    });
    if (config.globalInterest) {
      const mean = tf.sum(tf.mul(behaviors, x.meanWeights), 1, true) as tf.Tensor3D;
      capsules = tf.concat([mean, capsules], 1);
    }
    const K = capsules.shape[1];
    let h: tf.Tensor2D = tf.reshape(capsules, [B * K, d]);
    if (this.shape.profileSpaces.length > 0) {
      const profile = tf.reshape(tf.gather(this.v('profile_embedding'), x.profileRows), [B, 1, -1]);
      const width = profile.shape[2]!;
      h = tf.concat([h, tf.reshape(tf.tile(profile, [1, K, 1]), [B * K, width])], 1);
    }
    const layers = config.hiddenUnits.length + 1;
    for (let layer = 0; layer < layers; layer++) {
      h = tf.add(tf.matMul(h, this.v(`dnn.${layer}.weight`) as tf.Tensor2D), this.v(`dnn.${layer}.bias`));
      if (layer < layers - 1 && config.activation === 'relu') h = tf.relu(h);
    }
    const interests = tf.mul(tf.reshape(h, [B, K, d]), x.interestMask) as tf.Tensor3D;
    const softmaxInputs = { labels: x.targets, negatives: x.negatives, logQ: x.logQ, removeAccidentalHits: true };
    if (config.candidateScore === 'maxInterest') return maxInterestSoftmaxTf(interests, x.interestPenalty, table, softmaxInputs);
    const user = labelAttentionTf(interests, tf.gather(table, x.targets) as tf.Tensor2D, x.interestPenalty, {
      p: config.attentionPower,
      mode: config.attentionMode,
    });
    return sampledSoftmaxTf(user, table, softmaxInputs);
  }

  /** Fresh N(0, initStd²) routing logits, as SPEC §1 draws them on every call. */
  initialLogits(x: StepInputsTf): tf.Tensor3D {
    const shape: [number, number, number] = [x.B, this.config.kMax, x.L];
    return this.config.initStd === 0 ? tf.zeros(shape) : tf.randomNormal(shape, 0, this.config.initStd);
  }

  /** Gradients of the loss for every variable, without updating anything. */
  gradients(x: StepInputsTf, initialLogits: tf.Tensor3D): { value: tf.Scalar; grads: tf.NamedTensorMap } {
    return tf.variableGrads(() => this.loss(x, initialLogits), [...this.variables.values()]);
  }

  /** One training step: loss, gradients, Adam. Returns the loss (a scalar tensor to read). */
  step(x: StepInputsTf): tf.Scalar {
    return tf.tidy(() => {
      const { value, grads } = this.gradients(x, this.initialLogits(x));
      this.optimizer.applyGradients(grads);
      return value;
    });
  }

  dispose(): void {
    for (const v of this.variables.values()) v.dispose();
    this.optimizer.dispose();
  }
}

/** Disposes every tensor of a StepInputsTf. */
export function disposeInputs(x: StepInputsTf): void {
  tf.dispose([x.histories, x.profileRows, x.targets, x.negatives, x.logQ, x.routingMasks.penalty, x.routingMasks.keep, x.meanWeights, x.interestPenalty, x.interestMask]);
}
