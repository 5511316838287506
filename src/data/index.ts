/** The data layer: browser-safe parsing, indexing, splitting, batching and sampling. */

export { DataError } from './errors.js';
export { Random, type MutableArrayLike } from './random.js';
export { type TextSource, textFromStream } from './text.js';
export {
  CsvTokenizer,
  readTable,
  sniffDelimiter,
  type Delimiter,
  type TableLayout,
  type TableOptions,
  type TableSummary,
} from './csv.js';
export {
  parseInteractions,
  type Interaction,
  type InteractionOptions,
  type InteractionTable,
} from './interactions.js';
export { buildItemVocabulary, PADDING_ID, PADDING_NAME, type ItemVocabulary } from './vocabulary.js';
export {
  parseItemFeatures,
  parseUserFeatures,
  UNKNOWN_VALUE,
  type FeatureSpace,
  type FlagSpace,
  type ItemFeatureSpace,
  type ItemFeatures,
  type ItemFeatureOptions,
  type ItemFeatureTable,
  type UserFeatureOptions,
  type UserFeatureTable,
  type UserProfile,
} from './features.js';
export {
  DATA_FORMATS,
  detectFormat,
  MOVIELENS_LAYOUTS,
  type DataFormat,
  type FileLayout,
  type MovieLensLayout,
  type TextEncoding,
} from './formats.js';
export {
  DEFAULT_MIN_SEQUENCE,
  groupByUser,
  heldOutHistoryLength,
  type UserSequence,
} from './sequences.js';
export { splitUsers, type UserSplit } from './split.js';
export {
  loadDatasetFromText,
  indexSequences,
  type Dataset,
  type DatasetShape,
  type DatasetStats,
  type DatasetUser,
  type IndexedSequences,
  type LoadDatasetOptions,
} from './dataset.js';
export {
  batches,
  heldOutUsers,
  trainingSampleCount,
  type BatchOptions,
  type HeldOutSet,
  type ProfileColumns,
  type TrainingBatch,
} from './batches.js';
export { createSampler, type Sampler, type SamplerKind, type SamplerOptions } from './samplers.js';
export { generateSynthetic, type SyntheticOptions, type SyntheticTruth } from './synthetic.js';
