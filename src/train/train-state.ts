/**
 * The resumable state of a training run: everything `train` needs to continue a run exactly
 * where it stopped, so that the resumed run's weights are bitwise those of a run never stopped
 * (on the same adapter).
 *
 * There are no random generator states to save: every stream of the trainer (batch order,
 * negatives, routing draws, dropout masks) is a pure function of (config.seed, epoch) or
 * (config.seed, step), and the samplers keep no state, so the step and epoch counters restore
 * them all.
 *
 * Stored as a small JSON record plus one safetensors file of the tensors (`weights/<name>`,
 * `best/<name>`, `adam<i>.m/<name>`, `adam<i>.v/<name>`). Browser-safe: bytes in, bytes out.
 */
import type { RankingMetrics } from './trainer.js';
import type { AdamState } from './adam.js';
import { concatBytes } from '../data/bytes.js';
import { decodeSafetensors, safetensorsParts } from './checkpoint.js';

export interface TrainState {
  /** Steps finished in total. */
  step: number;
  /** The epoch (1-based) the next step belongs to, and how many of its batches are done. */
  epoch: number;
  batchesDone: number;
  /** The parameters after `step` steps (not the best epoch's). */
  weights: Map<string, Float32Array>;
  /** One entry per optimiser of the trainer, in its order (sparse tables, then dense). */
  optimizers: AdamState[];
  /** Validation after each completed epoch (never the provisional one of a run cut short). */
  validation: { epoch: number; metrics: RankingMetrics }[];
  /** Best completed epoch so far by the selection metric (0: none yet), its score and weights. */
  bestEpoch: number;
  bestScore: number;
  bestWeights?: Map<string, Float32Array>;
  /** Losses as logged so far: (global step, loss). */
  losses: { step: number; loss: number }[];
}

interface StateRecord {
  format: 'mind-webgpu-train-state/1';
  step: number;
  epoch: number;
  batchesDone: number;
  optimizers: { stepCount: number; params: string[] }[];
  validation: { epoch: number; metrics: RankingMetrics }[];
  bestEpoch: number;
  /** JSON has no -Infinity (no epoch validated yet): null stands for it. */
  bestScore: number | null;
  hasBest: boolean;
  losses: { step: number; loss: number }[];
}

/**
 * Encodes a state as `{ json, tensors }`; `shapes` gives each parameter's shape (moments have
 * their parameter's shape).
 */
export function encodeTrainState(state: TrainState, shapes: Map<string, number[]>): { json: string; tensors: Uint8Array } {
  const { json, tensors } = encodeTrainStateParts(state, shapes);
  return { json, tensors: concatBytes(tensors) };
}

/**
 * encodeTrainState with the tensors file as parts (safetensorsParts: views of the state's own
 * arrays, no copy), for writing a state of gigabytes part by part.
 */
export function encodeTrainStateParts(state: TrainState, shapes: Map<string, number[]>): { json: string; tensors: Uint8Array[] } {
  const tensors = new Map<string, Float32Array>();
  const tensorShapes = new Map<string, number[]>();
  const put = (prefix: string, name: string, data: Float32Array) => {
    const shape = shapes.get(name);
    if (!shape) throw new Error(`train state: no shape for parameter "${name}"`);
    tensors.set(`${prefix}/${name}`, data);
    tensorShapes.set(`${prefix}/${name}`, shape);
  };
  for (const [name, w] of state.weights) put('weights', name, w);
  for (const [name, w] of state.bestWeights ?? []) put('best', name, w);
  state.optimizers.forEach((opt, i) => {
    for (const [name, { m, v }] of opt.moments) {
      put(`adam${i}.m`, name, m);
      put(`adam${i}.v`, name, v);
    }
  });
  const record: StateRecord = {
    format: 'mind-webgpu-train-state/1',
    step: state.step,
    epoch: state.epoch,
    batchesDone: state.batchesDone,
    optimizers: state.optimizers.map((opt) => ({ stepCount: opt.stepCount, params: [...opt.moments.keys()] })),
    validation: state.validation,
    bestEpoch: state.bestEpoch,
    bestScore: Number.isFinite(state.bestScore) ? state.bestScore : null,
    hasBest: state.bestWeights !== undefined,
    losses: state.losses,
  };
  return { json: JSON.stringify(record), tensors: safetensorsParts(tensors, tensorShapes) };
}

function counter(record: StateRecord, field: 'step' | 'epoch' | 'batchesDone' | 'bestEpoch', min: number, file: string): number {
  const value = record[field];
  if (!Number.isSafeInteger(value) || value < min) throw new Error(`${file}: field "${field}" must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  return value;
}

/**
 * Decodes what `encodeTrainState` wrote. Errors name the file and the field or tensor at fault:
 * a missing counter, a moment list naming a tensor the tensors file lacks.
 */
export function decodeTrainState(json: string, tensors: Uint8Array | readonly Uint8Array[], files = { json: 'resume.json', tensors: 'resume.safetensors' }): TrainState {
  let record: StateRecord;
  try {
    record = JSON.parse(json);
  } catch (err) {
    throw new Error(`${files.json}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof record !== 'object' || record === null || record.format !== 'mind-webgpu-train-state/1') {
    throw new Error(`${files.json}: not a training state (format ${JSON.stringify((record as StateRecord | null)?.format)})`);
  }
  const step = counter(record, 'step', 0, files.json);
  const epoch = counter(record, 'epoch', 1, files.json);
  const batchesDone = counter(record, 'batchesDone', 0, files.json);
  const bestEpoch = counter(record, 'bestEpoch', 0, files.json);
  for (const field of ['optimizers', 'validation', 'losses'] as const) {
    if (!Array.isArray(record[field])) throw new Error(`${files.json}: field "${field}" must be an array, got ${JSON.stringify(record[field])}`);
  }
  const { weights: all } = decodeSafetensors(tensors, files.tensors);
  const group = (prefix: string) => {
    const out = new Map<string, Float32Array>();
    for (const [name, data] of all) if (name.startsWith(`${prefix}/`)) out.set(name.slice(prefix.length + 1), data);
    return out;
  };
  const optimizers = record.optimizers.map((opt, i) => {
    if (!Number.isSafeInteger(opt?.stepCount) || opt.stepCount < 0 || !Array.isArray(opt.params)) {
      throw new Error(`${files.json}: optimizers[${i}] must be {stepCount, params}, got ${JSON.stringify(opt)}`);
    }
    const moments = new Map<string, { m: Float32Array; v: Float32Array }>();
    for (const name of opt.params) {
      const m = all.get(`adam${i}.m/${name}`);
      const v = all.get(`adam${i}.v/${name}`);
      if (!m || !v) throw new Error(`${files.tensors}: no tensor "adam${i}.${m ? 'v' : 'm'}/${name}" though ${files.json} lists its moments`);
      moments.set(name, { m, v });
    }
    return { stepCount: opt.stepCount, moments };
  });
  const weights = group('weights');
  if (weights.size === 0) throw new Error(`${files.tensors}: no "weights/..." tensors`);
  return {
    step,
    epoch,
    batchesDone,
    weights,
    optimizers,
    validation: record.validation,
    bestEpoch,
    bestScore: record.bestScore ?? -Infinity,
    bestWeights: record.hasBest ? group('best') : undefined,
    losses: record.losses,
  };
}
