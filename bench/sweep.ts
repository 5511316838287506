/**
 * `npm run bench:sweep [-- --factors N,L,B,K,d] [--quick] [--out DIR]`: how the training step
 * and evaluation scale, one factor at a time around a base shape, with the analytic cost beside
 * each measured curve.
 *
 * Per point: the median wall time of our training step (the bench's `train.step` case: forward,
 * backward, both Adams, loss read back) and of evaluation's retrieval (the `retrieval.topk` case
 * with one query per user and interest: 256 users × K interests, top 50 over N items); the
 * device memory our buffer pool holds after the step; the process's peak resident set so far
 * (the N sweep runs in ascending N, so it is the peak at that N).
 *
 * Analytic cost: each phase's work (bench/roofline.ts: routing, label-aware attention and
 * sampled softmax, forward and backward; retrieval's scoring and selection) at the device's
 * measured peaks, max(FLOPs / peak FLOP/s, bytes / peak B/s) summed over the phases. Ops the
 * formulas leave out (embedding gathers, the DNN, Adam) make the measured step sit above it.
 *
 * Writes DIR/sweep.json, DIR/sweep.md and one SVG plot per factor (Vega-Lite, rendered
 * headless by Vega) plus DIR/memory-N.svg. A point that cannot run (e.g. a table above the
 * device's binding limit) is recorded with its error and the sweep goes on.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type * as vl from 'vega-lite';
import { type Context, createContext } from '../src/autograd/context.js';
import { type BenchShape, CASES, type Instance, RETRIEVAL, SHAPES, retrievalCase } from './cases.js';
import { DAWN_FLAGS } from './platform.js';
import { renderSvg } from './plot.js';
import { platformGpu } from '../src/gpu/provider.js';
import {
  type Peak,
  type Work,
  attentionBackwardWork,
  attentionForwardWork,
  measurePeak,
  retrievalWork,
  routingBackwardWork,
  routingForwardWork,
  sampledSoftmaxBackwardWork,
  sampledSoftmaxForwardWork,
} from './roofline.js';

type Factor = 'N' | 'L' | 'B' | 'K' | 'd';

/** The base shape: the seed shape with a 10k-item catalogue (evaluation needs some items). */
const BASE: BenchShape = { ...SHAPES.seed, name: 'sweep', N: 10_000 };

const VALUES: Record<Factor, number[]> = {
  N: [1_000, 10_000, 100_000, 300_000, 1_000_000],
  L: [10, 20, 50, 100, 200],
  B: [32, 128, 256, 512, 1024],
  K: [1, 2, 4, 8],
  d: [16, 32, 64, 128],
};
const QUICK_VALUES: Record<Factor, number[]> = { N: [100, 1_000], L: [4, 8], B: [8, 16], K: [1, 2], d: [8, 16] };
const QUICK_BASE: BenchShape = { ...SHAPES.tiny, name: 'sweep', N: 500 };

export interface SweepPoint {
  factor: Factor;
  value: number;
  shape: BenchShape;
  stepMs: number | null;
  evalMs: number | null;
  stepAnalyticMs: number;
  evalAnalyticMs: number;
  /** Bytes our buffer pool holds after the step on a fresh device (model, Adam moments, pooled scratch). */
  deviceBytes: number | null;
  /** Peak resident set of this process so far, bytes. */
  peakRssBytes: number;
  error?: string;
}

/** max(compute time, memory time) of one phase at the measured peaks, ms. */
function phaseMs(w: Work, peak: Peak): number {
  return Math.max(w.flops / (peak.gflops * 1e6), w.bytes / (peak.gbps * 1e6));
}

function stepAnalyticMs(s: BenchShape, peak: Peak): number {
  const works = [routingForwardWork, routingBackwardWork, attentionForwardWork, attentionBackwardWork, sampledSoftmaxForwardWork, sampledSoftmaxBackwardWork];
  return works.reduce((sum, f) => sum + phaseMs(f(s), peak), 0);
}

function evalQueries(s: BenchShape): number {
  return RETRIEVAL.Q * s.K;
}

/** Median wall ms of `iterate`, after one warm-up, over at least 3 runs and up to 10 or ~budgetMs. */
async function timeInstance(instance: Instance, budgetMs: number): Promise<number> {
  await instance.iterate();
  const samples: number[] = [];
  const started = performance.now();
  while (samples.length < 3 || (samples.length < 10 && performance.now() - started < budgetMs)) {
    const t = performance.now();
    await instance.iterate();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

function caseNamed(name: string) {
  const found = CASES.find((c) => c.name === name);
  if (!found) throw new Error(`bench/sweep: no bench case named ${name}`);
  return found;
}


async function measurePoint(ctx: Context, factor: Factor, value: number, base: BenchShape, peak: Peak, budgetMs: number): Promise<SweepPoint> {
  const shape: BenchShape = { ...base, [factor]: value, name: `${factor}=${value}` };
  const point: SweepPoint = {
    factor,
    value,
    shape,
    stepMs: null,
    evalMs: null,
    stepAnalyticMs: stepAnalyticMs(shape, peak),
    evalAnalyticMs: phaseMs(retrievalWork(evalQueries(shape), shape.N, shape.d, RETRIEVAL.k), peak),
    deviceBytes: null,
    peakRssBytes: 0,
  };
  const errors: string[] = [];
  try {
    const prepared = await caseNamed('train.step').prepare(shape, ctx);
    const step = prepared.ours(ctx);
    try {
      point.stepMs = await timeInstance(step, budgetMs);
      point.deviceBytes = ctx.gpu.pool.stats().allocatedBytes;
    } finally {
      step.dispose();
    }
  } catch (err) {
    errors.push(`step: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    // Evaluation's retrieval: one query per user and interest, over exactly N items.
    const retrieval = (await retrievalCase({ queries: evalQueries, items: (s) => s.N }).prepare(shape, ctx)).ours(ctx);
    try {
      point.evalMs = await timeInstance(retrieval, budgetMs);
    } finally {
      retrieval.dispose();
    }
  } catch (err) {
    errors.push(`evaluation: ${err instanceof Error ? err.message : String(err)}`);
  }
  point.peakRssBytes = process.resourceUsage().maxRSS * 1024;
  if (errors.length > 0) point.error = errors.join('; ');
  return point;
}

const FACTOR_TITLE: Record<Factor, string> = {
  N: 'N (items in the catalogue)',
  L: 'L (history length)',
  B: 'B (batch size)',
  K: 'K (interests)',
  d: 'd (embedding width)',
};

function timePlot(factor: Factor, points: SweepPoint[], base: BenchShape): vl.TopLevelSpec {
  const rows = points.flatMap((p) => [
    { x: p.value, series: `${p.factor}:step:measured`, phase: 'training step', kind: 'measured', ms: p.stepMs },
    { x: p.value, series: `${p.factor}:step:analytic`, phase: 'training step', kind: 'analytic (roofline)', ms: p.stepAnalyticMs },
    { x: p.value, series: `${p.factor}:eval:measured`, phase: 'evaluation retrieval', kind: 'measured', ms: p.evalMs },
    { x: p.value, series: `${p.factor}:eval:analytic`, phase: 'evaluation retrieval', kind: 'analytic (roofline)', ms: p.evalAnalyticMs },
  ]).filter((r) => r.ms !== null && r.ms > 0);
  const others = (['N', 'L', 'B', 'K', 'd'] as Factor[]).filter((f) => f !== factor).map((f) => `${f}=${base[f]}`).join(' ');
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `Scaling with ${factor}`, subtitle: [`${others} R=${base.R} S=${base.S}; retrieval: 256·K queries, top ${RETRIEVAL.k}`, 'solid: measured; dashed: analytic cost at the measured peaks'] },
    width: 420,
    height: 260,
    data: { values: rows },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: FACTOR_TITLE[factor], scale: { type: 'log', nice: false } },
      y: { field: 'ms', type: 'quantitative', title: 'ms per call (log)', scale: { type: 'log' } },
      detail: { field: 'series', type: 'nominal' },
      color: { field: 'phase', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 400 } },
      strokeDash: {
        field: 'kind',
        type: 'nominal',
        title: null,
        scale: { domain: ['measured', 'analytic (roofline)'], range: [[1, 0], [6, 4]] },
        legend: null, // said in the subtitle: vega's stroke symbols do not render headless
      },
    },
  };
}

function memoryPlot(points: SweepPoint[]): vl.TopLevelSpec {
  const rows = points.flatMap((p) => [
    { x: p.value, series: 'device memory (buffer pool)', mb: p.deviceBytes === null ? null : p.deviceBytes / 2 ** 20 },
    { x: p.value, series: 'host peak RSS', mb: p.peakRssBytes / 2 ** 20 },
  ]).filter((r) => r.mb !== null);
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Memory against catalogue size', subtitle: 'training step at the base shape; RSS is the process peak so far' },
    width: 420,
    height: 260,
    data: { values: rows },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: FACTOR_TITLE.N, scale: { type: 'log' } },
      y: { field: 'mb', type: 'quantitative', title: 'MiB (log)', scale: { type: 'log' } },
      color: { field: 'series', type: 'nominal', title: null, legend: { orient: 'bottom', labelLimit: 400 } },
    },
  };
}

const fmt = (x: number | null, digits = 1) => (x === null ? '–' : x.toFixed(digits));

function markdown(points: SweepPoint[], peak: Peak, base: BenchShape, adapter: string, writtenAt: string): string {
  const lines = [
    '# Scaling sweep',
    '',
    `Adapter: ${adapter}. Measured peaks: ${peak.gflops.toFixed(1)} GFLOP/s (matmul), ${peak.gbps.toFixed(1)} GB/s (copy). ` +
      `Base shape: ${(['N', 'L', 'B', 'K', 'd'] as Factor[]).map((f) => `${f}=${base[f]}`).join(' ')} R=${base.R} S=${base.S}; one factor varies at a time. ` +
      `Measured by \`npm run bench:sweep\` on ${writtenAt}.`,
    '',
    '| factor | value | step ms | step analytic ms | eval ms | eval analytic ms | device MiB | host peak RSS MiB | note |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const p of points) {
    lines.push(
      `| ${p.factor} | ${p.value} | ${fmt(p.stepMs)} | ${fmt(p.stepAnalyticMs, 2)} | ${fmt(p.evalMs)} | ${fmt(p.evalAnalyticMs, 2)} | ` +
        `${p.deviceBytes === null ? '–' : fmt(p.deviceBytes / 2 ** 20)} | ${fmt(p.peakRssBytes / 2 ** 20, 0)} | ${p.error ?? ''} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** sweep.md and the SVG plots of a finished sweep. */
async function writeOutputs(outDir: string, adapter: string, peak: Peak, base: BenchShape, points: SweepPoint[], writtenAt: string): Promise<void> {
  writeFileSync(join(outDir, 'sweep.md'), markdown(points, peak, base, adapter, writtenAt));
  const factors = [...new Set(points.map((p) => p.factor))];
  for (const factor of factors) {
    writeFileSync(join(outDir, `scaling-${factor}.svg`), await renderSvg(timePlot(factor, points.filter((p) => p.factor === factor), base)));
  }
  if (factors.includes('N')) writeFileSync(join(outDir, 'memory-N.svg'), await renderSvg(memoryPlot(points.filter((p) => p.factor === 'N'))));
  console.error(`sweep: wrote ${outDir}/sweep.md and the plots`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      factors: { type: 'string' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      replot: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log('usage: npm run bench:sweep -- [--factors N,L,B,K,d] [--quick] [--out DIR] [--replot]\n  --replot: redraw the plots and tables from DIR/sweep.json without measuring');
    return;
  }
  const all: Factor[] = ['N', 'L', 'B', 'K', 'd'];
  const factors = (values.factors ?? all.join(',')).split(',').map((f) => f.trim()) as Factor[];
  for (const f of factors) if (!all.includes(f)) throw new Error(`--factors: unknown factor "${f}"; expected some of ${all.join(', ')}`);
  const quick = values.quick!;
  const outDir = values.out ?? (quick ? join('bench', 'out', 'sweep-quick') : join('bench', 'sweep'));
  const base = quick ? QUICK_BASE : BASE;
  const grid = quick ? QUICK_VALUES : VALUES;

  if (values.replot) {
    const saved = JSON.parse(readFileSync(join(outDir, 'sweep.json'), 'utf8')) as { adapter: string; peak: Peak; base: BenchShape; points: SweepPoint[]; writtenAt?: string };
    await writeOutputs(outDir, saved.adapter, saved.peak, saved.base, saved.points, saved.writtenAt ?? 'unknown date');
    return;
  }
  await platformGpu(DAWN_FLAGS);
  let ctx = await createContext();
  try {
    const info = ctx.gpu.adapterInfo;
    const adapter = `${info.vendor} / ${info.architecture} / ${info.description}`;
    const peak = await measurePeak(ctx, quick ? 128 : 1024, quick ? 1 << 18 : 1 << 22, quick ? 2 : 5);
    console.error(`sweep: peaks ${peak.gflops.toFixed(1)} GFLOP/s, ${peak.gbps.toFixed(1)} GB/s`);
    const points: SweepPoint[] = [];
    for (const factor of factors) {
      for (const value of grid[factor]) {
        const started = performance.now();
        // A fresh device per point: the buffer pool keeps what earlier points freed, so only a
        // fresh one reports this point's device memory.
        ctx.destroy();
        ctx = await createContext();
        const point = await measurePoint(ctx, factor, value, base, peak, quick ? 200 : 4_000);
        points.push(point);
        console.error(
          `sweep: ${factor}=${value}: step ${fmt(point.stepMs)} ms (analytic ${fmt(point.stepAnalyticMs, 2)}), eval ${fmt(point.evalMs)} ms ` +
            `(analytic ${fmt(point.evalAnalyticMs, 2)}) [${((performance.now() - started) / 1000).toFixed(0)} s]${point.error ? ` — ${point.error}` : ''}`,
        );
      }
    }
    const writtenAt = new Date().toISOString();
    mkdirSync(outDir, { recursive: true });
    writeFileSync(join(outDir, 'sweep.json'), `${JSON.stringify({ adapter, peak, base, points, writtenAt }, null, 2)}\n`);
    await writeOutputs(outDir, adapter, peak, base, points, writtenAt);
  } finally {
    ctx.destroy();
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
