/**
 * The `mind` command: train, eval, experiment, recommend, index, serve, export.
 *   mind train [--data ratings.csv] [--item-features movies.csv] ... [--out DIR]
 *   mind eval --model DIR [--json]
 *   mind recommend --model DIR --history id,id,... [--n 20] [--json] [--exact | --pgvector URL]
 *   mind index --model DIR [--pgvector URL]
 *   mind serve --model DIR [--port 8080]
 *   mind export --model DIR --out FILE  |  --out DIR --format npy,fvecs,parquet
 */
import { readFile, writeFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { createContext } from './autograd/context.js';
import { DataError } from './data/errors.js';
import { heldOutUsers } from './data/batches.js';
import type { Dataset } from './data/dataset.js';
import { type DataFormat, DATA_FORMATS, detectFormat, MOVIELENS_LAYOUTS } from './data/formats.js';
import { BASELINE_CONFIG, type MindConfig, resolveConfig } from './mind/config.js';
import { type ExperimentVariant, formatExperiment, runExperiment } from './node/experiment.js';
import { MindModel, modelShapeOf } from './mind/model.js';
import { type DataSpec, absoluteDataSpec, loadData } from './node/datasets.js';
import { BASELINE_MANIFEST_FILE, BASELINE_WEIGHTS_FILE, loadCheckpoint, saveCheckpoint } from './node/checkpoint-io.js';
import { ProgressReporter } from './node/progress.js';
import { rankingMetrics } from './serve/metrics.js';
import { type CapsulePurity, capsulePurity } from './serve/purity.js';
import { Recommender } from './serve/recommender.js';
import { DEFAULT_ANN_SETTINGS } from './serve/ann-index.js';
import { EXPORT_FORMATS, type ExportFormat } from './node/exports.js';
import { exportTablesCommand, indexCommand, serveCommand } from './node/serve-commands.js';
import { type SearchChoice, openItemIndex } from './node/serving.js';
import { evaluateModel, popularityRecommendations, targetSets } from './serve/retrieval.js';
import type { CheckpointManifest } from './train/checkpoint.js';
import { train } from './train/trainer.js';
import { parameterSpecs } from './mind/parameters.js';

function int(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n)) throw new InvalidArgumentError(`${name} must be an integer, got "${value}"`);
    return n;
  };
}

function num(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (Number.isNaN(n)) throw new InvalidArgumentError(`${name} must be a number, got "${value}"`);
    return n;
  };
}

function list(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

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

function intList(name: string) {
  return (value: string) => list(value).map((v) => int(name)(v));
}

/**
 * Synthetic defaults: small enough to train MIND and the baseline in minutes on two CPU cores,
 * and many categories for d = 64 with at least 3 interests per user, so that one vector cannot
 * point at every interest at once (with few categories a single vector covers them all).
 */
const SYNTHETIC_DEFAULTS = { numItems: 2000, numCategories: 100, numUsers: 2000, minInterests: 3, maxInterests: 6, maxLength: 20 };

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
  k: number;
  dim: number;
  iterations: number;
  p: number;
  attentionMode: 'pow' | 'scale';
  candidateScore: 'labelAware' | 'maxInterest';
  hardNegativeBeta: number;
  dynamicK: boolean;
  softmaxOver: 'interests' | 'behaviors';
  routingGradient: 'stop' | 'full';
  hidden: number[];
  activation: 'relu' | 'linear';
  dropout: number;
  profileDim: number;
  l2: number;
  numSampled: number;
  sampler: 'uniform' | 'logUniform' | 'unigram';
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  maxSteps?: number;
  baseline: boolean;
  out: string;
  json?: boolean;
}

function dataSpecFrom(flags: Omit<TrainFlags, 'json'>): DataSpec {
  if (!flags.data) {
    return { kind: 'synthetic', options: { seed: flags.seed, ...SYNTHETIC_DEFAULTS, ...(flags.seqLen ? { maxLength: flags.seqLen } : {}) } };
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

function configFrom(flags: Omit<TrainFlags, 'json'>): MindConfig {
  return resolveConfig({
    dim: flags.dim, kMax: flags.k, iterations: flags.iterations, attentionPower: flags.p, attentionMode: flags.attentionMode, candidateScore: flags.candidateScore, hardNegativeBeta: flags.hardNegativeBeta,
    dynamicK: flags.dynamicK, softmaxOver: flags.softmaxOver, routingGradient: flags.routingGradient, hiddenUnits: flags.hidden,
    activation: flags.activation, dropout: flags.dropout, profileDim: flags.profileDim, l2Embedding: flags.l2,
    numSampled: flags.numSampled, sampler: flags.sampler, learningRate: flags.lr, seed: flags.seed,
  });
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

function manifestFor(dataset: Dataset, config: MindConfig, spec: DataSpec, training: Record<string, unknown>): CheckpointManifest {
  return {
    format: 'mind-webgpu/1',
    config,
    shape: modelShapeOf(dataset),
    itemNames: dataset.itemNames,
    itemFeatures: dataset.itemFeatures,
    userFeatures: dataset.userFeatures,
    maxLength: dataset.maxLength,
    data: spec as unknown as Record<string, unknown>,
    training,
  };
}

function shapesOf(manifest: CheckpointManifest): Map<string, number[]> {
  return new Map(parameterSpecs(manifest.config, manifest.shape).map((s) => [s.name, s.shape]));
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

function formatMetrics(metrics: Record<string, number>): string {
  return Object.entries(metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join('  ');
}

async function trainCommand(flags: TrainFlags): Promise<void> {
  const spec = dataSpecFrom(flags);
  const config = configFrom(flags);
  log(spec.kind === 'synthetic' ? 'data: synthetic planted-interest data set (no --data given)' : `data: ${spec.interactions} (${spec.format})`);
  const dataset = await loadData(spec);
  log(`users ${dataset.users.length} (train ${dataset.split.train.length}, validation ${dataset.split.validation.length}, test ${dataset.split.test.length}), items ${dataset.numItems - 1}, L ${dataset.maxLength}`);
  const ctx = await createContext();
  try {
    log(`device: ${[ctx.gpu.adapterInfo.vendor, ctx.gpu.adapterInfo.architecture, ctx.gpu.adapterInfo.description].filter(Boolean).join(' ')}`);
    const runs: { name: string; encoder: MindConfig['encoder']; files: { manifest: string; weights: string } }[] = [
      { name: 'MIND', encoder: 'routing', files: { manifest: 'config.json', weights: 'model.safetensors' } },
    ];
    if (flags.baseline) runs.push({ name: 'YouTube DNN baseline (mean pooling)', encoder: 'meanPool', files: { manifest: BASELINE_MANIFEST_FILE, weights: BASELINE_WEIGHTS_FILE } });
    const summary: Record<string, unknown> = {};
    for (const run of runs) {
      log(`training ${run.name}`);
      const progress = new ProgressReporter(run.name);
      const result = await train(ctx, dataset, run.encoder === 'routing' ? config : { ...config, ...BASELINE_CONFIG }, {
        epochs: flags.epochs, batchSize: flags.batchSize, maxSteps: flags.maxSteps, onProgress: (p) => progress.update(p),
      });
      progress.stop();
      const best = result.validation.find((v) => v.epoch === result.bestEpoch)?.metrics ?? {};
      log(`${run.name}: ${result.steps} steps in ${result.seconds.toFixed(1)} s; best epoch ${result.bestEpoch}: ${formatMetrics(best)}`);
      const training = { steps: result.steps, seconds: result.seconds, bestEpoch: result.bestEpoch, validation: result.validation, finalLoss: result.losses.at(-1)?.loss };
      const manifest = manifestFor(dataset, result.config, spec, training);
      await saveCheckpoint(flags.out, manifest, result.bestWeights, shapesOf(manifest), run.files);
      summary[run.encoder === 'routing' ? 'mind' : 'youtubednn'] = training;
      result.model.dispose();
    }
    log(`saved to ${flags.out}`);
    if (flags.json) process.stdout.write(`${JSON.stringify({ split: splitSummary(dataset), training: summary })}\n`);
  } finally {
    ctx.destroy();
  }
}

async function evalCommand(flags: { model: string; json?: boolean; part: 'test' | 'validation'; excludeHistory?: boolean }): Promise<void> {
  const { manifest, weights } = await loadCheckpoint(flags.model);
  const dataset = await loadData(manifest.data as unknown as DataSpec);
  const users = heldOutUsers(dataset, flags.part);
  const ns = [20, 50];
  const ctx = await createContext();
  const metrics: Record<string, Record<string, number>> = {};
  const capsules: Record<string, CapsulePurity> = {};
  try {
    const options = { excludeHistory: flags.excludeHistory };
    const mind = new MindModel(ctx, manifest.config, manifest.shape, manifest.itemFeatures, weights);
    metrics.mind = await evaluateModel(mind, users, ns, options);
    if (dataset.groundTruth) capsules.mind = await capsulePurity(mind, users, dataset.groundTruth);
    mind.dispose();
    let baseline: Awaited<ReturnType<typeof loadCheckpoint>> | undefined;
    try {
      baseline = await loadCheckpoint(flags.model, { manifest: BASELINE_MANIFEST_FILE, weights: BASELINE_WEIGHTS_FILE });
    } catch {
      log(`no baseline in ${flags.model} (trained with --no-baseline); youtubednn metrics omitted`);
    }
    if (baseline) {
      const model = new MindModel(ctx, baseline.manifest.config, baseline.manifest.shape, baseline.manifest.itemFeatures, baseline.weights);
      metrics.youtubednn = await evaluateModel(model, users, ns, options);
      if (dataset.groundTruth) capsules.youtubednn = await capsulePurity(model, users, dataset.groundTruth);
      model.dispose();
    }
  } finally {
    ctx.destroy();
  }
  metrics.popularity = rankingMetrics(popularityRecommendations(dataset.itemCounts, users, 50, flags.excludeHistory), targetSets(users), ns);
  const split = { ...splitSummary(dataset), evaluated: flags.part, evaluatedUsers: users.users.length };
  const report = dataset.groundTruth ? { split, metrics, capsules } : { split, metrics };
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
    return;
  }
  process.stdout.write(`evaluated ${users.users.length} ${flags.part} users\n`);
  for (const [name, m] of Object.entries(metrics)) process.stdout.write(`${name.padEnd(11)} ${formatMetrics(m)}\n`);
  for (const [name, c] of Object.entries(capsules)) {
    process.stdout.write(`${name.padEnd(11)} capsule purity ${c.purity.toFixed(3)}  planted-interest coverage ${c.coverage.toFixed(3)}  active interests ${c.meanActiveInterests.toFixed(2)}\n`);
  }
}

async function recommendCommand(flags: { model: string; history: string[]; n: number; json?: boolean; includeHistory?: boolean } & SearchChoice): Promise<void> {
  const { manifest, weights } = await loadCheckpoint(flags.model);
  const idOf = new Map(manifest.itemNames.map((name, id) => [name, id]));
  const history = flags.history.map((name) => {
    const id = idOf.get(name);
    if (id === undefined || id === 0) throw new InvalidArgumentError(`--history: item "${name}" is not in the model's catalogue`);
    return id;
  });
  if (history.length === 0) throw new InvalidArgumentError('--history needs at least one item id');
  // The embedded index when `mind index` built one (pgvector or exact GPU top-k when asked).
  const index = await openItemIndex(flags.model, manifest, flags);
  const ctx = await createContext();
  try {
    const model = new MindModel(ctx, manifest.config, manifest.shape, manifest.itemFeatures, weights);
    // The window the model was trained with: a longer --history is cut to its last L items.
    const recommender = new Recommender(model, manifest.maxLength, { index });
    const recs = await recommender.recommend(history, flags.n, {}, !flags.includeHistory);
    const rows = recs.ids.map((id, r) => ({ rank: r + 1, item: manifest.itemNames[id], score: recs.scores[r], interest: recs.interest[r] }));
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
  const { manifest, weights } = await loadCheckpoint(flags.model);
  const ctx = await createContext();
  try {
    const model = new MindModel(ctx, manifest.config, manifest.shape, manifest.itemFeatures, weights);
    const ids = Int32Array.from({ length: manifest.shape.numItems - 1 }, (_, i) => i + 1);
    const vectors = (await ctx.tidy(() => ctx.noGrad(() => model.itemVectors(ids))).read()) as Float32Array;
    const d = manifest.config.dim;
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
  training?: { epochs?: number; batchSize?: number; maxSteps?: number };
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
  const training = { epochs: flags.epochs, batchSize: flags.batchSize, maxSteps: flags.maxSteps };
  const baselineOverrides = flags.baselineConfig ? (parseJsonWithInfinity(flags.baselineConfig, '--baseline-config') as Partial<MindConfig>) : {};
  const overrides: VariantOverride[] = flags.variants
    ? await readVariants(flags.variants)
    : [
        { name: 'MIND' },
        ...(flags.baseline ? [{ name: 'YouTube DNN', config: { ...BASELINE_CONFIG, ...baselineOverrides } }] : []),
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
  });
  progress?.stop();
  if (flags.json) await writeFile(flags.json, `${JSON.stringify({ command: process.argv.slice(2), variants, ...summary }, null, 1)}\n`);
  process.stdout.write(formatExperiment(summary));
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
    .option('--seq-len <L>', 'history window L (default 50; synthetic 20)', int('--seq-len'));
}

/** Model and training settings (train, experiment); defaults are DEFAULT_CONFIG's. */
function withModelOptions(command: Command): Command {
  return command
    .option('--k <n>', 'most interests per user (kMax)', int('--k'), 4)
    .option('--dim <d>', 'embedding and interest width', int('--dim'), 64)
    .option('--iterations <r>', 'routing iterations', int('--iterations'), 3)
    .option('--p <x>', 'label-aware attention power (Infinity = hard)', num('--p'), 1)
    .addOption(new Option('--candidate-score <how>', 'training score of a candidate item: through label-aware attention (the paper) or its best interest (the serving score)').choices(['labelAware', 'maxInterest']).default('labelAware'))
    .option('--hard-negative-beta <b>', 'REMI interest-aware hard negatives: weight negatives by softmax(b·logit); 0 = plain sampled softmax', num('--hard-negative-beta'), 0)
    .addOption(new Option('--attention-mode <mode>', 'attention exponent mode').choices(['pow', 'scale']).default('pow'))
    .option('--no-dynamic-k', 'use all K interests for every user instead of K_b = log2(len)')
    .addOption(new Option('--softmax-over <axis>', 'routing softmax axis').choices(['interests', 'behaviors']).default('interests'))
    .addOption(new Option('--routing-gradient <g>', 'gradient through routing').choices(['stop', 'full']).default('stop'))
    .option('--hidden <units>', 'user DNN hidden widths, comma separated', intList('--hidden'), [64])
    .addOption(new Option('--activation <f>', 'user DNN activation').choices(['relu', 'linear']).default('relu'))
    .option('--dropout <x>', 'dropout on the DNN hidden layer', num('--dropout'), 0)
    .option('--profile-dim <n>', 'width of each user categorical embedding', int('--profile-dim'), 16)
    .option('--l2 <x>', 'L2 on the embedding rows a step touches', num('--l2'), 0)
    .option('--num-sampled <s>', 'negatives per batch', int('--num-sampled'), 256)
    .addOption(new Option('--sampler <kind>', 'negative sampler').choices(['uniform', 'logUniform', 'unigram']).default('logUniform'))
    .option('--epochs <n>', 'epochs', int('--epochs'), 3)
    .option('--batch-size <b>', 'samples per step', int('--batch-size'), 256)
    .option('--lr <x>', 'Adam learning rate', num('--lr'), 0.005)
    .option('--max-steps <n>', 'stop after this many steps', int('--max-steps'));
}

export function buildProgram(): Command {
  const program = new Command('mind').description('Train, evaluate and serve MIND multi-interest retrieval on WebGPU').showHelpAfterError();
  withModelOptions(withDataOptions(program
    .command('train')
    .description('train MIND (and the single-vector baseline) on an interaction log, or on synthetic data by default')))
    .option('--seed <n>', 'seed for data split, initialisation, sampling and routing', int('--seed'), 1)
    .option('--no-baseline', 'do not train the single-vector baseline')
    .option('--out <dir>', 'checkpoint directory', 'mind-model')
    .option('--json', 'print a JSON summary on stdout')
    .action(trainCommand);
  withModelOptions(withDataOptions(program
    .command('experiment')
    .description('train and evaluate MIND, the single-vector baseline and popularity over several split seeds; mean ± std and paired differences')))
    .requiredOption('--seeds <list>', 'split (and model) seeds, comma separated, e.g. 1,2,3,4,5', intList('--seeds'))
    .addOption(new Option('--part <part>', 'held-out users to report (choose settings on validation)').choices(['test', 'validation']).default('test'))
    .option('--variants <file>', 'JSON array of {name, config?, training?, kind?: "popularity"} run instead of the default three, each over the command line settings')
    .option('--baseline-config <json>', 'settings of the YouTube DNN baseline over its tuned defaults, e.g. \'{"learningRate":0.01}\'')
    .option('--no-baseline', 'leave out the single-vector baseline')
    .option('--no-popularity', 'leave out the popularity ranking')
    .option('--json <file>', 'write every run and the summary as JSON')
    .action(experimentCommand);
  program
    .command('eval')
    .description('Recall, HitRate and NDCG @20/@50 of MIND, the baseline and popularity on held-out users')
    .requiredOption('--model <dir>', 'checkpoint directory from `mind train`')
    .addOption(new Option('--part <part>', 'held-out users to evaluate').choices(['test', 'validation']).default('test'))
    .option('--exclude-history', 'remove history items from the retrieved lists')
    .option('--json', 'print one JSON object')
    .action(evalCommand);
  program
    .command('recommend')
    .description('top-N items for a history, with the interest that retrieved each')
    .requiredOption('--model <dir>', 'checkpoint directory')
    .requiredOption('--history <ids>', 'item ids as in the training data, oldest first, comma separated; only the last L (the training window) count', list)
    .option('--n <n>', 'how many items', int('--n'), 20)
    .option('--include-history', 'allow items of the history in the results')
    .option('--json', 'print JSON')
    .option('--exact', 'exact GPU top-k even when the checkpoint has an ANN index (the reference)')
    .option('--pgvector <url>', 'search the items in PostgreSQL/pgvector (loaded by `mind index --pgvector`)')
    .option('--pg-table <name>', 'pgvector table', 'mind_items')
    .option('--pg-connections <n>', 'most pgvector connections (1 for PGlite)', int('--pg-connections'), 4)
    .action(recommendCommand);
  program
    .command('index')
    .description('build the approximate (HNSW, inner product) item index next to the checkpoint, or load the items into pgvector')
    .requiredOption('--model <dir>', 'checkpoint directory')
    .option('--connectivity <m>', 'HNSW graph degree', int('--connectivity'), DEFAULT_ANN_SETTINGS.connectivity)
    .option('--expansion-add <n>', 'HNSW candidate list width while building', int('--expansion-add'), DEFAULT_ANN_SETTINGS.expansionAdd)
    .option('--expansion-search <n>', 'HNSW candidate list width while searching', int('--expansion-search'), DEFAULT_ANN_SETTINGS.expansionSearch)
    .option('--pgvector <url>', 'upsert the items into PostgreSQL/pgvector instead, e.g. postgres://user:pass@127.0.0.1:5432/db')
    .option('--pg-table <name>', 'pgvector table', 'mind_items')
    .option('--pg-connections <n>', 'most pgvector connections (1 for PGlite)', int('--pg-connections'), 4)
    .action(indexCommand);
  program
    .command('serve')
    .description('HTTP service on 127.0.0.1: POST /recommend, GET /health; stops gracefully on SIGTERM')
    .requiredOption('--model <dir>', 'checkpoint directory')
    .option('--port <n>', 'port on 127.0.0.1 (0: any free one)', int('--port'), 8080)
    .option('--exact', 'exact GPU top-k even when the checkpoint has an ANN index')
    .option('--pgvector <url>', 'search the items in PostgreSQL/pgvector (loaded by `mind index --pgvector`)')
    .option('--pg-table <name>', 'pgvector table', 'mind_items')
    .option('--pg-connections <n>', 'most pgvector connections (1 for PGlite)', int('--pg-connections'), 4)
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
    const message = err instanceof DataError || err instanceof RangeError || err instanceof InvalidArgumentError ? err.message : (err as Error).stack ?? String(err);
    process.stderr.write(`mind: ${message}\n`);
    return 1;
  }
}
