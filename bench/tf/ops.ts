/**
 * The TensorFlow.js baseline of SPEC §1-3, written the way a tfjs user would: stock ops, masks
 * as tensors, gradients from tf.grad / tf.variableGrads. Every function here runs on whichever
 * tfjs backend is active (webgpu, wasm, cpu).
 */
import * as tf from '@tensorflow/tfjs-core';

/** Added to a logit to exclude it from a softmax: exp underflows to exactly 0 in f32. */
export const EXCLUDED = -1e30;

/** K_b of SPEC §1: max(1, min(K, floor(log2(max(len, 1))))) when dynamic, else K. */
export function activeInterests(lengths: ArrayLike<number>, kMax: number, dynamicK: boolean): Int32Array {
  // 31 − clz32(n) is floor(log2 n) exactly for integers, where Math.log2 may round.
  return Int32Array.from(lengths, (len) => (dynamicK ? Math.max(1, Math.min(kMax, 31 - Math.clz32(Math.max(len, 1)))) : kMax));
}

export interface RoutingMasksTf {
  /** Added to the routing logits before the softmax: 0 or EXCLUDED along the softmax axis. */
  penalty: tf.Tensor3D;
  /** 1 where w[j,i] may be non-zero (valid i and active j), else 0. */
  keep: tf.Tensor3D;
}

export type SoftmaxOver = 'interests' | 'behaviors';

/**
 * The masks of SPEC §1 for a batch, in the logits layout the routing keeps: `[B, L, K]` when
 * the softmax runs over interests (so it is tf.softmax's last axis), `[B, K, L]` over behaviours.
 * Built on the host: lengths come from the data pipeline there anyway.
 */
export function routingMasks(lengths: Int32Array, L: number, activeK: Int32Array, kMax: number, softmaxOver: SoftmaxOver): RoutingMasksTf {
  const B = lengths.length;
  const penalty = new Float32Array(B * L * kMax);
  const keep = new Float32Array(B * L * kMax);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < L; i++) {
      for (let j = 0; j < kMax; j++) {
        const at = softmaxOver === 'interests' ? (b * L + i) * kMax + j : (b * kMax + j) * L + i;
        const valid = i < lengths[b];
        const active = j < activeK[b];
        keep[at] = valid && active ? 1 : 0;
        penalty[at] = (softmaxOver === 'interests' ? active : valid) ? 0 : EXCLUDED;
      }
    }
  }
  const shape: [number, number, number] = softmaxOver === 'interests' ? [B, L, kMax] : [B, kMax, L];
  return { penalty: tf.tensor3d(penalty, shape), keep: tf.tensor3d(keep, shape) };
}

export interface RoutingTfOptions {
  iterations: number;
  softmaxOver: SoftmaxOver;
  gradient: 'stop' | 'full';
}

/** squash(z) = ‖z‖²/(1+‖z‖²) · z/sqrt(‖z‖²+1e-9) over the last axis. */
function squash(z: tf.Tensor3D): tf.Tensor3D {
  const n2 = tf.sum(tf.square(z), -1, true);
  return tf.mul(z, tf.div(n2, tf.mul(tf.add(n2, 1), tf.sqrt(tf.add(n2, 1e-9)))));
}

/**
 * The routing iterations from initial logits `[B, K, L]` over Ê `[B, L, d]`: the last
 * iteration's weights w, laid out like the logits (see routingMasks), and the capsules u of
 * every earlier iteration folded into the logits. `final` turns the last w into capsules.
 */
function routeFrom(
  eHat: tf.Tensor3D,
  initialLogits: tf.Tensor3D,
  masks: RoutingMasksTf,
  options: RoutingTfOptions,
  final: (w: tf.Tensor3D) => tf.Tensor3D,
): tf.Tensor3D {
  const overInterests = options.softmaxOver === 'interests';
  // Over interests the logits live as [B, L, K]: the softmax is then over the last axis, and
  // both products below are plain (transposed-operand) batched matmuls.
  let logits: tf.Tensor3D = overInterests ? tf.transpose(initialLogits, [0, 2, 1]) : initialLogits;
  for (let r = 0; ; r++) {
    const w = tf.mul(tf.softmax(tf.add(logits, masks.penalty)), masks.keep) as tf.Tensor3D;
    if (r === options.iterations - 1) return final(w);
    const u = squash(overInterests ? tf.matMul(w, eHat, true, false) : tf.matMul(w, eHat));
    logits = tf.add(logits, overInterests ? tf.matMul(eHat, u, false, true) : tf.matMul(u, eHat, false, true));
  }
}

/**
 * B2I dynamic routing (SPEC §1): behaviours `[B, L, dIn]`, bilinear map `[dIn, d]`, initial
 * logits `[B, K, L]` → interests `[B, K, d]`.
 *
 * With `gradient: 'stop'` the last iteration's routing weights are constants. tfjs has no
 * stop_gradient op, so the iterations that produce them run inside one tf.customGrad op whose
 * gradient is zero: its inner ops are not taped, and the backward reaches Ê only through the
 * last z = wᵀÊ (plus one zero tensor added to dÊ), as DeepMatch's tf.stop_gradient does.
 */
export function routingTf(
  behaviors: tf.Tensor3D,
  bilinear: tf.Tensor2D,
  initialLogits: tf.Tensor3D,
  masks: RoutingMasksTf,
  options: RoutingTfOptions,
): tf.Tensor3D {
  const [B, L, dIn] = behaviors.shape;
  const d = bilinear.shape[1];
  const overInterests = options.softmaxOver === 'interests';
  const eHat = tf.reshape(tf.matMul(tf.reshape(behaviors, [B * L, dIn]), bilinear), [B, L, d]) as tf.Tensor3D;
  const capsules = (w: tf.Tensor3D) => squash(overInterests ? tf.matMul(w, eHat, true, false) : tf.matMul(w, eHat));
  if (options.gradient === 'full') return routeFrom(eHat, initialLogits, masks, options, capsules);
  const weights = tf.customGrad((...inputs) => {
    const e = inputs[0] as tf.Tensor3D;
    return { value: routeFrom(e, initialLogits, masks, options, (w) => w), gradFunc: () => tf.zerosLike(e) };
  });
  return capsules(weights(eHat) as tf.Tensor3D);
}

export interface AttentionTfOptions {
  /** ≥ 0; Infinity is hard attention. */
  p: number;
  mode: 'pow' | 'scale';
}

/** `[B, K]` additive mask: 0 for active interests, EXCLUDED for the rest. */
export function interestPenalty(activeK: Int32Array, kMax: number): tf.Tensor2D {
  const out = new Float32Array(activeK.length * kMax);
  activeK.forEach((k, b) => out.fill(EXCLUDED, b * kMax + k, (b + 1) * kMax));
  return tf.tensor2d(out, [activeK.length, kMax]);
}

/**
 * Label-aware attention (SPEC §2): interests `[B, K, d]`, target `[B, d]` → `[B, d]`, the
 * softmax over active interests of t(V_j · e) with t = sign(s)|s|^p ('pow') or p·s ('scale').
 */
export function labelAttentionTf(interests: tf.Tensor3D, target: tf.Tensor2D, penalty: tf.Tensor2D, options: AttentionTfOptions): tf.Tensor2D {
  const [B, K, d] = interests.shape;
  const s = tf.reshape(tf.matMul(interests, tf.reshape(target, [B, d, 1])), [B, K]) as tf.Tensor2D;
  let a: tf.Tensor2D;
  if (options.p === Infinity) {
    a = tf.cast(tf.oneHot(tf.argMax(tf.add(s, penalty), 1), K), 'float32') as tf.Tensor2D;
  } else {
    let t: tf.Tensor2D;
    // SPEC §2 makes p = 0 uniform in 'pow' mode too (sign(s)·|s|⁰ would be sign(s)).
    if (options.mode === 'scale' || options.p === 0) t = tf.mul(s, options.p);
    else if (options.p === 1) t = s;
    else t = tf.mul(tf.sign(s), tf.pow(tf.abs(s), options.p));
    a = tf.softmax(tf.add(t, penalty)) as tf.Tensor2D;
  }
  return tf.reshape(tf.matMul(tf.reshape(a, [B, 1, K]), interests), [B, d]);
}

export interface SampledSoftmaxTfInputs {
  /** `[B]` int32 label ids. */
  labels: tf.Tensor1D;
  /** `[S]` int32 negative ids shared by the batch. */
  negatives: tf.Tensor1D;
  /** `[N]` log expected counts, or undefined for no correction. */
  logQ?: tf.Tensor1D;
  /** `[N]` item bias, or undefined. */
  bias?: tf.Tensor1D;
  removeAccidentalHits: boolean;
}

/**
 * Mean sampled-softmax loss (SPEC §3): user vectors `[B, d]` against item table rows `[N, d]`,
 * logQ-corrected, accidental hits pushed to EXCLUDED. Rows come from tf.gather, whose gradient
 * in tfjs is a dense `[N, d]` tensor.
 */
export function sampledSoftmaxTf(user: tf.Tensor2D, table: tf.Tensor2D, inputs: SampledSoftmaxTfInputs): tf.Scalar {
  const { labels, negatives, bias } = inputs;
  let positive = tf.sum(tf.mul(user, tf.gather(table, labels)), 1) as tf.Tensor1D;
  let sampled = tf.matMul(user, tf.gather(table, negatives), false, true);
  if (bias) {
    positive = tf.add(positive, tf.gather(bias, labels));
    sampled = tf.add(sampled, tf.gather(bias, negatives));
  }
  return sampledLogitsLossTf(positive, sampled as tf.Tensor2D, inputs);
}

/**
 * The sampled softmax with every candidate scored by the user's best active interest, the
 * serving score of SPEC §5 (MindConfig.candidateScore = 'maxInterest', src/mind/ops/interest-max.ts
 * and candidate-softmax.ts): interests `[B, K, d]`, penalty `[B, K]` (0 active, EXCLUDED
 * inactive), item table rows `[N, d]` → mean loss. tf.max's gradient goes to every interest that
 * attains the max; ties between two interests' scores do not occur on random inputs.
 */
export function maxInterestSoftmaxTf(interests: tf.Tensor3D, penalty: tf.Tensor2D, table: tf.Tensor2D, inputs: SampledSoftmaxTfInputs): tf.Scalar {
  const [B, K, d] = interests.shape;
  const labelRows = tf.reshape(tf.gather(table, inputs.labels), [B, d, 1]);
  const positive = tf.max(tf.add(tf.reshape(tf.matMul(interests, labelRows), [B, K]), penalty), 1) as tf.Tensor1D;
  const perInterest = tf.reshape(tf.matMul(tf.reshape(interests, [B * K, d]), tf.gather(table, inputs.negatives), false, true), [B, K, -1]);
  const sampled = tf.max(tf.add(perInterest, tf.expandDims(penalty, 2)), 1) as tf.Tensor2D;
  return sampledLogitsLossTf(positive, sampled, inputs);
}

/** mean_b logsumexp(l_b0, l_b1..l_bS) − l_b0 from the label logits `[B]` and negative logits `[B, S]` (SPEC §3). */
function sampledLogitsLossTf(positive: tf.Tensor1D, sampled: tf.Tensor2D, inputs: SampledSoftmaxTfInputs): tf.Scalar {
  const { labels, negatives, logQ } = inputs;
  if (logQ) {
    positive = tf.sub(positive, tf.gather(logQ, labels));
    sampled = tf.sub(sampled, tf.gather(logQ, negatives));
  }
  if (inputs.removeAccidentalHits) {
    const hit = tf.equal(tf.expandDims(labels, 1), tf.expandDims(negatives, 0));
    sampled = tf.add(sampled, tf.mul(tf.cast(hit, 'float32'), EXCLUDED));
  }
  const logits = tf.concat([tf.expandDims(positive, 1), sampled], 1);
  return tf.mean(tf.sub(tf.logSumExp(logits, 1), positive));
}
