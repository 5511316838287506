/**
 * `npm run bench:scale [-- --items 10000,100000] [--quick] [--max-steps S] [--eval-users U]
 * [--validation-users V] [--out DIR] [--replot]`: how `mind train` and `mind eval` scale with the
 * catalogue size N, each N in a fresh process.
 *
 * Per N: `mind train` on the synthetic planted-interest data set, MIND alone (`--no-baseline`),
 * `--max-steps S` (default 200; 50 with `--quick`) within one epoch, validating at the end on a
 * seeded sample of V validation users (`--validation-users`, default 256), then `mind eval` on a
 * seeded sample of U test users (`--users`, default 500): with a fixed number of users the
 * evaluation's cost is proportional to N (scoring every held-out user would grow as users × N,
 * hours at a million items). The generator keeps only the items some user draws, so it is asked
 * for REQUESTED_PER_ITEM · N items with N · USERS_PER_ITEM users and N / ITEMS_PER_CATEGORY
 * categories, which draws about N of them (1.02-1.06 N measured from 10k to 1M). Recorded:
 * - the catalogue trained on (the items drawn: about N);
 * - step time: the median over the progress reports (one per 20 steps, stderr) of the mean ms
 *   per step in that window (batch size / samples per second), so the first window's pipeline
 *   compilation and the end-of-run validation do not count;
 * - evaluation time: `mind eval`'s evaluateModel of MIND on the test users (its `--json`
 *   resources.evaluationSeconds), and the eval process's wall time;
 * - device memory: the bytes the GPU buffer pool holds at the end of each process (the pool
 *   only grows, so this is its peak; buffers are rounded up to size classes);
 * - peak host RSS of each child process (process.resourceUsage().maxRSS, reported by the child).
 * An N that cannot run records the child's error message as its result.
 *
 * Memory formula per item (d = --dim, f32), derived from the code:
 * - training: item table [N, d] (src/mind/parameters.ts) + Adam's m and v of it
 *   (src/train/adam.ts: zeros of the parameter's shape) = 12d bytes; the end-of-run validation
 *   adds the item vectors of all items [N, d] (serve/retrieval.ts allItemVectors, 4d) and the
 *   item bags it uploads to build them (offsets, rows and weights, 12 bytes): 16d + 12 bytes;
 * - evaluation: the table and the item vectors and bags: 8d + 12 bytes.
 * Everything else a step or an evaluation allocates is bounded by the batch and by top-k's
 * score block (SCORE_BLOCK_ELEMENTS), not by N, except top-k's per-block candidate lists
 * ([Q, blocks, k] ids and scores: Q²·k·8 / SCORE_BLOCK_ELEMENTS bytes per item, 39 at Q = 1,280
 * and k = 50), left out of the formula. The table compares the formula, rounded to the
 * pool's size classes buffer by buffer, with the pool's bytes.
 *
 * Writes DIR/scale.json, DIR/scale.md, DIR/scale-time.svg and DIR/scale-memory.svg (default
 * DIR bench/scale, or bench/out/scale-quick with --quick).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type * as vl from 'vega-lite';
import { sizeClass } from '../src/gpu/buffer-pool.js';
import { renderSvg } from './plot.js';

const ROOT = resolve(import.meta.dirname, '..');
const DEFAULT_ITEMS = [10_000, 100_000, 300_000, 500_000, 1_000_000, 5_000_000];
const QUICK_ITEMS = [1_000, 5_000];
/**
 * The generator's settings for a catalogue of about N drawn items: items requested, users and
 * planted categories per target item (Zipf popularity within a category leaves most requested
 * items undrawn).
 */
const REQUESTED_PER_ITEM = 8;
const USERS_PER_ITEM = 1 / 20;
const ITEMS_PER_CATEGORY = 100;
const MIN_USERS = 500;
const MIN_CATEGORIES = 10;
const DEFAULT_EVAL_USERS = 500;
const DEFAULT_VALIDATION_USERS = 256;
const DIM = 64;
const BATCH = 256;

export interface ScalePoint {
  /** The target catalogue size N. */
  targetItems: number;
  /** --synthetic-items (REQUESTED_PER_ITEM · N), and the generator's other settings for it. */
  requestedItems: number;
  users: number;
  categories: number;
  /** Items the data set holds (drawn by some user); null when training failed before loading. */
  items: number | null;
  steps: number | null;
  stepMs: number | null;
  trainSeconds: number | null;
  evalSeconds: number | null;
  evalWallSeconds: number | null;
  evaluatedUsers: number | null;
  trainDeviceBytes: number | null;
  evalDeviceBytes: number | null;
  trainPeakRssBytes: number | null;
  /** mind train's peak RSS as it stood after loading the data, after the training steps and at the end. */
  trainPeakRssByPhase?: { after: string; peakRssBytes: number }[];
  evalPeakRssBytes: number | null;
  /** The formula's bytes for `items`, rounded to the pool's size classes per buffer. */
  formulaTrainBytes: number | null;
  formulaEvalBytes: number | null;
  error?: string;
}

/** Bytes per item of the formula in the header (exact, before size-class rounding). */
export function bytesPerItem(d: number): { train: number; eval: number } {
  return { train: 16 * d + 12, eval: 8 * d + 12 };
}

/** The formula's N-dependent buffers for a catalogue of `items` ids (plus the padding id), each rounded to its pool size class. */
function formulaBytes(items: number, d: number): { train: number; eval: number } {
  const rows = items + 1;
  const table = sizeClass(rows * d * 4);
  const bags = sizeClass((rows + 1) * 4) + 2 * sizeClass(rows * 4);
  const vectors = sizeClass(rows * d * 4);
  return { train: 3 * table + vectors + bags, eval: table + vectors + bags };
}

interface ChildResult {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

function runMind(args: string[]): Promise<ChildResult> {
  const started = performance.now();
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', './scripts/wgsl-loader.mjs', 'scripts/mind.ts', ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => {
      stderr += b.toString();
      process.stderr.write(b);
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout, stderr, seconds: (performance.now() - started) / 1000 }));
  });
}

/** ms per step of each progress report ("… step s/S loss x R samples/s"), in order. */
export function windowStepMs(stderr: string, batchSize: number): number[] {
  return [...stderr.matchAll(/ step \d+\/\d+ loss \S+ ([\d.]+) samples\/s/g)].map((m) => (batchSize / Number(m[1])) * 1000);
}

function median(xs: number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** The child's error: from the CLI's "mind: …" (or commander's "error: …") line on, else its last stderr lines. */
function childError(what: string, r: ChildResult): string {
  const lines = r.stderr.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('Warning: maxDynamic'));
  const from = lines.findIndex((l) => l.startsWith('mind: ') || l.startsWith('error'));
  return `${what} exited with ${r.code}: ${(from >= 0 ? lines.slice(from) : lines.slice(-3)).join(' ')}`;
}

interface Sampling {
  evalUsers: number;
  validationUsers: number;
}

async function measure(targetItems: number, maxSteps: number, sampling: Sampling, workDir: string): Promise<ScalePoint> {
  const requestedItems = REQUESTED_PER_ITEM * targetItems;
  const users = Math.max(MIN_USERS, Math.round(targetItems * USERS_PER_ITEM));
  const categories = Math.max(MIN_CATEGORIES, Math.round(targetItems / ITEMS_PER_CATEGORY));
  const point: ScalePoint = {
    targetItems, requestedItems, users, categories, items: null, steps: null, stepMs: null, trainSeconds: null, evalSeconds: null, evalWallSeconds: null,
    evaluatedUsers: null, trainDeviceBytes: null, evalDeviceBytes: null, trainPeakRssBytes: null, evalPeakRssBytes: null,
    formulaTrainBytes: null, formulaEvalBytes: null,
  };
  const out = join(workDir, `n${targetItems}`);
  const train = await runMind([
    'train', '--synthetic-items', String(requestedItems), '--synthetic-users', String(users), '--synthetic-categories', String(categories),
    '--no-baseline', '--dim', String(DIM), '--batch-size', String(BATCH), '--epochs', '1', '--max-steps', String(maxSteps),
    '--validation-users', String(sampling.validationUsers), '--out', out, '--json',
  ]);
  if (train.code !== 0) {
    point.error = childError('mind train', train);
    return point;
  }
  const summary = JSON.parse(train.stdout.trim().split('\n').at(-1)!) as {
    split: { items: number };
    training: { mind: { steps: number; seconds: number } };
    resources: { deviceBytes: number; peakRssBytes: number; peakRssByPhase?: { after: string; peakRssBytes: number }[] };
  };
  point.items = summary.split.items;
  point.trainPeakRssByPhase = summary.resources.peakRssByPhase;
  point.steps = summary.training.mind.steps;
  point.trainSeconds = summary.training.mind.seconds;
  point.stepMs = median(windowStepMs(train.stderr, BATCH));
  point.trainDeviceBytes = summary.resources.deviceBytes;
  point.trainPeakRssBytes = summary.resources.peakRssBytes;
  const formula = formulaBytes(point.items, DIM);
  point.formulaTrainBytes = formula.train;
  point.formulaEvalBytes = formula.eval;
  const evaluation = await runMind(['eval', '--model', out, '--users', String(sampling.evalUsers), '--json']);
  if (evaluation.code !== 0) {
    point.error = childError('mind eval', evaluation);
    return point;
  }
  const report = JSON.parse(evaluation.stdout.trim().split('\n').at(-1)!) as {
    split: { evaluatedUsers: number };
    resources: { deviceBytes: number; peakRssBytes: number; evaluationSeconds: number };
  };
  point.evalSeconds = report.resources.evaluationSeconds;
  point.evalWallSeconds = evaluation.seconds;
  point.evaluatedUsers = report.split.evaluatedUsers;
  point.evalDeviceBytes = report.resources.deviceBytes;
  point.evalPeakRssBytes = report.resources.peakRssBytes;
  return point;
}

const MiB = 2 ** 20;
const fmt = (x: number | null, digits = 1) => (x === null ? '–' : x.toFixed(digits));
const mib = (x: number | null) => (x === null ? '–' : (x / MiB).toFixed(1));

/** A log-log line chart of `value` against the catalogue size, one line per series. */
function againstN(title: string, subtitle: string, yTitle: string, rows: { n: number | null; series: string; value: number | null }[], legendColumns?: number): vl.TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle },
    width: 420,
    height: 260,
    data: { values: rows.filter((r) => r.n !== null && r.value !== null) },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'n', type: 'quantitative', title: 'N (items in the catalogue)', scale: { type: 'log', nice: false } },
      y: { field: 'value', type: 'quantitative', title: yTitle, scale: { type: 'log' } },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 400, ...(legendColumns ? { columns: legendColumns } : {}) } },
    },
  };
}

function timePlot(points: ScalePoint[], maxSteps: number): vl.TopLevelSpec {
  const rows = points.flatMap((p) => [
    { n: p.items, series: 'training step (ms)', value: p.stepMs },
    { n: p.items, series: `evaluation of ${p.evaluatedUsers ?? '–'} test users (ms)`, value: p.evalSeconds === null ? null : p.evalSeconds * 1000 },
  ]);
  const subtitle = `mind train (median over 20-step windows of ${maxSteps} steps, B=${BATCH}, d=${DIM}) and mind eval (MIND, a seeded sample of test users)`;
  return againstN('Time against catalogue size', subtitle, 'ms (log)', rows);
}

function memoryPlot(points: ScalePoint[]): vl.TopLevelSpec {
  const mib = (bytes: number | null) => (bytes === null ? null : bytes / MiB);
  const rows = points.flatMap((p) => [
    { n: p.items, series: 'device, mind train (buffer pool)', value: mib(p.trainDeviceBytes) },
    { n: p.items, series: 'device, mind train: formula', value: mib(p.formulaTrainBytes) },
    { n: p.items, series: 'device, mind eval (buffer pool)', value: mib(p.evalDeviceBytes) },
    { n: p.items, series: 'host peak RSS, mind train', value: mib(p.trainPeakRssBytes) },
    { n: p.items, series: 'host peak RSS, mind eval', value: mib(p.evalPeakRssBytes) },
  ]);
  const subtitle = `formula: ${bytesPerItem(DIM).train} bytes per item in training at d=${DIM} (table, Adam m and v, item vectors, bags)`;
  return againstN('Memory against catalogue size', subtitle, 'MiB (log)', rows, 2);
}

function markdown(points: ScalePoint[], maxSteps: number, command: string, writtenAt: string): string {
  const per = bytesPerItem(DIM);
  const lines = [
    '# Catalogue scale',
    '',
    `Measured by \`${command}\` on ${writtenAt}: per N a fresh \`mind train\` (synthetic data, MIND only, d=${DIM}, B=${BATCH}, ` +
      `${maxSteps} steps, validating on a sample of validation users) and \`mind eval --users\` (a seeded sample of test users). Step: median over 20-step windows of ms per step. Memory formula per item: ` +
      `${per.train} bytes in training (16d + 12: table, Adam m and v, validation's item vectors and bags), ${per.eval} in evaluation (8d + 12); ` +
      '"formula" rounds each of those buffers to the pool\'s size class; "rest" is the pool\'s bytes minus the formula (what does not grow with N).',
    '',
    '| N target (requested) | N trained | users | steps | step ms | eval s (users) | eval wall s | train device MiB | formula MiB | rest MiB | eval device MiB | train RSS MiB (after data / steps / end) | eval RSS MiB | note |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const p of points) {
    const rest = p.trainDeviceBytes !== null && p.formulaTrainBytes !== null ? p.trainDeviceBytes - p.formulaTrainBytes : null;
    lines.push(
      `| ${p.targetItems ?? '–'} (${p.requestedItems}) | ${p.items ?? '–'} | ${p.users} | ${p.steps ?? '–'} | ${fmt(p.stepMs)} | ${fmt(p.evalSeconds)}${p.evaluatedUsers === null ? '' : ` (${p.evaluatedUsers})`} | ` +
        `${fmt(p.evalWallSeconds)} | ${mib(p.trainDeviceBytes)} | ${mib(p.formulaTrainBytes)} | ${mib(rest)} | ${mib(p.evalDeviceBytes)} | ${p.trainPeakRssByPhase ? p.trainPeakRssByPhase.map((m) => mib(m.peakRssBytes)).join(' / ') : mib(p.trainPeakRssBytes)} | ` +
        `${mib(p.evalPeakRssBytes)} | ${p.error ?? ''} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

interface Saved {
  command: string;
  maxSteps: number;
  points: ScalePoint[];
  writtenAt: string;
}

async function writeOutputs(outDir: string, saved: Saved): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'scale.json'), `${JSON.stringify(saved, null, 2)}\n`);
  writeFileSync(join(outDir, 'scale.md'), markdown(saved.points, saved.maxSteps, saved.command, saved.writtenAt));
  writeFileSync(join(outDir, 'scale-time.svg'), await renderSvg(timePlot(saved.points, saved.maxSteps)));
  writeFileSync(join(outDir, 'scale-memory.svg'), await renderSvg(memoryPlot(saved.points)));
  console.error(`scale: wrote ${outDir}/scale.md, scale.json and the plots`);
}

function positiveInts(flag: string, text: string): number[] {
  return text.split(',').map((s) => {
    const n = Number(s.trim());
    if (!Number.isInteger(n) || n < 2) throw new Error(`${flag}: expected integers ≥ 2 separated by commas, got "${s}"`);
    return n;
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      items: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'max-steps': { type: 'string' },
      out: { type: 'string' },
      'eval-users': { type: 'string' },
      'validation-users': { type: 'string' },
      replot: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log('usage: npm run bench:scale -- [--items 10000,100000,...] [--quick] [--max-steps S] [--eval-users U] [--validation-users V] [--out DIR] [--replot]');
    return;
  }
  const quick = values.quick!;
  const outDir = values.out ?? (quick ? join('bench', 'out', 'scale-quick') : join('bench', 'scale'));
  if (values.replot) {
    await writeOutputs(outDir, JSON.parse(readFileSync(join(outDir, 'scale.json'), 'utf8')) as Saved);
    return;
  }
  const items = values.items ? positiveInts('--items', values.items) : quick ? QUICK_ITEMS : DEFAULT_ITEMS;
  const maxSteps = values['max-steps'] ? positiveInts('--max-steps', values['max-steps'])[0] : quick ? 50 : 200;
  const sampling = {
    evalUsers: values['eval-users'] ? positiveInts('--eval-users', values['eval-users'])[0] : DEFAULT_EVAL_USERS,
    validationUsers: values['validation-users'] ? positiveInts('--validation-users', values['validation-users'])[0] : DEFAULT_VALIDATION_USERS,
  };
  const command = `npm run bench:scale -- ${process.argv.slice(2).join(' ')}`.trim();
  const workDir = mkdtempSync(join(tmpdir(), 'mind-scale-'));
  const points: ScalePoint[] = [];
  try {
    for (const n of items) {
      const started = performance.now();
      const point = await measure(n, maxSteps, sampling, workDir);
      points.push(point);
      console.error(
        `scale: N=${n} (trained ${point.items ?? '–'}): step ${fmt(point.stepMs)} ms, eval ${fmt(point.evalSeconds)} s, device ${mib(point.trainDeviceBytes)} MiB ` +
          `(formula ${mib(point.formulaTrainBytes)}), RSS ${mib(point.trainPeakRssBytes)} MiB [${((performance.now() - started) / 1000).toFixed(0)} s]${point.error ? ` — ${point.error}` : ''}`,
      );
      // Written after every N, so a long run that is stopped keeps what it measured.
      await writeOutputs(outDir, { command, maxSteps, points, writtenAt: new Date().toISOString() });
      rmSync(join(workDir, `n${n}`), { recursive: true, force: true });
    }
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
