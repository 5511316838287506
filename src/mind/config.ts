/** Model configuration: every knob of MIND with its default and its validation. */
import type { SamplerKind } from '../data/samplers.js';
import { extractorNames, extractorOfLegacyEncoder } from './extractors/registry.js';

export interface MindConfig {
  /**
   * The interest extractor, by its registry name (src/mind/extractors/registry.ts): 'mind' (B2I
   * routing), 'meanPool' (the single-vector YouTube-DNN-style baseline), 'comirec-sa',
   * 'comirec-dr'. Configurations written before the registry say `encoder: 'routing' |
   * 'meanPool'` instead; resolveConfig maps them.
   */
  extractor: string;
  /** ComiRec-SA's attention width d_a as a multiple of d (Cen et al. use d_a = 4d). */
  selfAttentionRatio: number;
  /** d: width of item embeddings, interests and user vectors. */
  dim: number;
  /** K: the most interests per user (routing capsules; one more with globalInterest). */
  kMax: number;
  /**
   * Adds the mean of the history's item vectors as one more interest, ahead of the K routed
   * capsules (through the same DNN): a global interest that carries the user's overall taste, so
   * that the capsules are free to specialise. With candidateScore 'maxInterest' every candidate
   * is scored by its best interest, the global one included (routing only).
   */
  globalInterest: boolean;
  /** R: routing iterations. */
  iterations: number;
  /** K_b = max(1, min(K, floor(log2(len)))) per user when true (the paper); K otherwise. */
  dynamicK: boolean;
  /** Label-aware attention exponent p (Infinity = hard attention). */
  attentionPower: number;
  attentionMode: 'pow' | 'scale';
  /**
   * How the training loss scores a candidate item e (the label and every sampled negative):
   * - 'labelAware' (the paper, SPEC §4): by v·e with v = labelAwareAttention(V, e_label), one
   *   user vector per sample, chosen by the label;
   * - 'maxInterest': by max_j V_j·e over active interests, each candidate by its own best
   *   interest: the score serving ranks by (SPEC §5), so training optimises what is served.
   *   The label's score is hard label-aware attention (p = Infinity); attentionPower is unused.
   */
  candidateScore: 'labelAware' | 'maxInterest';
  /**
   * β ≥ 0 of REMI's interest-aware hard negatives (Xie et al., RecSys 2023, §4.1): each sampled
   * negative weighted by S·softmax(β·logit) in the loss, so negatives close to the user's
   * interests count more. 0 is the plain sampled softmax of SPEC §3.
   */
  hardNegativeBeta: number;
  softmaxOver: 'interests' | 'behaviors';
  routingGradient: 'stop' | 'full';
  /** Std of the Gaussian initial routing logits. */
  initStd: number;
  /** Hidden layer widths of the per-interest user DNN. */
  hiddenUnits: number[];
  activation: 'relu' | 'linear';
  /** Dropout rate on the DNN's hidden activations during training. */
  dropout: number;
  /** Width of each user categorical feature's embedding. */
  profileDim: number;
  /** L2 coefficient on the embedding rows a step touches. */
  l2Embedding: number;
  /** S: negatives per batch for the sampled softmax. */
  numSampled: number;
  sampler: SamplerKind;
  /** Unigram sampler exponent. */
  samplerAlpha: number;
  learningRate: number;
  seed: number;
}

export const DEFAULT_CONFIG: MindConfig = {
  extractor: 'mind',
  selfAttentionRatio: 4,
  dim: 64,
  kMax: 4,
  // Chosen on validation users (docs/ablation.md): scoring every candidate by its best interest
  // trains what serving ranks by, and the global interest carries the overall taste.
  globalInterest: true,
  iterations: 3,
  dynamicK: true,
  attentionPower: 1,
  attentionMode: 'pow',
  candidateScore: 'maxInterest',
  hardNegativeBeta: 0,
  softmaxOver: 'interests',
  routingGradient: 'stop',
  initStd: 1,
  hiddenUnits: [64],
  activation: 'relu',
  dropout: 0,
  profileDim: 16,
  l2Embedding: 0,
  numSampled: 256,
  sampler: 'logUniform',
  samplerAlpha: 0.75,
  learningRate: 0.005,
  seed: 1,
};

/**
 * The single-vector YouTube-DNN-style baseline: mean pooling instead of routing, and its own
 * settings where they differ from MIND's, tuned on validation users with the same budget as
 * MIND's (docs/ablation.md). The CLI applies these over the command line's settings.
 */
export const BASELINE_CONFIG: Partial<MindConfig> = {
  extractor: 'meanPool',
  // One vector: nothing to take a max over, so the paper's loss (the fused sampled softmax).
  candidateScore: 'labelAware',
  globalInterest: false,
};

/** A value as written: a string quoted, so that "16" (from a hand-edited JSON file) is not shown as 16. */
function show(value: unknown): string {
  return typeof value === 'number' ? String(value) : JSON.stringify(value) ?? String(value);
}

function positiveInt(name: string, value: number, max = Number.MAX_SAFE_INTEGER): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > max) {
    throw new RangeError(`${name} must be an integer in [1, ${max}], got ${show(value)}`);
  }
}

function inRange(name: string, value: number, lo: number, hi: number): void {
  if (typeof value !== 'number' || !(value >= lo && value <= hi)) throw new RangeError(`${name} must be in [${lo}, ${hi}], got ${show(value)}`);
}

function oneOf<T extends string>(name: string, value: T, allowed: readonly T[]): void {
  if (!allowed.includes(value)) throw new RangeError(`${name} must be one of ${allowed.join(', ')}, got ${show(value)}`);
}

/** A configuration written before the extractor registry named its encoder instead. */
export interface LegacyConfigFields {
  /** 'routing' (MIND) or 'meanPool'; read as `extractor` 'mind' or 'meanPool'. */
  encoder?: string;
}

/**
 * Defaults filled in and every field checked; errors name the field and the bad value. A legacy
 * `encoder` ('routing' | 'meanPool') stands for the extractor 'mind' | 'meanPool' and is
 * dropped from the result; giving both it and a different `extractor` is an error.
 */
export function resolveConfig(input: Partial<MindConfig> & LegacyConfigFields = {}): MindConfig {
  const { encoder, ...partial } = input;
  if (encoder !== undefined) {
    const mapped = extractorOfLegacyEncoder(encoder);
    if (mapped === undefined) throw new RangeError(`encoder must be one of routing, meanPool (the name before 'extractor'), got ${show(encoder)}`);
    if (partial.extractor !== undefined && partial.extractor !== mapped) {
      throw new RangeError(`encoder ${show(encoder)} (extractor '${mapped}') contradicts extractor ${show(partial.extractor)}`);
    }
    partial.extractor = mapped;
  }
  if (partial.hiddenUnits !== undefined && !Array.isArray(partial.hiddenUnits)) {
    throw new RangeError(`hiddenUnits must be a list of layer widths, got ${show(partial.hiddenUnits)}`);
  }
  const c: MindConfig = { ...DEFAULT_CONFIG, ...partial, hiddenUnits: [...(partial.hiddenUnits ?? DEFAULT_CONFIG.hiddenUnits)] };
  oneOf('extractor', c.extractor, extractorNames());
  positiveInt('selfAttentionRatio', c.selfAttentionRatio, 64);
  positiveInt('dim', c.dim, 256);
  positiveInt('kMax', c.kMax, 16);
  positiveInt('iterations', c.iterations, 100);
  if (typeof c.globalInterest !== 'boolean') throw new RangeError(`globalInterest must be a boolean, got ${show(c.globalInterest)}`);
  if (typeof c.attentionPower !== 'number' || !(c.attentionPower >= 0)) throw new RangeError(`attentionPower must be >= 0 (Infinity allowed), got ${show(c.attentionPower)}`);
  if (typeof c.dynamicK !== 'boolean') throw new RangeError(`dynamicK must be true or false, got ${show(c.dynamicK)}`);
  oneOf('attentionMode', c.attentionMode, ['pow', 'scale']);
  oneOf('candidateScore', c.candidateScore, ['labelAware', 'maxInterest']);
  inRange('hardNegativeBeta', c.hardNegativeBeta, 0, 1000);
  oneOf('softmaxOver', c.softmaxOver, ['interests', 'behaviors']);
  oneOf('routingGradient', c.routingGradient, ['stop', 'full']);
  inRange('initStd', c.initStd, 0, 1e3);
  c.hiddenUnits.forEach((h, i) => positiveInt(`hiddenUnits[${i}]`, h, 4096));
  oneOf('activation', c.activation, ['relu', 'linear']);
  inRange('dropout', c.dropout, 0, 0.95);
  positiveInt('profileDim', c.profileDim, 256);
  inRange('l2Embedding', c.l2Embedding, 0, 10);
  positiveInt('numSampled', c.numSampled, 8192);
  oneOf('sampler', c.sampler, ['uniform', 'logUniform', 'unigram']);
  inRange('samplerAlpha', c.samplerAlpha, 0, 10);
  inRange('learningRate', c.learningRate, 1e-9, 10);
  if (!Number.isSafeInteger(c.seed)) throw new RangeError(`seed must be an integer, got ${show(c.seed)}`);
  return c;
}
