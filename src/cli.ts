/**
 * The `mind` command: train, experiment, eval, diagnose, recommend, index, serve, export.
 *   mind train [--data ratings.csv] [--item-features movies.csv] ... [--out DIR]
 *   mind experiment --seeds 1,2,3,4,5 [train's options] [--variants FILE] [--json OUT]
 *   mind eval --model DIR [--json]
 *   mind diagnose --model DIR [--part test|validation] [--n 50] [--json]
 *   mind recommend --model DIR --history id,id,... [--n 20] [--json] [--exact | --pgvector URL]
 *   mind index --model DIR [--pgvector URL]
 *   mind serve --model DIR [--port 8080]
 *   mind export --model DIR --out FILE  |  --out DIR --format npy,fvecs,parquet
 */
import { access, constants, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { type Context, createContext } from './autograd/context.js';
import { heldOutUsers } from './data/batches.js';
import { withCatalogue } from './data/catalogue.js';
import type { Dataset } from './data/dataset.js';
import { type DataFormat, DATA_FORMATS, detectFormat, MOVIELENS_LAYOUTS } from './data/formats.js';
import { MODEL_FIELDS, type MindConfig, baselineConfig, resolveConfig } from './mind/config.js';
import { resolveFields } from './config/fields.js';
import { extractorNames, getExtractor } from './mind/extractors/registry.js';
import { addFieldOptions, fieldsFromFlags, int, intList, list, num } from './node/cli-options.js';
import { SCHEDULE_FIELDS, TRAINING_FIELDS, type TrainingSchedule } from './train/config.js';
import type { TrainProgress } from './train/trainer.js';
import { BASELINE_FILES, BASELINE_MANIFEST_FILE, readModel } from './node/checkpoint-io.js';
import { type CheckpointDirectory, CheckpointError, openCheckpoint } from './node/checkpoint-store.js';
import { dataChanges, fingerprintData } from './node/data-files.js';
import { ExitError, UserError, formatError } from './node/errors.js';
import { interruptOnSignals } from './node/signals.js';
import { RESUME_FILE, type TrainingRunOptions, checkDeviceFit, readResumePoint, runTrainingExplained } from './node/training-run.js';
import { type ExperimentVariant, formatExperiment, runExperiment } from './node/experiment.js';
import { MindModel } from './mind/model.js';
import { type DataSpec, absoluteDataSpec, loadData } from './node/datasets.js';
import { ProgressReporter } from './node/progress.js';
import { rankingMetrics } from './serve/metrics.js';
import { type CapsulePurity, capsulePurity } from './serve/purity.js';
import { type ModelDiagnostics, diagnoseModel } from './serve/diagnose.js';
import { Recommender } from './serve/recommender.js';
import { MAX_TOP_K } from './serve/topk.js';
import { DEFAULT_ANN_SETTINGS } from './serve/ann-index.js';
import { EXPORT_FORMATS, type ExportFormat } from './node/exports.js';
import { exportTablesCommand, indexCommand, serveCommand } from './node/serve-commands.js';
import { type SearchChoice, openItemIndex } from './node/serving.js';
import { allItemVectors, evaluateModel, popularityRecommendations, targetSets } from './serve/retrieval.js';


/** `--columns`: every name matters, since position gives the column; an empty one is refused. */
function columnNames(value: string): string[] {
  const names = value.split(',').map((s) => s.trim());
  if (names.some((name) => name === '')) {
    throw new InvalidArgumentError(`--columns must name every column in order, comma separated, got "${value}"`);
  }
  return names;
}

/** `--delimiter`: a shell passes '\t' as backslash and t, so that escape stands for a tab. */
function delimiter(value: string): string {
  return value.replaceAll('\\t', '\t');
}

function exportFormats(value: string): ExportFormat[] {
  const formats = list(value);
  const bad = formats.filter((f) => !(EXPORT_FORMATS as readonly string[]).includes(f));
  if (bad.length > 0 || formats.length === 0) throw new InvalidArgumentError(`--format must list some of ${EXPORT_FORMATS.join(', ')}, got "${value}"`);
  return formats as ExportFormat[];
}


/**
 * Synthetic defaults: small enough to train MIND and the baseline in minutes on two CPU cores,
 * and many categories for d = 64 with at least 3 interests per user, so that one vector cannot
 * point at every interest at once (with few categories a single vector covers them all).
 */
const SYNTHETIC_DEFAULTS = { numItems: 2000, numCategories: 100, numUsers: 2000, minInterests: 3, maxInterests: 6, maxLength: 20 };

/**
 * The flags of train and experiment written here; the model, training and schedule flags are
 * generated from their fields (cli-options.ts) and read back with fieldsFromFlags.
 */
interface TrainFlags {
  data?: string;
  format?: DataFormat;
  columns?: string[];
  delimiter?: string;
  itemFeatures?: string;
  itemFeatureColumns?: string[];
  userFeatures?: string;
  userCategorical?: string[];
  userDense?: string[];
  userColumn?: string;
  itemColumn?: string;
  timeColumn?: string;
  minRating?: number;
  skipBadRows?: boolean;
  seqLen?: number;
  syntheticItems?: number;
  syntheticUsers?: number;
  syntheticCategories?: number;
  seed: number;
  /** The baseline's extractor (`--baseline NAME`), or false (`--no-baseline`). */
  baseline: string | false;
  out: string;
  resume?: string;
  json?: boolean;
}

function dataSpecFrom(flags: Omit<TrainFlags, 'json'>): DataSpec {
  const sizes = { syntheticItems: flags.syntheticItems, syntheticUsers: flags.syntheticUsers, syntheticCategories: flags.syntheticCategories };
  if (!flags.data) {
    const options = {
      seed: flags.seed,
      ...SYNTHETIC_DEFAULTS,
      ...(flags.seqLen ? { maxLength: flags.seqLen } : {}),
      ...(sizes.syntheticItems !== undefined ? { numItems: sizes.syntheticItems } : {}),
      ...(sizes.syntheticUsers !== undefined ? { numUsers: sizes.syntheticUsers } : {}),
      ...(sizes.syntheticCategories !== undefined ? { numCategories: sizes.syntheticCategories } : {}),
    };
    if (options.numItems < options.numCategories) {
      throw new InvalidArgumentError(
        `--synthetic-items (${options.numItems}) must be at least --synthetic-categories (${options.numCategories}): every category needs an item`,
      );
    }
    // Each user draws between minInterests and maxInterests categories.
    options.maxInterests = Math.min(options.maxInterests, options.numCategories);
    options.minInterests = Math.min(options.minInterests, options.maxInterests);
    return { kind: 'synthetic', options };
  }
  const given = Object.entries(sizes).find(([, v]) => v !== undefined);
  if (given) {
    const flag = `--${given[0].replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    throw new InvalidArgumentError(`${flag} sizes the synthetic data set, which is used only without --data (got --data ${flags.data})`);
  }
  const format = flags.format ?? detectFormat(flags.data);
  let userFeatures: { path: string; categorical: string[]; dense: string[] } | undefined;
  if (flags.userFeatures) {
    if (flags.userCategorical?.length || flags.userDense?.length) {
      userFeatures = { path: flags.userFeatures, categorical: flags.userCategorical ?? [], dense: flags.userDense ?? [] };
    } else if (format === 'csv') {
      throw new InvalidArgumentError('--user-features needs --user-categorical and/or --user-dense to say which columns to use');
    } else {
      // MovieLens user files say what their columns are, so they have default profile columns.
      const { categorical, dense } = MOVIELENS_LAYOUTS[format].userFeatures;
      userFeatures = { path: flags.userFeatures, categorical: [...categorical], dense: [...dense] };
    }
  }
  return absoluteDataSpec({
    kind: 'files',
    format,
    interactions: flags.data,
    columns: flags.columns,
    delimiter: flags.delimiter,
    userColumn: flags.userColumn,
    itemColumn: flags.itemColumn,
    timeColumn: flags.timeColumn,
    minRating: flags.minRating,
    skipBadRows: flags.skipBadRows,
    itemFeatures: flags.itemFeatures ? { path: flags.itemFeatures, columns: flags.itemFeatureColumns } : undefined,
    userFeatures,
    maxLength: flags.seqLen ?? 50,
    seed: flags.seed,
  });
}

/** The run's configuration from the generated model and training flags, and --seed. */
function configFrom(flags: Omit<TrainFlags, 'json'>): MindConfig {
  const generated = flags as unknown as Record<string, unknown>;
  return resolveConfig({ ...fieldsFromFlags(MODEL_FIELDS, generated), ...fieldsFromFlags(TRAINING_FIELDS, generated), seed: flags.seed });
}

/** --epochs, --batch-size, --max-steps and --validation-users (generated from SCHEDULE_FIELDS), checked. */
function scheduleFrom(flags: Omit<TrainFlags, 'json'>): TrainingSchedule {
  return resolveFields(SCHEDULE_FIELDS, fieldsFromFlags(SCHEDULE_FIELDS, flags as unknown as Record<string, unknown>));
}

function splitSummary(dataset: Dataset) {
  return {
    users: dataset.users.length,
    items: dataset.numItems - 1,
    train: dataset.split.train.length,
    validation: dataset.split.validation.length,
    test: dataset.split.test.length,
    maxLength: dataset.maxLength,
  };
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

function formatMetrics(metrics: Record<string, number>): string {
  return Object.entries(metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join('  ');
}

/**
 * Refuses an --out that cannot hold a checkpoint (an existing file, a directory without write
 * permission) before any training; creates the directory otherwise.
 */
async function checkOutputDirectory(out: string): Promise<void> {
  const info = await stat(out).catch(() => undefined);
  if (info && !info.isDirectory()) throw new UserError(`--out ${out} is an existing file; a checkpoint is a directory`, 'give a new or existing directory name');
  try {
    await mkdir(out, { recursive: true });
    await access(out, constants.W_OK);
  } catch (err) {
    throw new UserError(`--out ${out}: cannot write there (${(err as Error).message})`);
  }
}

/** Opens a checkpoint directory given as `option`, naming the option in errors. */
async function openCheckpointOption(option: string, dir: string): Promise<CheckpointDirectory> {
  try {
    return await openCheckpoint(dir);
  } catch (err) {
    if (err instanceof CheckpointError) throw new CheckpointError(`${option} ${err.message}`);
    throw err;
  }
}

/** What was dropped or skipped on the way from the files to the data set, so none of it passes silently. */
function reportDataset(dataset: Dataset): void {
  const { stats } = dataset;
  const notes = [
    stats.skippedRows > 0 && `skipped ${stats.skippedRows} bad rows (--skip-bad-rows)`,
    stats.duplicateRows > 0 && `${stats.duplicateRows} rows repeat an earlier (user, item, time) row; kept as separate interactions`,
    stats.droppedUsers > 0 && `dropped ${stats.droppedUsers} users with fewer than 2 interactions`,
    stats.belowMinRating > 0 && `dropped ${stats.belowMinRating} rows below --min-rating`,
    stats.usersWithoutProfile > 0 && `${stats.usersWithoutProfile} users have no row in --user-features`,
  ].filter((n): n is string => typeof n === 'string');
  for (const note of notes) log(`data: ${note}`);
}

/**
 * What a command used, for `--json` summaries (bench/scale.ts reads them): the bytes the GPU
 * buffer pool holds (it only grows until the context is destroyed, so this is its peak) and the
 * process's peak resident set, in bytes.
 */
function resourcesOf(ctx: Context): { deviceBytes: number; peakRssBytes: number } {
  return { deviceBytes: ctx.gpu.pool.stats().allocatedBytes, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
}

/**
 * The process's peak resident set (bytes) as it stood at named moments of a run, in order. The
 * peak only grows, so the phase between two marks that raised it is where memory went: for
 * catalogue-scale runs (bench/scale.ts) this separates the data set, the training steps, and the
 * validation plus checkpoint writing at the end.
 */
class PeakRssMarks {
  readonly marks: { after: string; peakRssBytes: number }[] = [];

  mark(after: string): void {
    this.marks.push({ after, peakRssBytes: process.resourceUsage().maxRSS * 1024 });
  }
}

/** Trains (or continues) a run into `options.out`; an interrupt saves and exits 130 / 143. */
async function trainRun(options: Omit<TrainingRunOptions, 'signal' | 'log' | 'progress'>, json: boolean | undefined): Promise<void> {
  const rss = new PeakRssMarks();
  rss.mark('data loaded');
  const ctx = await createContext();
  const interruption = interruptOnSignals((signal) => log(`\n${signal} received: stopping after the current step to save a resumable checkpoint (again to quit at once)`));
  try {
    log(`device: ${[ctx.gpu.adapterInfo.vendor, ctx.gpu.adapterInfo.architecture, ctx.gpu.adapterInfo.description].filter(Boolean).join(' ')}`);
    checkDeviceFit(ctx.gpu.limits, options.config, options.dataset, options.settings);
    const progress = (name: string) => {
      const reporter = new ProgressReporter(name);
      let marked = false;
      return {
        update: (p: TrainProgress) => {
          // The first validation's start ends the model's first epoch of training steps.
          if (p.phase === 'validate' && !marked) {
            rss.mark(`${name} training steps (first epoch)`);
            marked = true;
          }
          reporter.update(p);
        },
        stop: () => reporter.stop(),
      };
    };
    const result = await runTrainingExplained(ctx, { ...options, signal: interruption.signal, log, progress });
    rss.mark('validation and checkpoint saved');
    if (result.stopped === 'aborted') {
      throw new ExitError(
        `interrupted by ${interruption.received}: ${result.at.model} stopped at step ${result.at.step}${result.at.totalSteps ? ` of ${result.at.totalSteps}` : ''}; saved a resumable checkpoint to ${options.out}`,
        interruption.exitCode,
        `continue with: mind train --resume ${options.out}`,
      );
    }
    if (result.stopped === 'maxSteps') log(`stopped at --max-steps ${options.settings.maxSteps}; saved to ${options.out} (continue with: mind train --resume ${options.out} --max-steps N)`);
    else log(`saved to ${options.out}`);
    if (json) process.stdout.write(`${JSON.stringify({ split: splitSummary(options.dataset), training: result.summary, resources: { ...resourcesOf(ctx), peakRssByPhase: rss.marks } })}\n`);
  } finally {
    interruption.dispose();
    ctx.destroy();
  }
}

/** The options `--resume` accepts; every other setting comes from the run being continued. */
const RESUME_OPTIONS = ['resume', 'maxSteps', 'out', 'json'];

async function trainCommand(flags: TrainFlags, command: Command): Promise<void> {
  if (flags.resume) return resumeCommand(flags.resume, flags, command);
  const spec = dataSpecFrom(flags);
  const config = configFrom(flags);
  await checkOutputDirectory(flags.out);
  log(spec.kind === 'synthetic' ? 'data: synthetic planted-interest data set (no --data given)' : `data: ${spec.interactions} (${spec.format})`);
  const dataFingerprint = await fingerprintData(spec);
  const dataset = await loadData(spec);
  log(`users ${dataset.users.length} (train ${dataset.split.train.length}, validation ${dataset.split.validation.length}, test ${dataset.split.test.length}), items ${dataset.numItems - 1}, L ${dataset.maxLength}`);
  reportDataset(dataset);
  const schedule = scheduleFrom(flags);
  const settings = { epochs: schedule.epochs, batchSize: schedule.batchSize, maxSteps: schedule.maxSteps, validationUsers: schedule.validationUsers, baseline: flags.baseline };
  await trainRun({ out: flags.out, dataset, data: spec, dataFingerprint, config, settings }, flags.json);
}

/** `mind train --resume DIR`: the run's own settings and data, checked unchanged; only the step budget may change. */
async function resumeCommand(dir: string, flags: TrainFlags, command: Command): Promise<void> {
  const given = command.options.filter((o) => command.getOptionValueSource(o.attributeName()) === 'cli' && !RESUME_OPTIONS.includes(o.attributeName()));
  if (given.length > 0) {
    throw new UserError(`--resume continues a run with its own settings, so ${given.map((o) => o.long).join(', ')} cannot be given with it`, 'only --max-steps, --out and --json can');
  }
  const point = await readResumePoint(await openCheckpointOption('--resume', dir));
  const spec = point.record.data;
  const dataFingerprint = await fingerprintData(spec);
  const changes = dataChanges(point.record.dataFingerprint, dataFingerprint);
  if (changes.length > 0) throw new UserError(`--resume ${dir}: ${changes.join('; ')}`, 'an exact resume needs the same data; train a new run instead');
  const out = command.getOptionValueSource('out') === 'cli' ? flags.out : dir;
  if (out !== dir) await checkOutputDirectory(out);
  const dataset = await loadData(spec);
  const settings = { ...point.record.settings, ...(command.getOptionValueSource('maxSteps') === 'cli' ? { maxSteps: scheduleFrom(flags).maxSteps } : {}) };
  await trainRun({ out, dataset, data: spec, dataFingerprint, config: point.record.config, settings, resume: point }, flags.json);
}

interface EvalFlags {
  model: string;
  json?: boolean;
  part: 'test' | 'validation';
  excludeHistory?: boolean;
  allowDataChange?: boolean;
  /** --users: evaluate a seeded sample of this many held-out users. */
  users?: number;
}

async function evalCommand(flags: EvalFlags): Promise<void> {
  const checkpoint = await openCheckpointOption('--model', flags.model);
  const { manifest, weights } = await readModel(checkpoint);
  if (checkpoint.legacy) log(`note: ${flags.model} is a checkpoint from before hashed checkpoints; its files cannot be verified`);
  if (checkpoint.has(RESUME_FILE)) log(`note: ${flags.model} holds an unfinished run (its best weights so far); continue it with: mind train --resume ${flags.model}`);
  const spec = manifest.data as unknown as DataSpec;
  if (manifest.dataFingerprint) {
    const changes = dataChanges(manifest.dataFingerprint, await fingerprintData(spec));
    if (changes.length > 0 && !flags.allowDataChange) {
      throw new UserError(`--model ${flags.model} was trained on other data: ${changes.join('; ')}`, 'the split would differ from training; retrain, or pass --allow-data-change to evaluate anyway');
    }
    for (const change of changes) log(`warning: ${change}; evaluating anyway (--allow-data-change)`);
  } else if (spec.kind === 'files') {
    log(`note: ${flags.model} stores no hash of its data files, so a change since training cannot be detected`);
  }
  let dataset = await loadData(spec);
  if (dataset.itemNames.length !== manifest.itemNames.length || dataset.itemNames.some((name, id) => name !== manifest.itemNames[id])) {
    // Changed data numbers its items differently: score it with the model's ids, by name.
    const renumbered = withCatalogue(dataset, manifest.itemNames);
    dataset = renumbered.dataset;
    if (renumbered.droppedInteractions > 0) log(`warning: ${renumbered.droppedInteractions} interactions are with items the model has never seen; left out`);
  }
  // The sample is drawn with the model's seed, so every evaluation of this checkpoint scores the same users.
  const sample = flags.users === undefined ? undefined : { count: flags.users, seed: manifest.config.seed };
  const users = heldOutUsers(dataset, flags.part, sample);
  if (users.users.length === 0) {
    throw new UserError(`no ${flags.part} users to evaluate: the data set's ${dataset.users.length} users split into ${dataset.split.train.length} train, ${dataset.split.validation.length} validation and ${dataset.split.test.length} test`, 'metrics over 0 users would be meaningless; use more users');
  }
  const baseline = checkpoint.has(BASELINE_MANIFEST_FILE) ? await readModel(checkpoint, BASELINE_FILES) : undefined;
  if (!baseline) log(`no baseline in ${flags.model} (${checkpoint.has(RESUME_FILE) ? 'the run is unfinished' : 'trained with --no-baseline'}); youtubednn metrics omitted`);
  const ns = [20, 50];
  const ctx = await createContext();
  const metrics: Record<string, Record<string, number>> = {};
  const capsules: Record<string, CapsulePurity> = {};
  let evaluationSeconds = 0;
  let resources: ReturnType<typeof resourcesOf> | undefined;
  try {
    const options = { excludeHistory: flags.excludeHistory };
    const mind = new MindModel(ctx, manifest.config, manifest.shape, manifest.itemFeatures, weights);
    const started = performance.now();
    metrics.mind = await evaluateModel(mind, users, ns, options);
    evaluationSeconds = (performance.now() - started) / 1000;
    if (dataset.groundTruth) capsules.mind = await capsulePurity(mind, users, dataset.groundTruth);
    mind.dispose();
    if (baseline) {
      const model = new MindModel(ctx, baseline.manifest.config, baseline.manifest.shape, baseline.manifest.itemFeatures, baseline.weights);
      metrics.youtubednn = await evaluateModel(model, users, ns, options);
      if (dataset.groundTruth) capsules.youtubednn = await capsulePurity(model, users, dataset.groundTruth);
      model.dispose();
    }
    resources = resourcesOf(ctx);
  } finally {
    ctx.destroy();
  }
  metrics.popularity = rankingMetrics(popularityRecommendations(dataset.itemCounts, users, 50, flags.excludeHistory), targetSets(users), ns);
  const partUsers = dataset.split[flags.part].length;
  const sampled = users.users.length < partUsers ? { sample: { users: users.users.length, of: partUsers, seed: manifest.config.seed } } : {};
  const split = { ...splitSummary(dataset), evaluated: flags.part, evaluatedUsers: users.users.length, ...sampled };
  const report = dataset.groundTruth ? { split, metrics, capsules } : { split, metrics };
  if (flags.json) {
    // evaluationSeconds: MIND's evaluateModel alone (item vectors, interests, top-k, metrics).
    process.stdout.write(`${JSON.stringify({ ...report, resources: { ...resources, evaluationSeconds } })}\n`);
    return;
  }
  const of = users.users.length < partUsers ? ` (a sample of the ${partUsers}, drawn with seed ${manifest.config.seed})` : '';
  process.stdout.write(`evaluated ${users.users.length} ${flags.part} users${of}\n`);
  for (const [name, m] of Object.entries(metrics)) process.stdout.write(`${name.padEnd(11)} ${formatMetrics(m)}\n`);
  for (const [name, c] of Object.entries(capsules)) {
    process.stdout.write(`${name.padEnd(11)} capsule purity ${c.purity.toFixed(3)}  planted-interest coverage ${c.coverage.toFixed(3)}  active interests ${c.meanActiveInterests.toFixed(2)}\n`);
  }
}

/** A number for the diagnose table: fixed decimals, "-" where it is undefined (null). */
function cell(value: number | null, digits = 3): string {
  return value === null ? '-' : value.toFixed(digits);
}

/** `mind diagnose`'s text form of one model's diagnostics: one row per interest slot, then the totals. */
function formatDiagnostics(name: string, m: ModelDiagnostics): string {
  const { norms, recall, contributions, overlap, routing } = m;
  const lines = [`${name}: ${m.users} users, ${m.meanActiveInterests.toFixed(2)} active interests of ${m.kMax} on average, N = ${m.n}`];
  lines.push(`  slot  users  norm mean ± std  recall@${m.n}  oracle (same users)  share of items  share of hits`);
  for (let j = 0; j < m.kMax; j++) {
    const norm = norms.perInterest[j];
    const r = recall.perInterest[j];
    lines.push(
      `  ${String(j).padStart(4)}  ${String(r.users).padStart(5)}  ${`${cell(norm.mean)} ± ${cell(norm.std)}`.padStart(15)}  ${cell(r.recall, 4).padStart(9)}  ${cell(r.oracle, 4).padStart(19)}` +
        `  ${cell(contributions.items[j]).padStart(14)}  ${cell(contributions.hits?.[j] ?? null).padStart(13)}`,
    );
  }
  lines.push(`  norms: all interests ${cell(norms.overall.mean)} ± ${cell(norms.overall.std)}; largest / smallest per user ${cell(norms.maxMinRatio, 2)} (${norms.ratioUsers} users with ≥ 2 interests)`);
  lines.push(`  recall@${m.n}: pooled ${cell(recall.pooled, 4)}  oracle (best single interest) ${cell(recall.oracle, 4)}  mean single interest ${cell(recall.meanInterest, 4)}`);
  lines.push(`  overlap of the interests' lists: mean pairwise Jaccard ${cell(overlap.jaccard)} (${overlap.users} users)`);
  if (routing) {
    lines.push(
      `  routing weights (float64 reference, capsules within ${routing.referenceMaxAbsDiff.toExponential(1)} of the GPU's):\n` +
        `    behaviour entropy over interests ${cell(routing.behaviour)} (${routing.behaviourUsers} users); interest entropy over behaviours ${cell(routing.interest)}, ` +
        `effective behaviours ${cell(routing.effectiveBehaviours, 2)} of ${cell(routing.meanLength, 1)} (${routing.interestUsers} users)`,
    );
  }
  return `${lines.join('\n')}\n`;
}

async function diagnoseCommand(flags: { model: string; part: 'test' | 'validation'; n: number; json?: boolean }): Promise<void> {
  if (flags.n < 1 || flags.n > 256) throw new InvalidArgumentError(`--n must be in 1..256 (the top-k limit), got ${flags.n}`);
  const checkpoint = await openCheckpointOption('--model', flags.model);
  const { manifest, weights } = await readModel(checkpoint);
  const baseline = checkpoint.has(BASELINE_MANIFEST_FILE) ? await readModel(checkpoint, BASELINE_FILES) : undefined;
  if (!baseline) log(`no baseline in ${flags.model} (trained with --no-baseline); youtubednn diagnostics omitted`);
  const dataset = await loadData(manifest.data as unknown as DataSpec);
  const users = heldOutUsers(dataset, flags.part);
  const models: Record<string, ModelDiagnostics> = {};
  const ctx = await createContext();
  try {
    const mind = new MindModel(ctx, manifest.config, manifest.shape, manifest.itemFeatures, weights);
    models.mind = await diagnoseModel(mind, users, flags.n);
    mind.dispose();
    if (baseline) {
      const model = new MindModel(ctx, baseline.manifest.config, baseline.manifest.shape, baseline.manifest.itemFeatures, baseline.weights);
      models.youtubednn = await diagnoseModel(model, users, flags.n);
      model.dispose();
    }
  } finally {
    ctx.destroy();
  }
  const split = { ...splitSummary(dataset), evaluated: flags.part, evaluatedUsers: users.users.length };
  if (flags.json) {
    process.stdout.write(`${JSON.stringify({ split, n: flags.n, models })}\n`);
    return;
  }
  process.stdout.write(`diagnosed ${users.users.length} ${flags.part} users\n`);
  for (const [name, m] of Object.entries(models)) process.stdout.write(formatDiagnostics(name, m));
}

async function recommendCommand(flags: { model: string; history: string[]; n: number; json?: boolean; includeHistory?: boolean } & SearchChoice): Promise<void> {
  const { manifest, weights } = await readModel(await openCheckpointOption('--model', flags.model));
  const idOf = new Map(manifest.itemNames.map((name, id) => [name, id]));
  const history = flags.history.map((name) => {
    const id = idOf.get(name);
    if (id === undefined || id === 0) throw new InvalidArgumentError(`--history: item "${name}" is not in the model's catalogue`);
    return id;
  });
  if (history.length === 0) throw new InvalidArgumentError('--history needs at least one item id');
  if (flags.n > MAX_TOP_K) throw new InvalidArgumentError(`--n must be at most ${MAX_TOP_K} (the GPU top-k's limit), got ${flags.n}`);
  // The embedded index when `mind index` built one (pgvector or exact GPU top-k when asked).
  const index = await openItemIndex(flags.model, manifest, flags);
  const ctx = await createContext();
  try {
    const model = new MindModel(ctx, manifest.config, manifest.shape, manifest.itemFeatures, weights);
    // The window the model was trained with: a longer --history is cut to its last L items.
    const recommender = new Recommender(model, manifest.maxLength, { index });
    const recs = await recommender.recommend(history, flags.n, {}, !flags.includeHistory);
    const rows = recs.ids.map((id, r) => ({ rank: r + 1, item: manifest.itemNames[id], score: recs.scores[r], interest: recs.interest[r] }));
    if (rows.length < flags.n) log(`note: --n ${flags.n} is more than the ${rows.length} items the catalogue can offer here; all of them are returned`);
    if (flags.json) process.stdout.write(`${JSON.stringify({ activeInterests: recs.activeK, search: recommender.searchKind, items: rows })}\n`);
    else {
      process.stdout.write(`${recs.activeK} active interests (search: ${recommender.searchKind})\n`);
      for (const r of rows) process.stdout.write(`${String(r.rank).padStart(3)}  ${r.item.padEnd(12)} score ${r.score.toFixed(4)}  interest ${r.interest}\n`);
    }
    recommender.dispose();
    model.dispose();
  } finally {
    ctx.destroy();
    await index?.close();
  }
}

async function exportCommand(flags: { model: string; out: string; format?: ExportFormat[]; users: boolean }): Promise<void> {
  if (flags.format) return exportTablesCommand({ ...flags, format: flags.format });
  const { manifest, weights } = await readModel(await openCheckpointOption('--model', flags.model));
  const ctx = await createContext();
  try {
    const model = new MindModel(ctx, manifest.config, manifest.shape, manifest.itemFeatures, weights);
    const ids = Int32Array.from({ length: manifest.shape.numItems - 1 }, (_, i) => i + 1);
    const d = manifest.config.dim;
    // Built shard by shard past one storage binding (a million items); row 0 is the padding id.
    const vectors = ((await ctx.tidy(() => allItemVectors(model)).read()) as Float32Array).subarray(d);
    // One JSON line per item: the item vectors an external ANN index (FAISS, hnswlib, ...) ingests.
    const lines = Array.from(ids, (id, i) => JSON.stringify({ id: manifest.itemNames[id], vector: Array.from(vectors.subarray(i * d, (i + 1) * d)) }));
    await writeFile(flags.out, `${lines.join('\n')}\n`);
    log(`wrote ${ids.length} item vectors of width ${d} to ${flags.out}`);
    model.dispose();
  } finally {
    ctx.destroy();
  }
}

interface ExperimentFlags extends Omit<TrainFlags, 'json'> {
  json?: string;
  seeds: number[];
  part: 'validation' | 'test';
  variants?: string;
  popularity: boolean;
  baselineConfig?: string;
}

/** JSON with "Infinity" / "-Infinity" strings read as numbers (JSON has no infinities; p = Infinity is hard attention). */
function parseJsonWithInfinity(text: string, what: string): unknown {
  try {
    return JSON.parse(text, (_key, value) => (value === 'Infinity' ? Infinity : value === '-Infinity' ? -Infinity : value));
  } catch (err) {
    throw new InvalidArgumentError(`${what}: not valid JSON (${(err as Error).message})`);
  }
}

/** A variants file entry: settings over the command line's (see `mind experiment --help`). */
interface VariantOverride {
  name: string;
  kind?: 'trained' | 'popularity';
  config?: Partial<MindConfig>;
  training?: { epochs?: number; batchSize?: number; maxSteps?: number; validationUsers?: number };
}

async function readVariants(path: string): Promise<VariantOverride[]> {
  const parsed = parseJsonWithInfinity(await readFile(path, 'utf8'), `--variants ${path}`);
  if (!Array.isArray(parsed) || parsed.length === 0) throw new InvalidArgumentError(`--variants ${path}: expected a non-empty JSON array of {name, config?, training?, kind?}`);
  parsed.forEach((v, i) => {
    if (typeof v !== 'object' || v === null || typeof v.name !== 'string' || v.name.length === 0) {
      throw new InvalidArgumentError(`--variants ${path}: entry ${i} needs a non-empty "name"`);
    }
    if (v.kind !== undefined && v.kind !== 'trained' && v.kind !== 'popularity') {
      throw new InvalidArgumentError(`--variants ${path}: entry ${i} ("${v.name}") has kind "${v.kind}"; use "trained" or "popularity"`);
    }
  });
  return parsed as VariantOverride[];
}

async function experimentCommand(flags: ExperimentFlags): Promise<void> {
  const base = configFrom({ ...flags, seed: flags.seeds[0] }); // each run's seed replaces it
  const training = scheduleFrom(flags);
  const baselineOverrides = flags.baselineConfig ? (parseJsonWithInfinity(flags.baselineConfig, '--baseline-config') as Partial<MindConfig>) : {};
  const overrides: VariantOverride[] = flags.variants
    ? await readVariants(flags.variants)
    : [
        { name: getExtractor(base.extractor).displayName },
        ...(flags.baseline ? [{ name: getExtractor(flags.baseline).displayName, config: { ...baselineConfig(flags.baseline), ...baselineOverrides } }] : []),
        ...(flags.popularity ? [{ name: 'popularity', kind: 'popularity' as const }] : []),
      ];
  const variants: ExperimentVariant[] = overrides.map((v) =>
    v.kind === 'popularity'
      ? { name: v.name, kind: 'popularity' }
      : { name: v.name, config: resolveConfig({ ...base, ...v.config }), training: { ...training, ...v.training } },
  );
  const trained = variants.filter((v) => v.kind !== 'popularity').map((v) => v.name);
  let progress: ProgressReporter | undefined;
  const summary = await runExperiment({
    seeds: flags.seeds,
    variants,
    part: flags.part,
    references: flags.variants ? undefined : trained.slice(0, 1),
    dataFor: (seed) => loadData(dataSpecFrom({ ...flags, seed })),
    onRunStart: ({ index, total, seed, variant }) => {
      progress?.stop();
      log(`[${index + 1}/${total}] seed ${seed}: ${variant}`);
      progress = new ProgressReporter(variant);
    },
    onProgress: (_variant, p) => progress?.update(p),
    // Each finished run is saved at once, so an interrupted experiment keeps what it measured.
    onRunEnd: async (runs) => {
      if (flags.json) await writeFile(flags.json, `${JSON.stringify({ command: process.argv.slice(2), variants, complete: false, runs }, null, 1)}\n`);
    },
  });
  progress?.stop();
  if (flags.json) await writeFile(flags.json, `${JSON.stringify({ command: process.argv.slice(2), variants, complete: true, ...summary }, null, 1)}\n`);
  process.stdout.write(formatExperiment(summary));
}

/** `--pg-table` of the commands that reach pgvector (recommend, index, serve). */
function pgTableOption(): Option {
  return new Option('--pg-table <name>', 'pgvector table').default('mind_items');
}

/** `--pg-connections` of the commands that reach pgvector (recommend, index, serve). */
function pgConnectionsOption(): Option {
  return new Option('--pg-connections <n>', 'most pgvector connections (1 for PGlite)').argParser(int('--pg-connections')).default(4);
}

/** The options that say where the data is and how to read it (train, experiment). */
function withDataOptions(command: Command): Command {
  return command
    .option('--data <file>', 'interactions: CSV/TSV (MovieLens ratings.csv works as is), MovieLens 100k u.data or 1M ratings.dat')
    .addOption(new Option('--format <format>', 'layout of the data files (default: movielens-100k for u.data, movielens-1m for ratings.dat, else csv)').choices(DATA_FORMATS))
    .option('--columns <names>', 'csv --data without a header row: its column names in order, comma separated', columnNames)
    .option('--delimiter <d>', 'csv --data field delimiter, e.g. ";", "|", "::" or \'\\t\' for tab (default: sniffed, comma or tab)', delimiter)
    .option('--item-features <file>', 'item side features: movies.csv, 100k u.item or 1M movies.dat')
    .option('--item-feature-columns <cols>', 'feature columns of --item-features (default: genres)', list)
    .option('--user-features <file>', 'user profile file, e.g. 1M users.dat or 100k u.user')
    .option('--user-categorical <cols>', 'categorical columns of --user-features (MovieLens default: gender,age,occupation)', list)
    .option('--user-dense <cols>', 'numeric columns of --user-features', list)
    .option('--user-column <name>', 'user id column (default: userId/user/user_id)')
    .option('--item-column <name>', 'item id column (default: movieId/itemId/item/item_id)')
    .option('--time-column <name>', 'timestamp column (default: timestamp/time/ts)')
    .option('--min-rating <x>', 'drop interactions rated below x', num('--min-rating'))
    .option('--skip-bad-rows', 'skip malformed rows (counted) instead of stopping at the first')
    .option('--seq-len <L>', 'history window L (default 50; synthetic 20)', int('--seq-len', 1))
    .option('--synthetic-items <n>', `synthetic data (no --data): catalogue size (default ${SYNTHETIC_DEFAULTS.numItems})`, int('--synthetic-items', 2))
    .option('--synthetic-users <n>', `synthetic data (no --data): number of users (default ${SYNTHETIC_DEFAULTS.numUsers})`, int('--synthetic-users', 1))
    .option('--synthetic-categories <n>', `synthetic data (no --data): planted interest categories (default ${SYNTHETIC_DEFAULTS.numCategories})`, int('--synthetic-categories', 1));
}

/**
 * Model and training settings (train, experiment): every option generated from the fields of the
 * model configuration (src/mind/config.ts), the training configuration and the schedule
 * (src/train/config.ts), with their defaults.
 */
function withModelOptions(command: Command): Command {
  return addFieldOptions(addFieldOptions(addFieldOptions(command, MODEL_FIELDS), TRAINING_FIELDS), SCHEDULE_FIELDS);
}

/** `--baseline NAME` and `--no-baseline` (train, experiment): the baseline run compared against. */
function withBaselineOptions(command: Command, what: string): Command {
  return command
    .addOption(new Option('--baseline <name>', `extractor of the baseline ${what} (meanPool: the YouTube DNN with its tuned settings)`).choices(extractorNames()).default('meanPool'))
    .option('--no-baseline', `no baseline ${what}`);
}

export function buildProgram(): Command {
  const program = new Command('mind')
    .description('Train, evaluate and serve MIND multi-interest retrieval on WebGPU')
    .option('--verbose', 'print stack traces with errors')
    .showHelpAfterError();
  withBaselineOptions(withModelOptions(withDataOptions(program
    .command('train')
    .description('train MIND (or --extractor) and a baseline (--baseline, default the single-vector YouTube DNN) on an interaction log, or on synthetic data by default'))), 'to train after the model')
    .option('--seed <n>', 'seed for data split, initialisation, sampling and routing', int('--seed', 0), 1)
    .option('--out <dir>', 'checkpoint directory (replaced as a whole, crash-consistently)', 'mind-model')
    .option('--resume <dir>', 'continue the unfinished run saved in DIR exactly (after Ctrl-C, --max-steps or a crash); writes back to DIR unless --out is given')
    .option('--json', 'print a JSON summary on stdout')
    .action(trainCommand);
  withBaselineOptions(withModelOptions(withDataOptions(program
    .command('experiment')
    .description('train and evaluate MIND (or --extractor), a baseline (--baseline) and popularity over several split seeds; mean ± std and paired differences'))), 'to compare against')
    .requiredOption('--seeds <list>', 'split (and model) seeds, comma separated, e.g. 1,2,3,4,5', intList('--seeds'))
    .addOption(new Option('--part <part>', 'held-out users to report (choose settings on validation)').choices(['test', 'validation']).default('test'))
    .option('--variants <file>', 'JSON array of {name, config?, training?, kind?: "popularity"} run instead of the default three, each over the command line settings')
    .option('--baseline-config <json>', 'settings of the baseline over its defaults (the YouTube DNN\'s tuned ones), e.g. \'{"learningRate":0.01}\'')
    .option('--no-popularity', 'leave out the popularity ranking')
    .option('--json <file>', 'write every run and the summary as JSON')
    .action(experimentCommand);
  program
    .command('eval')
    .description('Recall, HitRate and NDCG @20/@50 of MIND, the baseline and popularity on held-out users')
    .requiredOption('--model <dir>', 'checkpoint directory from `mind train`')
    .addOption(new Option('--part <part>', 'held-out users to evaluate').choices(['test', 'validation']).default('test'))
    .option('--exclude-history', 'remove history items from the retrieved lists')
    .option('--allow-data-change', 'evaluate even if the data files changed since training (warn instead of refusing)')
    .option('--users <n>', 'evaluate a seeded sample of n held-out users (default: all; the same sample for every model, drawn with the training seed; for large catalogues)', int('--users', 1))
    .option('--json', 'print one JSON object')
    .action(evalCommand);
  program
    .command('diagnose')
    .description('per-interest diagnostics on held-out users: interest norms, each interest\'s own recall against the pooled and oracle recall, contributions to the pooled list, list overlap, routing-weight entropies')
    .requiredOption('--model <dir>', 'checkpoint directory from `mind train`')
    .addOption(new Option('--part <part>', 'held-out users to diagnose').choices(['test', 'validation']).default('test'))
    .option('--n <n>', 'list length N of recall@N and of each interest\'s list', int('--n'), 50)
    .option('--json', 'print one JSON object')
    .action(diagnoseCommand);
  program
    .command('recommend')
    .description('top-N items for a history, with the interest that retrieved each')
    .requiredOption('--model <dir>', 'checkpoint directory')
    .requiredOption('--history <ids>', 'item ids as in the training data, oldest first, comma separated; only the last L (the training window) count', list)
    .option('--n <n>', `how many items, 1 to ${MAX_TOP_K} (the whole catalogue when it has fewer)`, int('--n', 1), 20)
    .option('--include-history', 'allow items of the history in the results')
    .option('--json', 'print JSON')
    .option('--exact', 'exact GPU top-k even when the checkpoint has an ANN index (the reference)')
    .option('--pgvector <url>', 'search the items in PostgreSQL/pgvector (loaded by `mind index --pgvector`)')
    .addOption(pgTableOption())
    .addOption(pgConnectionsOption())
    .action(recommendCommand);
  program
    .command('index')
    .description('build the approximate (HNSW, inner product) item index next to the checkpoint, or load the items into pgvector')
    .requiredOption('--model <dir>', 'checkpoint directory')
    .option('--connectivity <m>', 'HNSW graph degree', int('--connectivity'), DEFAULT_ANN_SETTINGS.connectivity)
    .option('--expansion-add <n>', 'HNSW candidate list width while building', int('--expansion-add'), DEFAULT_ANN_SETTINGS.expansionAdd)
    .option('--expansion-search <n>', 'HNSW candidate list width while searching', int('--expansion-search'), DEFAULT_ANN_SETTINGS.expansionSearch)
    .option('--pgvector <url>', 'upsert the items into PostgreSQL/pgvector instead, e.g. postgres://user:pass@127.0.0.1:5432/db')
    .addOption(pgTableOption())
    .addOption(pgConnectionsOption())
    .action(indexCommand);
  program
    .command('serve')
    .description('HTTP service on 127.0.0.1: POST /recommend, GET /health; stops gracefully on SIGTERM')
    .requiredOption('--model <dir>', 'checkpoint directory')
    .option('--port <n>', 'port on 127.0.0.1 (0: any free one)', int('--port'), 8080)
    .option('--exact', 'exact GPU top-k even when the checkpoint has an ANN index')
    .option('--pgvector <url>', 'search the items in PostgreSQL/pgvector (loaded by `mind index --pgvector`)')
    .addOption(pgTableOption())
    .addOption(pgConnectionsOption())
    .option('--max-batch <n>', 'most queued requests answered by one GPU call', int('--max-batch'), 64)
    .option('--max-history <n>', 'most history items a request may send', int('--max-history'), 1000)
    .option('--body-limit <bytes>', 'largest request body', int('--body-limit'), 64 * 1024)
    .option('--log', 'log every request (JSON lines on stdout)')
    .action(serveCommand);
  program
    .command('export')
    .description('write the item vectors (and users\' interest vectors) for other engines: JSON lines, or .npy, .fvecs and Parquet')
    .requiredOption('--model <dir>', 'checkpoint directory')
    .requiredOption('--out <path>', 'output file (JSON lines, without --format) or directory (with --format)')
    .option('--format <list>', `formats into the --out directory, comma separated: ${EXPORT_FORMATS.join(', ')}`, exportFormats)
    .option('--no-users', 'with --format: leave out the users\' interest vectors')
    .action(exportCommand);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (err) {
    const { text, exitCode } = formatError(err, argv.includes('--verbose'));
    process.stderr.write(text);
    return exitCode;
  }
}
