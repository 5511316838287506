/**
 * The model's named parameters and their initial values. Names are stable: they are the keys
 * of the safetensors checkpoint.
 */
import type { Context } from '../autograd/context.js';
import type { Tensor } from '../autograd/tensor.js';
import { Random } from '../data/random.js';
import type { MindConfig } from './config.js';
import { getExtractor } from './extractors/registry.js';
import { glorot, normal } from './extractors/init.js';

/** Sizes the parameters depend on, fixed by the data set. */
export interface ModelShape {
  /** Item ids including padding 0. */
  numItems: number;
  /** Rows of the item side-feature table (0 without side features). */
  numFeatureRows: number;
  /** Vocabulary size of each user categorical feature. */
  profileSpaces: number[];
  /** Number of dense user features. */
  profileDense: number;
  /**
   * L, the history window the model is trained with (Dataset.maxLength): needed by extractors
   * with per-position parameters (comirec-dr). Absent in checkpoints written before it; the
   * manifest's maxLength fills it in (decodeManifest).
   */
  historyLength?: number;
}

export interface ParameterSpec {
  name: string;
  shape: number[];
  /** Embedding tables get row-sparse gradients and the L2 penalty. */
  embedding: boolean;
  init: (rng: Random, size: number) => Float32Array;
}


const zeros = (_rng: Random, size: number) => new Float32Array(size);

/** Width of the profile vector p_u concatenated to each interest. */
export function profileWidth(config: MindConfig, shape: ModelShape): number {
  return shape.profileSpaces.length * config.profileDim + shape.profileDense;
}

export function parameterSpecs(config: MindConfig, shape: ModelShape): ParameterSpec[] {
  const d = config.dim;
  const specs: ParameterSpec[] = [
    // Item ids and side-feature values share one table (see item-tower.ts).
    { name: 'item_embedding', shape: [shape.numItems + shape.numFeatureRows, d], embedding: true, init: normal(0.1) },
  ];
  specs.push(...getExtractor(config.extractor).parameterSpecs(config, shape));
  const profileRows = shape.profileSpaces.reduce((a, b) => a + b, 0);
  if (profileRows > 0) {
    specs.push({ name: 'profile_embedding', shape: [profileRows, config.profileDim], embedding: true, init: normal(0.1) });
  }
  let width = d + profileWidth(config, shape);
  [...config.hiddenUnits, d].forEach((units, layer) => {
    specs.push({ name: `dnn.${layer}.weight`, shape: [width, units], embedding: false, init: glorot(width, units) });
    specs.push({ name: `dnn.${layer}.bias`, shape: [units], embedding: false, init: zeros });
    width = units;
  });
  return specs;
}

/**
 * Creates every parameter, from `weights` when given (a checkpoint) or freshly initialised.
 * Embedding tables are row tables (Context.table): split over several GPU buffers when larger
 * than one storage binding, which only the embedding gather and Adam read.
 */
export function createParameters(
  ctx: Context,
  config: MindConfig,
  shape: ModelShape,
  weights?: Map<string, Float32Array>,
): Map<string, Tensor> {
  const rng = new Random(config.seed).fork('parameters');
  const params = new Map<string, Tensor>();
  for (const spec of parameterSpecs(config, shape)) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    let data = spec.init(rng.fork(spec.name), size);
    if (weights) {
      const saved = weights.get(spec.name);
      if (!saved) throw new Error(`checkpoint has no tensor "${spec.name}"`);
      if (saved.length !== size) {
        throw new Error(`checkpoint tensor "${spec.name}" has ${saved.length} values, the model needs ${size} (${spec.shape.join('x')})`);
      }
      data = saved;
    }
    const options = { requiresGrad: true, label: spec.name };
    params.set(spec.name, (spec.embedding ? ctx.table(spec.shape, data, options) : ctx.tensor(data, spec.shape, options)).keep());
  }
  return params;
}
