/**
 * Multi-seed experiments: every model variant trained and evaluated on the same user splits,
 * one split per seed, and summarised as mean ± std per metric and as paired differences
 * against the reference variants (src/serve/statistics.ts). This is what every quality table
 * in README.md and docs/ is made with (`mind experiment`).
 *
 * Protocol (SPEC §5): for seed s the data set is rebuilt with split seed s, and every trained
 * variant uses model seed s too, so seeds vary the split, the initialisation, the batches and
 * the negatives together. Each variant keeps its best epoch by validation recall@50 (the
 * trainer's rule); test users are only read when `part` is 'test'.
 */
import { createContext } from '../autograd/context.js';
import { heldOutUsers } from '../data/batches.js';
import type { Dataset } from '../data/dataset.js';
import type { MindConfig } from '../mind/config.js';
import { type RankingMetrics, rankingMetrics } from '../serve/metrics.js';
import { evaluateModel, popularityRecommendations, recommendForUsers, targetSets } from '../serve/retrieval.js';
import { type PairedDifference, type Spread, pairedDifference, spread } from '../serve/statistics.js';
import { type TrainProgress, train } from '../train/trainer.js';

/** One model in an experiment: a trained MIND/baseline configuration, or the popularity ranking. */
export type ExperimentVariant =
  | {
      name: string;
      kind?: 'trained';
      /** Model settings over DEFAULT_CONFIG (the seed is set per run). */
      config: Partial<MindConfig>;
      /** Training settings. */
      training: { epochs: number; batchSize: number; maxSteps?: number; validationUsers?: number };
    }
  | { name: string; kind: 'popularity' };

export interface ExperimentOptions {
  /** Split (and model) seeds, each a non-negative safe integer. */
  seeds: readonly number[];
  variants: readonly ExperimentVariant[];
  /** The data set for a split seed (files or the synthetic generator). */
  dataFor: (seed: number) => Promise<Dataset>;
  /** Which held-out users the summary reports; 'validation' never reads the test users. */
  part: 'validation' | 'test';
  /** Cut-offs N of the metrics (default [20, 50]). */
  ns?: readonly number[];
  /** Names of the variants every other variant is compared with (default: the first variant). */
  references?: readonly string[];
  onRunStart?: (run: { index: number; total: number; seed: number; variant: string }) => void;
  /** Called with every finished run so far (e.g. to save them: a long experiment cut short keeps what it measured). */
  onRunEnd?: (runs: readonly ExperimentRun[]) => void | Promise<void>;
  onProgress?: (variant: string, progress: TrainProgress) => void;
}

/** One (seed, variant) result. */
export interface ExperimentRun {
  seed: number;
  variant: string;
  /** Metrics on `part`'s users. */
  metrics: RankingMetrics;
  /** Recall at the largest N of each evaluated user, in the order of `ExperimentSummary.userNames`' list for this seed. */
  perUserRecall: number[];
  /** Validation metrics of the kept epoch (trained variants). */
  validation?: RankingMetrics;
  bestEpoch?: number;
  steps?: number;
  seconds?: number;
}

export interface ExperimentSummary {
  part: 'validation' | 'test';
  seeds: number[];
  /** Users evaluated per seed. */
  users: number[];
  /** seed → the evaluated users' ids as the data names them, in evaluation order. */
  userNames: Record<number, string[]>;
  runs: ExperimentRun[];
  /** variant → metric → mean and std over seeds. */
  spreads: Record<string, Record<string, Spread>>;
  /** `${variant} − ${reference}` → metric → paired difference over seeds. */
  differences: Record<string, Record<string, PairedDifference>>;
}

function checkOptions(options: ExperimentOptions): void {
  if (options.seeds.length === 0) throw new RangeError('seeds: give at least one split seed');
  options.seeds.forEach((s) => {
    if (!Number.isSafeInteger(s) || s < 0) throw new RangeError(`seeds: ${s} is not a non-negative integer`);
  });
  if (new Set(options.seeds).size !== options.seeds.length) throw new RangeError(`seeds: ${options.seeds.join(',')} repeats a seed`);
  if (options.variants.length === 0) throw new RangeError('variants: give at least one model');
  const names = options.variants.map((v) => v.name);
  if (new Set(names).size !== names.length) throw new RangeError(`variants: names must be distinct, got ${names.join(', ')}`);
  for (const ref of options.references ?? []) {
    if (!names.includes(ref)) throw new RangeError(`references: no variant named "${ref}" (variants: ${names.join(', ')})`);
  }
}

/** Trains and evaluates every variant on every seed's split; see the module comment for the protocol. */
export async function runExperiment(options: ExperimentOptions): Promise<ExperimentSummary> {
  checkOptions(options);
  const ns = options.ns ?? [20, 50];
  const runs: ExperimentRun[] = [];
  const users: number[] = [];
  const userNames: Record<number, string[]> = {};
  const total = options.seeds.length * options.variants.length;
  const ctx = await createContext();
  try {
    for (const seed of options.seeds) {
      const dataset = await options.dataFor(seed);
      const evaluated = heldOutUsers(dataset, options.part);
      if (evaluated.users.length === 0) throw new RangeError(`seed ${seed}: the split has no ${options.part} users to evaluate`);
      users.push(evaluated.users.length);
      const targets = targetSets(evaluated);
      const maxN = Math.max(...ns);
      userNames[seed] = Array.from(evaluated.users, (u) => dataset.users[u].name);
      const scored = (lists: ArrayLike<number>[]) => ({
        metrics: rankingMetrics(lists, targets, ns),
        perUserRecall: lists.map((list, u) => rankingMetrics([list], [targets[u]], [maxN])[`recall@${maxN}`]),
      });
      for (const variant of options.variants) {
        options.onRunStart?.({ index: runs.length, total, seed, variant: variant.name });
        if (variant.kind === 'popularity') {
          runs.push({ seed, variant: variant.name, ...scored(popularityRecommendations(dataset.itemCounts, evaluated, maxN)) });
          await options.onRunEnd?.(runs);
          continue;
        }
        const result = await train(ctx, dataset, { ...variant.config, seed }, {
          ...variant.training,
          evaluate: evaluateModel,
          onProgress: (p) => options.onProgress?.(variant.name, p),
        });
        const validation = result.validation.find((v) => v.epoch === result.bestEpoch)?.metrics;
        const lists = (await recommendForUsers(result.model, evaluated, maxN)).map((r) => r.ids);
        runs.push({ seed, variant: variant.name, ...scored(lists), validation, bestEpoch: result.bestEpoch, steps: result.steps, seconds: result.seconds });
        result.model.dispose();
        await options.onRunEnd?.(runs);
      }
    }
  } finally {
    ctx.destroy();
  }
  return summarise(options, runs, users, userNames);
}

/**
 * Mean ± std per variant and metric over `options.seeds`, and the paired differences of each
 * reference against every other variant over the same seeds. Every (seed, variant) pair must have
 * a run in `runs` (throws an Error naming the pair otherwise). Also used to combine the runs of
 * several `mind experiment --json` files (scripts/combine-experiments.ts).
 */
export function summarise(
  options: Pick<ExperimentOptions, 'part' | 'seeds' | 'references'> & { variants: readonly { name: string }[] },
  runs: ExperimentRun[],
  users: number[],
  userNames: Record<number, string[]>,
): ExperimentSummary {
  for (const seed of options.seeds) {
    for (const v of options.variants) {
      if (!runs.some((r) => r.seed === seed && r.variant === v.name)) throw new Error(`summarise: no run of ${v.name} for seed ${seed}`);
    }
  }
  const metricNames = Object.keys(runs[0].metrics);
  const valuesOf = (variant: string, metric: string) =>
    options.seeds.map((seed) => runs.find((r) => r.seed === seed && r.variant === variant)!.metrics[metric]);
  const spreads: ExperimentSummary['spreads'] = {};
  for (const v of options.variants) {
    spreads[v.name] = Object.fromEntries(metricNames.map((m) => [m, spread(valuesOf(v.name, m))]));
  }
  const differences: ExperimentSummary['differences'] = {};
  const references = options.references ?? [options.variants[0].name];
  for (const ref of references) {
    for (const v of options.variants) {
      if (v.name === ref) continue;
      differences[`${ref} − ${v.name}`] = Object.fromEntries(metricNames.map((m) => [m, pairedDifference(valuesOf(ref, m), valuesOf(v.name, m))]));
    }
  }
  return { part: options.part, seeds: [...options.seeds], users, userNames, runs, spreads, differences };
}

/** The summary as Markdown tables: mean ± std per variant, then the paired differences. */
export function formatExperiment(summary: ExperimentSummary, metrics: readonly string[] = ['recall@20', 'recall@50', 'ndcg@20', 'ndcg@50', 'hitrate@20', 'hitrate@50']): string {
  const f = (x: number) => x.toFixed(4);
  const lines = [
    `${summary.part} users per seed: ${summary.users.join(', ')}; seeds ${summary.seeds.join(', ')}; mean ± std over seeds`,
    '',
    `| model | ${metrics.join(' | ')} |`,
    `| --- | ${metrics.map(() => '---').join(' | ')} |`,
    ...Object.entries(summary.spreads).map(([name, m]) => `| ${name} | ${metrics.map((k) => `${f(m[k].mean)} ± ${f(m[k].std)}`).join(' | ')} |`),
  ];
  if (Object.keys(summary.differences).length > 0) {
    lines.push(
      '',
      'Paired differences over the same splits: mean [95% t interval] (relative to the second model)',
      '',
      `| difference | ${metrics.join(' | ')} |`,
      `| --- | ${metrics.map(() => '---').join(' | ')} |`,
      ...Object.entries(summary.differences).map(
        ([name, m]) =>
          `| ${name} | ${metrics.map((k) => `${m[k].mean >= 0 ? '+' : ''}${f(m[k].mean)} [${f(m[k].low)}, ${f(m[k].high)}] (${m[k].mean >= 0 ? '+' : ''}${(100 * m[k].relative).toFixed(1)}%)`).join(' | ')} |`,
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}
