/**
 * The model configuration: every setting of the model itself (the extractor and its sizes, the
 * candidate scoring, the global interest, the user DNN) with its default, its validation and
 * its CLI flag, each written once in MODEL_FIELDS (src/config/fields.ts). The training settings
 * (learning rate, negatives, sampler, epochs, batch size, …) are the training configuration,
 * src/train/config.ts. A run's configuration as checkpoints store it, MindConfig, is the two
 * together.
 */
import { type Fields, defaultsOf, inRange, isBoolean, oneOf, positiveInt, resolveFields, show } from '../config/fields.js';
import { TRAINING_FIELDS, type TrainingConfig } from '../train/config.js';
import { extractorNames, extractorOfLegacyEncoder } from './extractors/registry.js';

export interface ModelConfig {
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
   * Adds the mean of the history's item vectors as one more interest, ahead of the K extracted
   * ones (through the same DNN): a global interest that carries the user's overall taste, so
   * that the others are free to specialise. With candidateScore 'maxInterest' every candidate
   * is scored by its best interest, the global one included (multi-interest extractors only).
   */
  globalInterest: boolean;
  /** R: routing iterations (MIND and ComiRec-DR). */
  iterations: number;
  /** K_b = max(1, min(K, floor(log2(len)))) per user when true (the paper); K otherwise (MIND only). */
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
  softmaxOver: 'interests' | 'behaviors';
  routingGradient: 'stop' | 'full';
  /** Std of the Gaussian initial routing logits (MIND). */
  initStd: number;
  /** Hidden layer widths of the per-interest user DNN. */
  hiddenUnits: number[];
  activation: 'relu' | 'linear';
  /** Dropout rate on the DNN's hidden activations during training. */
  dropout: number;
  /** Width of each user categorical feature's embedding. */
  profileDim: number;
  /** Seed of the initialisation, the serving routing draw and (for training) batches and negatives. */
  seed: number;
}

/** A run's whole configuration, as a checkpoint's config.json stores it: the model's and the training's. */
export type MindConfig = ModelConfig & TrainingConfig;

const hiddenUnitsCheck = (name: string, value: number[]): void => {
  if (!Array.isArray(value)) throw new RangeError(`${name} must be a list of layer widths, got ${show(value)}`);
  value.forEach((h, i) => positiveInt(4096)(`${name}[${i}]`, h));
};

// The values of each choice setting, listed once for its check and its flag.
const CANDIDATE_SCORES = () => ['labelAware', 'maxInterest'] as const;
const ATTENTION_MODES = () => ['pow', 'scale'] as const;
const SOFTMAX_AXES = () => ['interests', 'behaviors'] as const;
const ROUTING_GRADIENTS = () => ['stop', 'full'] as const;
const ACTIVATIONS = () => ['relu', 'linear'] as const;

/** Every model setting: default, validation and CLI flag (src/node/cli-options.ts generates the options). */
export const MODEL_FIELDS: Fields<ModelConfig> = {
  extractor: {
    default: 'mind',
    check: oneOf(extractorNames),
    flag: { flags: '--extractor <name>', help: 'interest extractor', kind: 'choice', choices: extractorNames },
  },
  selfAttentionRatio: {
    default: 4,
    check: positiveInt(64),
    flag: { flags: '--self-attention-ratio <r>', help: 'ComiRec-SA attention width d_a as a multiple of d', kind: 'int', min: 1 },
  },
  kMax: { default: 4, check: positiveInt(16), flag: { flags: '--k <n>', help: 'most interests per user (kMax)', kind: 'int' } },
  dim: { default: 64, check: positiveInt(256), flag: { flags: '--dim <d>', help: 'embedding and interest width', kind: 'int' } },
  iterations: { default: 3, check: positiveInt(100), flag: { flags: '--iterations <r>', help: 'routing iterations', kind: 'int' } },
  // Chosen on validation users (docs/ablation.md): scoring every candidate by its best interest
  // trains what serving ranks by, and the global interest carries the overall taste.
  globalInterest: {
    default: true,
    check: isBoolean,
    flag: { flags: '--no-global-interest', help: 'no global interest: only the K extracted interests (by default the mean of the history is one more interest, ahead of them)', kind: 'switchOff' },
  },
  attentionPower: {
    default: 1,
    check: (name, value) => {
      if (typeof value !== 'number' || !(value >= 0)) throw new RangeError(`${name} must be >= 0 (Infinity allowed), got ${show(value)}`);
    },
    flag: { flags: '--p <x>', help: 'label-aware attention power (Infinity = hard)', kind: 'number' },
  },
  candidateScore: {
    default: 'maxInterest',
    check: oneOf(CANDIDATE_SCORES),
    flag: { flags: '--candidate-score <how>', help: 'training score of a candidate item: through label-aware attention (the paper) or its best interest (the serving score)', kind: 'choice', choices: CANDIDATE_SCORES },
  },
  attentionMode: {
    default: 'pow',
    check: oneOf(ATTENTION_MODES),
    flag: { flags: '--attention-mode <mode>', help: 'attention exponent mode', kind: 'choice', choices: ATTENTION_MODES },
  },
  dynamicK: {
    default: true,
    check: isBoolean,
    flag: { flags: '--no-dynamic-k', help: 'use all K interests for every user instead of K_b = log2(len)', kind: 'switchOff' },
  },
  softmaxOver: {
    default: 'interests',
    check: oneOf(SOFTMAX_AXES),
    flag: { flags: '--softmax-over <axis>', help: 'routing softmax axis', kind: 'choice', choices: SOFTMAX_AXES },
  },
  routingGradient: {
    default: 'stop',
    check: oneOf(ROUTING_GRADIENTS),
    flag: { flags: '--routing-gradient <g>', help: 'gradient through routing', kind: 'choice', choices: ROUTING_GRADIENTS },
  },
  initStd: { default: 1, check: inRange(0, 1e3) },
  hiddenUnits: { default: [64], check: hiddenUnitsCheck, flag: { flags: '--hidden <units>', help: 'user DNN hidden widths, comma separated', kind: 'intList' } },
  activation: {
    default: 'relu',
    check: oneOf(ACTIVATIONS),
    flag: { flags: '--activation <f>', help: 'user DNN activation', kind: 'choice', choices: ACTIVATIONS },
  },
  dropout: { default: 0, check: inRange(0, 0.95), flag: { flags: '--dropout <x>', help: 'dropout on the DNN hidden layer', kind: 'number' } },
  profileDim: { default: 16, check: positiveInt(256), flag: { flags: '--profile-dim <n>', help: 'width of each user categorical embedding', kind: 'int' } },
  // The CLI's --seed is per command (train: one seed; experiment: --seeds).
  seed: {
    default: 1,
    check: (name, value) => {
      if (!Number.isSafeInteger(value)) throw new RangeError(`${name} must be an integer, got ${show(value)}`);
    },
  },
};

export const DEFAULT_MODEL_CONFIG: ModelConfig = defaultsOf(MODEL_FIELDS);

/** Every default of the model and the training configuration. */
export const DEFAULT_CONFIG: MindConfig = { ...DEFAULT_MODEL_CONFIG, ...defaultsOf(TRAINING_FIELDS) };

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

/**
 * The settings of the baseline run that `mind train` and `mind experiment` compare against,
 * for the extractor `name` (`--baseline NAME`): BASELINE_CONFIG for 'meanPool' (its tuned
 * settings), otherwise only the extractor changes. Throws a RangeError for an unknown name.
 */
export function baselineConfig(name: string): Partial<MindConfig> {
  oneOf(extractorNames)('baseline', name);
  return name === BASELINE_CONFIG.extractor ? { ...BASELINE_CONFIG } : { extractor: name };
}

/** The model settings of a configuration, validated (training settings ignored). */
export function resolveModelConfig(partial: Partial<ModelConfig> = {}): ModelConfig {
  return resolveFields(MODEL_FIELDS, partial);
}

/** A configuration written before the extractor registry named its encoder instead. */
export interface LegacyConfigFields {
  /** 'routing' (MIND) or 'meanPool'; read as `extractor` 'mind' or 'meanPool'. */
  encoder?: string;
}

/**
 * A run's configuration with defaults filled in and every field of both configurations checked;
 * errors name the field and the bad value. A legacy `encoder` ('routing' | 'meanPool') stands
 * for the extractor 'mind' | 'meanPool' and is dropped from the result; giving both it and a
 * different `extractor` is an error.
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
  return { ...resolveModelConfig(partial), ...resolveFields(TRAINING_FIELDS, partial) };
}
