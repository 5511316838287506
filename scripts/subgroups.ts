/**
 * Where does one model win over another? Splits the evaluated users of a `mind experiment --json`
 * run into terciles of history diversity (the number of distinct item-feature values, e.g.
 * MovieLens genres, among the items the model saw) and reports each model's recall per tercile
 * and the paired per-user difference of two models with its 95% t interval.
 *
 *   npm run subgroups -- --json runs/final.json --data ratings.csv --item-features movies.csv [--seq-len 50] \
 *     [--a MIND] [--b "YouTube DNN"]
 *
 * The data flags must be those of the experiment: the split of each seed is rebuilt and checked
 * against the user ids the experiment stored.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { heldOutUsers } from '../src/data/batches.js';
import { loadData } from '../src/node/datasets.js';
import { pairedDifference } from '../src/serve/statistics.js';

const { values: args } = parseArgs({
  options: {
    json: { type: 'string' },
    data: { type: 'string' },
    'item-features': { type: 'string' },
    'seq-len': { type: 'string', default: '50' },
    a: { type: 'string', default: 'MIND' },
    b: { type: 'string', default: 'YouTube DNN' },
  },
});
if (!args.json || !args.data || !args['item-features']) throw new Error('--json, --data and --item-features are required');

interface Run {
  seed: number;
  variant: string;
  perUserRecall: number[];
}
const summary = JSON.parse(await readFile(args.json, 'utf8')) as { part: 'validation' | 'test'; seeds: number[]; userNames: Record<string, string[]>; runs: Run[] };
const variants = [...new Set(summary.runs.map((r) => r.variant))];
for (const name of [args.a, args.b]) if (!variants.includes(name!)) throw new Error(`no variant "${name}" in ${args.json} (${variants.join(', ')})`);

/** One evaluated user of one seed: its history diversity and every variant's recall. */
const rows: { diversity: number; recall: Record<string, number> }[] = [];
for (const seed of summary.seeds) {
  const dataset = await loadData({ kind: 'files', interactions: args.data, itemFeatures: { path: args['item-features'] }, maxLength: Number(args['seq-len']), seed });
  const users = heldOutUsers(dataset, summary.part);
  const names = Array.from(users.users, (u) => dataset.users[u].name);
  if (names.join(',') !== summary.userNames[seed].join(',')) throw new Error(`seed ${seed}: the rebuilt split differs from the experiment's; pass the experiment's data flags`);
  const features = dataset.itemFeatures!;
  const L = dataset.maxLength;
  names.forEach((_, u) => {
    const seen = new Set<number>();
    for (const item of users.histories.subarray(u * L, u * L + users.lengths[u])) {
      for (let k = features.offsets[item]; k < features.offsets[item + 1]; k++) seen.add(features.values[k]);
    }
    const recall: Record<string, number> = {};
    for (const r of summary.runs.filter((r) => r.seed === seed)) recall[r.variant] = r.perUserRecall[u];
    rows.push({ diversity: seen.size, recall });
  });
}

const sorted = [...rows].sort((x, y) => x.diversity - y.diversity);
const f = (x: number) => x.toFixed(4);
console.log(`${summary.part} users of seeds ${summary.seeds.join(', ')} (${rows.length} in all), by terciles of distinct feature values in the history\n`);
console.log(`| tercile | users | distinct values | ${variants.join(' | ')} | ${args.a} − ${args.b} [95% t interval] |`);
console.log(`| --- | --- | --- | ${variants.map(() => '---').join(' | ')} | --- |`);
for (let t = 0; t < 3; t++) {
  const part = sorted.slice(Math.floor((t * sorted.length) / 3), Math.floor(((t + 1) * sorted.length) / 3));
  const mean = (v: string) => part.reduce((s, r) => s + r.recall[v], 0) / part.length;
  const d = pairedDifference(part.map((r) => r.recall[args.a!]), part.map((r) => r.recall[args.b!]));
  console.log(
    `| ${['low', 'middle', 'high'][t]} | ${part.length} | ${part[0].diversity}–${part[part.length - 1].diversity} | ${variants.map((v) => f(mean(v))).join(' | ')} | ${d.mean >= 0 ? '+' : ''}${f(d.mean)} [${f(d.low)}, ${f(d.high)}] |`,
  );
}
