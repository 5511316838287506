/**
 * One table from several `mind experiment --json` files (e.g. one file per seed, or the same
 * seeds run for different variants at different times): their runs are pooled, and every
 * variant must have a run for every seed kept. Prints the same Markdown as `mind experiment`
 * (mean ± std over seeds, paired differences against the references).
 *
 *   npm run combine-experiments -- [--reference MIND]... [--variants a,b] [--seeds 1,2,3] file.json...
 *
 * Seeds default to those every listed variant has; variants to all, in first-seen order.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { type ExperimentRun, formatExperiment, summarise } from '../src/node/experiment.js';

const { values: args, positionals: files } = parseArgs({
  allowPositionals: true,
  options: {
    reference: { type: 'string', multiple: true },
    variants: { type: 'string' },
    seeds: { type: 'string' },
    part: { type: 'string', default: 'test' },
  },
});
if (files.length === 0) throw new Error('give one or more `mind experiment --json` files');
if (args.part !== 'test' && args.part !== 'validation') throw new Error(`--part must be test or validation, got ${args.part}`);

const runs: ExperimentRun[] = [];
for (const file of files) {
  const json = JSON.parse(await readFile(file, 'utf8')) as { part?: string; runs?: ExperimentRun[] };
  if (!Array.isArray(json.runs)) throw new Error(`${file}: no "runs" list; is it a mind experiment --json file?`);
  if (json.part !== undefined && json.part !== args.part) throw new Error(`${file}: its runs report ${json.part} users, not ${args.part}`);
  for (const run of json.runs) {
    if (runs.some((r) => r.seed === run.seed && r.variant === run.variant)) throw new Error(`${file}: ${run.variant} seed ${run.seed} is in two files`);
    runs.push(run);
  }
}
const variants = args.variants ? args.variants.split(',') : [...new Set(runs.map((r) => r.variant))];
const seedsOf = (variant: string) => new Set(runs.filter((r) => r.variant === variant).map((r) => r.seed));
const seeds = args.seeds
  ? args.seeds.split(',').map(Number)
  : [...seedsOf(variants[0])].filter((seed) => variants.every((v) => seedsOf(v).has(seed))).sort((a, b) => a - b);
const kept = runs.filter((r) => seeds.includes(r.seed) && variants.includes(r.variant));
const users = seeds.map((seed) => kept.find((r) => r.seed === seed)!.perUserRecall.length);
const summary = summarise({ part: args.part, seeds, variants: variants.map((name) => ({ name })), references: args.reference ?? [variants[0]] }, kept, users, {});
process.stdout.write(formatExperiment(summary));
