/**
 * The run `mind train` makes: MIND, then (unless disabled) the single-vector baseline, saved
 * crash-consistently into one checkpoint directory after every epoch, after each model and when
 * stopped; interruptible (the abort signal stops after the current step and saves a resumable
 * state) and resumable exactly (`mind train --resume DIR`).
 *
 * Files of a run, besides each finished model's manifest and weights (checkpoint-io.ts):
 * - `resume.json`, while some model is unfinished: the settings, the data, and each model's
 *   status: 'done', 'partial' (its state is in `<key>.state.json` + `<key>.state.safetensors`,
 *   and its manifest and weights hold its best weights so far, so `mind eval` works on it) or
 *   'pending' (not started).
 * A run saved after every model finished has no resume files.
 */
import type { Context } from '../autograd/context.js';
import type { Dataset } from '../data/dataset.js';
import { type MindConfig, baselineConfig, resolveConfig } from '../mind/config.js';
import { getExtractor } from '../mind/extractors/registry.js';
import { evaluateModel } from '../serve/retrieval.js';
import { modelShapeOf } from '../mind/model.js';
import { parameterSpecs, profileWidth } from '../mind/parameters.js';
import type { CheckpointManifest, DataFingerprint } from '../train/checkpoint.js';
import { type TrainProgress, type TrainResult, train } from '../train/trainer.js';
import { type TrainState, decodeTrainState, encodeTrainStateParts } from '../train/train-state.js';
import { BASELINE_FILES, MIND_FILES, type ModelFileNames, modelFiles, readModel } from './checkpoint-io.js';
import { type CheckpointDirectory, CheckpointError, type CheckpointFileData, writeCheckpointFiles } from './checkpoint-store.js';
import type { DataSpec } from './datasets.js';
import { DeviceLostError, UserError, watchDeviceLoss } from './errors.js';
import { NonFiniteError } from '../train/non-finite.js';

export const RESUME_FILE = 'resume.json';

/** The training settings of a run besides the model configuration. */
export interface TrainingSettings {
  epochs: number;
  batchSize: number;
  maxSteps?: number;
  /** Validate on a seeded sample of this many validation users (`--validation-users`); undefined: all. */
  validationUsers?: number;
  /**
   * The extractor of the baseline trained after the main model (`--baseline NAME`, settings from
   * baselineConfig), or false for none. Resume records written before `--baseline NAME` say
   * true, meaning 'meanPool'.
   */
  baseline: string | false;
}

type ModelKey = 'mind' | 'baseline';
type ModelStatus = 'done' | 'partial' | 'pending';

interface ModelRun {
  key: ModelKey;
  name: string;
  config: MindConfig;
  files: ModelFileNames;
}

/** The content of resume.json. */
export interface ResumeRecord {
  format: 'mind-webgpu-resume/1';
  settings: TrainingSettings;
  /** MIND's configuration; the baseline's is it with BASELINE_CONFIG applied. */
  config: MindConfig;
  data: DataSpec;
  dataFingerprint: DataFingerprint[];
  models: { key: ModelKey; status: ModelStatus; step: number; totalSteps?: number; epoch: number }[];
}

/** An unfinished run read back: its record, each partial model's state, each done model's files. */
export interface ResumePoint {
  record: ResumeRecord;
  states: Map<ModelKey, TrainState>;
  doneFiles: Map<string, string | Uint8Array>;
}

export interface TrainingRunOptions {
  out: string;
  dataset: Dataset;
  data: DataSpec;
  dataFingerprint: DataFingerprint[];
  config: MindConfig;
  settings: TrainingSettings;
  resume?: ResumePoint;
  signal?: AbortSignal;
  log: (line: string) => void;
  progress: (name: string) => { update(p: TrainProgress): void; stop(): void };
}

/** Where the directory stands after the last save (for messages after a failure). */
export interface SavedPoint {
  model: string;
  step: number;
  epoch: number;
}

export interface TrainingRunResult {
  /** 'aborted' when the signal stopped it; 'maxSteps' when a model stopped at --max-steps. */
  stopped: TrainResult['stopped'];
  /** Where training stopped: the model, its step and the step budget. */
  at: { model: string; step: number; totalSteps: number; epoch: number };
  summary: Record<string, unknown>;
}

function runsOf(config: MindConfig, settings: TrainingSettings): ModelRun[] {
  // The file keys stay 'mind' and 'baseline' whatever the extractors (checkpoint layout).
  const runs: ModelRun[] = [{ key: 'mind', name: getExtractor(config.extractor).displayName, config, files: MIND_FILES }];
  if (settings.baseline) {
    const baseline = resolveConfig({ ...config, ...baselineConfig(settings.baseline) });
    runs.push({ key: 'baseline', name: `${getExtractor(baseline.extractor).displayName} baseline`, config: baseline, files: BASELINE_FILES });
  }
  return runs;
}

function manifestFor(options: TrainingRunOptions, config: MindConfig, training: Record<string, unknown>): CheckpointManifest {
  const { dataset } = options;
  return {
    format: 'mind-webgpu/1',
    config,
    shape: modelShapeOf(dataset),
    itemNames: dataset.itemNames,
    itemFeatures: dataset.itemFeatures,
    userFeatures: dataset.userFeatures,
    maxLength: dataset.maxLength,
    data: options.data as unknown as Record<string, unknown>,
    dataFingerprint: options.dataFingerprint,
    training,
  };
}

/**
 * Refuses a run whose parameters do not fit the device, before the first step. Embedding
 * tables (the item table [items + feature rows, d], the profile table) are split over as many
 * buffers as they need (Context.table), as are their Adam moments and evaluation's item vectors,
 * so they only need one row to fit a storage binding; every other parameter is one buffer and
 * must fit one binding whole. The error names the model, the parameter, its shape, its bytes and
 * the limit (the smaller of maxStorageBufferBindingSize and maxBufferSize). Then checks the batch
 * size (checkBatchSize). Throws UserError.
 */
export function checkDeviceFit(
  limits: { maxStorageBufferBindingSize: number; maxBufferSize: number },
  config: MindConfig,
  dataset: Dataset,
  settings: Pick<TrainingSettings, 'batchSize' | 'baseline'>,
): void {
  const limit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  for (const run of runsOf(config, { epochs: 1, ...settings })) {
    for (const spec of parameterSpecs(run.config, modelShapeOf(dataset))) {
      const width = spec.shape[1] ?? 1;
      const bytes = spec.shape.reduce((a, b) => a * b, 4);
      if (spec.embedding) {
        if (4 * width <= limit) continue;
        throw new UserError(
          `${run.name}'s ${spec.name} table [${spec.shape.join(', ')}]: one row of ${4 * width} bytes is over this device's storage binding limit of ${limit} bytes (maxStorageBufferBindingSize)`,
          `use --${spec.name === 'profile_embedding' ? 'profile-dim' : 'dim'} ${Math.floor(limit / 4)} or less`,
        );
      }
      if (bytes <= limit) continue;
      throw new UserError(
        `${run.name}'s ${spec.name} [${spec.shape.join(', ')}] would take ${bytes} bytes, over this device's storage binding limit of ${limit} bytes (maxStorageBufferBindingSize)`,
        'use smaller --hidden widths or a smaller --dim',
      );
    }
  }
  checkBatchSize(limits, config, dataset, settings.batchSize);
}

/**
 * Refuses a batch size whose per-step buffers exceed the device's limits, naming `--batch-size`
 * and the largest size that fits, before the first step rather than inside a kernel. The buffers
 * counted are the largest a step creates, per sample: the history vectors [L, d], the routing
 * state of every iteration ([R, K, L] logits and [R, K, d] sums, rows padded to vec4s), the
 * candidate logits [S + 1] and the user tower's activations [K, widest layer].
 */
export function checkBatchSize(limits: { maxStorageBufferBindingSize: number; maxBufferSize: number }, config: MindConfig, dataset: Dataset, batchSize: number): void {
  const extractor = getExtractor(config.extractor);
  const K = extractor.numInterests(config);
  const pad4 = (n: number) => Math.ceil(n / 4) * 4;
  const L = dataset.maxLength;
  const widest = Math.max(config.dim + profileWidth(config, modelShapeOf(dataset)), ...config.hiddenUnits);
  const perSample = [
    ['the history vectors [B, L, d]', L * pad4(config.dim)],
    ['the routing state [B, R, K, L + d]', config.iterations * K * (pad4(L) + pad4(config.dim))],
    ['the candidate logits [B, S + 1]', config.numSampled + 1],
    ['the user tower activations [B, K, width]', K * widest],
    ...(extractor.perSampleBuffers?.(config, L) ?? []),
  ] as const;
  const limit = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize);
  for (const [what, floats] of perSample) {
    const bytes = batchSize * floats * 4;
    if (bytes > limit) {
      throw new UserError(
        `--batch-size ${batchSize} is too large for this device: ${what} would take ${bytes} bytes, over its buffer limit of ${limit}`,
        `use --batch-size ${Math.floor(limit / (floats * 4))} or less`,
      );
    }
  }
}

/**
 * Reads an unfinished run's resume point. Throws UserError when the directory holds a finished
 * run (nothing to resume), and CheckpointError / format errors naming the file for corrupt state.
 */
export async function readResumePoint(checkpoint: CheckpointDirectory): Promise<ResumePoint> {
  if (!checkpoint.has(RESUME_FILE)) {
    throw new UserError(`--resume ${checkpoint.dir}: the run there is finished, there is nothing to resume`, 'train a new run with --out, or evaluate this one with mind eval');
  }
  const path = `${checkpoint.dir}/${checkpoint.version}/${RESUME_FILE}`;
  let record: ResumeRecord;
  try {
    record = JSON.parse(new TextDecoder().decode(await checkpoint.read(RESUME_FILE)));
  } catch (err) {
    if (err instanceof CheckpointError) throw err;
    throw new CheckpointError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (record?.format !== 'mind-webgpu-resume/1' || !Array.isArray(record.models) || typeof record.settings !== 'object' || typeof record.data !== 'object') {
    throw new CheckpointError(`${path}: not a resume record (format ${JSON.stringify(record?.format)})`);
  }
  try {
    if ((record.config?.attentionPower as unknown) === 'Infinity') record.config.attentionPower = Infinity;
    record.config = resolveConfig(record.config);
  } catch (err) {
    throw new CheckpointError(`${path}: field "config": ${(err as Error).message}`);
  }
  // Records written before `--baseline NAME` say true for the mean-pooling baseline.
  const baseline = record.settings.baseline as unknown;
  if (baseline === true) record.settings.baseline = 'meanPool';
  else if (baseline !== false) {
    try {
      baselineConfig(baseline as string);
    } catch (err) {
      throw new CheckpointError(`${path}: field "settings.baseline": ${(err as Error).message}`);
    }
  }
  const states = new Map<ModelKey, TrainState>();
  const doneFiles = new Map<string, string | Uint8Array>();
  for (const model of record.models) {
    const files = model.key === 'mind' ? MIND_FILES : BASELINE_FILES;
    if (model.status === 'partial') {
      const json = `${model.key}.state.json`;
      const tensors = `${model.key}.state.safetensors`;
      // In parts: the state of a catalogue of millions of items passes one array's 4 GiB.
      states.set(model.key, decodeTrainState(new TextDecoder().decode(await checkpoint.read(json)), await checkpoint.readParts(tensors), { json, tensors }));
    } else if (model.status === 'done') {
      const { manifest, weights } = await readModel(checkpoint, files);
      for (const [name, data] of modelFiles(manifest, weights, files)) doneFiles.set(name, data);
    } else if (model.status !== 'pending') {
      throw new CheckpointError(`${path}: model "${model.key}" has status ${JSON.stringify(model.status)}`);
    }
  }
  return { record, states, doneFiles };
}

/**
 * Trains the run's models in order, saving after each epoch, each model and at a stop. Returns
 * how it ended; a NonFiniteError or a device failure propagates with the directory still
 * holding the last save (`lastSaved` tells which).
 */
export async function runTraining(ctx: Context, options: TrainingRunOptions, lastSaved: { point?: SavedPoint } = {}): Promise<TrainingRunResult> {
  const { settings, dataset, resume } = options;
  const runs = runsOf(options.config, settings);
  const status = new Map<ModelKey, ModelStatus>(runs.map((r) => [r.key, resume?.record.models.find((m) => m.key === r.key)?.status ?? 'pending']));
  const progressOf = new Map<ModelKey, { step: number; totalSteps?: number; epoch: number }>();
  const files = new Map<string, CheckpointFileData>(resume?.doneFiles ?? []);
  const summary: Record<string, unknown> = {};

  const save = async (current: SavedPoint) => {
    const unfinished = runs.some((r) => status.get(r.key) !== 'done');
    for (const run of runs) {
      if (status.get(run.key) !== 'partial') {
        files.delete(`${run.key}.state.json`);
        files.delete(`${run.key}.state.safetensors`);
      }
    }
    if (unfinished) {
      const record: ResumeRecord = {
        format: 'mind-webgpu-resume/1', settings, config: options.config, data: options.data, dataFingerprint: options.dataFingerprint,
        models: runs.map((r) => ({ key: r.key, status: status.get(r.key)!, step: 0, epoch: 1, ...progressOf.get(r.key) })),
      };
      // attentionPower may be Infinity, which JSON spells as a string (as config.json does).
      files.set(RESUME_FILE, JSON.stringify(record, (_key, value) => (value === Infinity ? 'Infinity' : value), 1));
    } else files.delete(RESUME_FILE);
    await writeCheckpointFiles(options.out, files);
    lastSaved.point = current;
  };

  const shapesOf = (run: ModelRun) => new Map(parameterSpecs(run.config, modelShapeOf(dataset)).map((s) => [s.name, s.shape]));
  /** A partial model's files: its best weights so far as the model, and its state. */
  const setPartial = (run: ModelRun, state: TrainState, weights: Map<string, Float32Array>, training: Record<string, unknown>) => {
    // The state's tensors are written part by part from the state's own arrays (no second copy).
    const { json, tensors } = encodeTrainStateParts(state, shapesOf(run));
    for (const [name, data] of modelFiles(manifestFor(options, run.config, { ...training, complete: false }), weights, run.files)) files.set(name, data);
    files.set(`${run.key}.state.json`, json);
    files.set(`${run.key}.state.safetensors`, tensors);
    status.set(run.key, 'partial');
    progressOf.set(run.key, { step: state.step, epoch: state.epoch });
  };

  let last: TrainingRunResult['at'] = { model: runs[0].name, step: 0, totalSteps: 0, epoch: 1 };
  let stopped: TrainResult['stopped'] = 'completed';
  for (const run of runs) {
    if (status.get(run.key) === 'done') continue;
    const state = resume?.states.get(run.key);
    options.log(state ? `resuming ${run.name} at step ${state.step} (epoch ${state.epoch})` : `training ${run.name}`);
    const progress = options.progress(run.name);
    let totalSteps = 0;
    const result = await train(ctx, dataset, run.config, {
      epochs: settings.epochs, batchSize: settings.batchSize, maxSteps: settings.maxSteps, validationUsers: settings.validationUsers, signal: options.signal, resume: state,
      evaluate: evaluateModel,
      onProgress: (p) => {
        totalSteps = p.totalSteps;
        progress.update(p);
      },
      onEpochEnd: async (s) => {
        setPartial(run, s, s.bestWeights ?? s.weights, { steps: s.step, bestEpoch: s.bestEpoch, validation: s.validation });
        await save({ model: run.name, step: s.step, epoch: s.epoch - 1 });
      },
    }).finally(() => progress.stop());
    const best = result.validation.find((v) => v.epoch === result.bestEpoch)?.metrics;
    const metrics = best ? `; best epoch ${result.bestEpoch}: ${Object.entries(best).map(([k, v]) => `${k} ${v.toFixed(4)}`).join('  ')}` : '';
    options.log(`${run.name}: ${result.steps} steps in ${result.seconds.toFixed(1)} s (${result.stopped})${metrics}`);
    const training = { steps: result.steps, seconds: result.seconds, bestEpoch: result.bestEpoch, validation: result.validation, finalLoss: result.losses.at(-1)?.loss };
    summary[run.key === 'mind' ? 'mind' : 'youtubednn'] = training;
    last = { model: run.name, step: result.steps, totalSteps, epoch: result.state.epoch };
    if (result.stopped === 'completed') {
      for (const [name, data] of modelFiles(manifestFor(options, result.config, { ...training, complete: true }), result.bestWeights, run.files)) files.set(name, data);
      status.set(run.key, 'done');
      progressOf.set(run.key, { step: result.steps, epoch: result.state.epoch });
    } else {
      setPartial(run, result.state, result.bestWeights, training);
      progressOf.set(run.key, { step: result.steps, totalSteps, epoch: result.state.epoch });
      stopped = result.stopped;
    }
    result.model.dispose();
    await save({ model: run.name, step: result.steps, epoch: result.state.epoch });
    if (stopped === 'aborted') break;
  }
  return { stopped, at: last, summary };
}

/**
 * `runTraining` with its failures explained for a user: a NaN or a lost device becomes a
 * UserError (DeviceLostError) saying what happened and where the last checkpoint is, and how to
 * continue from it. Other errors pass through unchanged.
 */
export async function runTrainingExplained(ctx: Context, options: TrainingRunOptions): Promise<TrainingRunResult> {
  const deviceLoss = watchDeviceLoss(ctx.gpu.device);
  const saved: { point?: SavedPoint } = {};
  try {
    return await runTraining(ctx, options, saved);
  } catch (err) {
    const checkpoint = saved.point
      ? `the last checkpoint in ${options.out} is ${saved.point.model} at step ${saved.point.step}; continue with: mind train --resume ${options.out}`
      : `this run saved nothing to ${options.out}`;
    if (err instanceof NonFiniteError) throw new UserError(err.message, checkpoint);
    const lost = await deviceLoss.lost();
    if (lost) {
      const why = lost.message ? `${lost.reason}: ${lost.message}` : lost.reason;
      throw new DeviceLostError(`the GPU device was lost during training (reason: ${why})`, checkpoint);
    }
    throw err;
  }
}
