/**
 * The benchmark driver: for each shape and case, check that every tfjs backend agrees with our
 * kernels on the same inputs, time all implementations alternately, then take the per-kernel
 * GPU-timestamp view of ours (and of tfjs-webgpu through tf.profile) and place our fused kernels
 * on the device's measured roofline.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Context } from '../src/autograd/context.js';
import type { KernelTiming } from '../src/gpu/profiler.js';
import { type BenchCase, type BenchShape, CASES, type Instance, type Outputs, SHAPES, type StepSplit, type TfInstance, describeShape } from './cases.js';
import { type Runner, type Timing, type TimingBudget, summarize, timeAlternating } from './harness.js';
import { type Platform, type TfBackend, setUpPlatform } from './platform.js';
import { type Peak, type RooflinePoint, type Work, measurePeak, rooflinePoint } from './roofline.js';

export interface BenchOptions {
  /** Shape names from SHAPES. */
  shapes: (keyof typeof SHAPES)[];
  /** Case names (all when empty). */
  cases: string[];
  backends: TfBackend[];
  budget: TimingBudget;
  /** Timed iterations of the profiled (timestamp) runs. */
  profileIterations: number;
  /** Record a disagreement and go on timing instead of stopping at the first one. */
  keepGoing: boolean;
  /** Peak measurement: matmul size and copy length (f32 elements). */
  peak: { matmul: number; copyElements: number; iterations: number };
  log: (line: string) => void;
}

/** Largest |ours − tfjs| over the largest |ours|, per output: scale-free across outputs. */
export function relativeDifference(ours: ArrayLike<number>, theirs: ArrayLike<number>): number {
  if (ours.length !== theirs.length) throw new Error(`length ${theirs.length} differs from ours (${ours.length})`);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < ours.length; i++) {
    if (!Number.isFinite(theirs[i]) || !Number.isFinite(ours[i])) return Infinity;
    diff = Math.max(diff, Math.abs(ours[i] - theirs[i]));
    scale = Math.max(scale, Math.abs(ours[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

/** Two f32 implementations of the same math, summing in different orders. */
export const AGREEMENT_TOLERANCE = 2e-3;

export interface ResultRow {
  name: string;
  shape: string;
  impl: 'ours' | 'tfjs';
  backend: TfBackend;
  median_ms: number | null;
  p10_ms: number | null;
  p90_ms: number | null;
  /** median_ms of this row / median_ms of ours: how many times slower than ours. */
  ratio_vs_ours: number | null;
  iterations: number;
  /** Why a cell is missing (skipped) or has a single sample. */
  note?: string;
}

export interface KernelRow {
  kernel: string;
  phase: string;
  callsPerIteration: number;
  /** Median over the profiled iterations. */
  msPerIteration: number;
  /** Fastest of the profiled iterations (what the roofline uses, like the peaks). */
  bestMs: number;
}

export interface CaseProfile {
  name: string;
  shape: string;
  ours: KernelRow[];
  /** tfjs-webgpu kernels by name (one profiled iteration). */
  tfjsWebgpu?: { kernel: string; calls: number; ms: number }[];
}

export interface RooflineRow extends RooflinePoint {
  /** The bench case the time comes from. */
  case: string;
  /** The fused op and phase ("routing.backward"), or the op's phases together. */
  kernel: string;
  shape: string;
  gflop: number;
  mb: number;
  ms: number;
  timing: 'timestamps' | 'wall';
}

export interface AgreementRow {
  name: string;
  shape: string;
  backend: TfBackend;
  /** Relative difference per output. */
  outputs: Record<string, number>;
  /** Every output within AGREEMENT_TOLERANCE. */
  agrees: boolean;
}

/** A training step taken apart (medians over the split iterations; see StepSplit). */
export interface StepSplitRow {
  shape: string;
  /** Batch building and negatives, as the trainer does them, ms. */
  batchMs: number;
  /** Recording the step (loss, backward, Adam) and submitting it, ms. */
  hostMs: number;
  /** Submit to the loss readback, ms. */
  gpuMs: number;
  /** (batchMs + hostMs) / (batchMs + hostMs + gpuMs). */
  hostShare: number;
  dispatches: number;
  submits: number;
  iterations: number;
}

export interface BenchResults {
  adapter: Platform['adapter'];
  peak: Peak;
  cases: ResultRow[];
  agreement: AgreementRow[];
  roofline: RooflineRow[];
  profiles: CaseProfile[];
  /** train.step taken apart into host and GPU time, with its dispatch count, per shape. */
  steps: StepSplitRow[];
  shapes: Record<string, string>;
  budget: TimingBudget;
  date: string;
  node: string;
}

/**
 * Runs `instance` with phase boundaries on the profiling context: each kernel's GPU ms per
 * iteration, median and best over the iterations (other work on a shared machine inflates
 * single iterations).
 */
async function profileOurs(ctx: Context, instance: Instance, iterations: number): Promise<KernelRow[]> {
  const profiler = ctx.gpu.profiler!;
  await instance.iterate();
  await ctx.gpu.kernelTimings();
  profiler.reset();
  /** "phase\tkernel" → per-iteration timings. */
  const seen = new Map<string, KernelTiming[]>();
  let current = '';
  let iteration = 0;
  // Submitting at each boundary lets the timings collected so far be read and attributed.
  const collect = async () => {
    ctx.gpu.submit();
    const timings = await ctx.gpu.kernelTimings();
    if (current) {
      for (const [kernel, t] of timings) {
        const key = `${current}\t${kernel}`;
        const list = seen.get(key) ?? [];
        while (list.length <= iteration) list.push({ calls: 0, totalMs: 0 });
        list[iteration].calls += t.calls;
        list[iteration].totalMs += t.totalMs;
        seen.set(key, list);
      }
    }
    profiler.reset();
  };
  for (iteration = 0; iteration < iterations; iteration++) {
    await instance.iterate(async (phase) => {
      await collect();
      current = phase;
    });
    await collect();
    current = '';
  }
  return [...seen].map(([key, list]) => {
    const [phase, kernel] = key.split('\t');
    while (list.length < iterations) list.push({ calls: 0, totalMs: 0 });
    return {
      kernel,
      phase,
      callsPerIteration: summarize(list.map((t) => t.calls)).median,
      msPerIteration: summarize(list.map((t) => t.totalMs)).median,
      bestMs: Math.min(...list.map((t) => t.totalMs)),
    };
  });
}

async function profileTfjsWebgpu(compute: () => tf.TensorContainer): Promise<{ kernel: string; calls: number; ms: number }[]> {
  const info = await tf.profile(() => tf.tidy(compute));
  tf.dispose(info.result);
  const byName = new Map<string, { calls: number; ms: number }>();
  for (const k of info.kernels) {
    const ms = await k.kernelTimeMs;
    const entry = byName.get(k.name) ?? { calls: 0, ms: 0 };
    entry.calls++;
    entry.ms += typeof ms === 'number' ? ms : 0;
    byName.set(k.name, entry);
  }
  return [...byName].map(([kernel, e]) => ({ kernel, ...e })).sort((a, b) => b.ms - a.ms);
}

/** Medians of `iterations` split steps (after one untimed). */
async function splitStep(split: () => Promise<StepSplit>, shape: BenchShape, iterations: number): Promise<StepSplitRow> {
  await split();
  const runs: StepSplit[] = [];
  for (let i = 0; i < iterations; i++) runs.push(await split());
  const median = (key: keyof StepSplit) => summarize(runs.map((r) => r[key])).median;
  const batchMs = median('batchMs');
  const hostMs = median('hostMs');
  const gpuMs = median('gpuMs');
  return {
    shape: shape.name, batchMs, hostMs, gpuMs, hostShare: (batchMs + hostMs) / (batchMs + hostMs + gpuMs),
    dispatches: median('dispatches'), submits: median('submits'), iterations,
  };
}

/** One row per implementation: ours first, then each tfjs backend (timed or skipped). */
function rowsFor(name: string, shape: BenchShape, timings: Map<string, Timing>, skipped: Map<TfBackend, string>, backends: TfBackend[]): ResultRow[] {
  const stat = (label: string) => {
    const t = timings.get(label);
    return t && t.samples.length > 0 ? { ...summarize(t.samples), note: t.note } : null;
  };
  const ours = stat('ours/webgpu')!;
  const row = (impl: 'ours' | 'tfjs', backend: TfBackend): ResultRow => {
    const s = stat(`${impl}/${backend}`);
    const r: ResultRow = {
      name,
      shape: shape.name,
      impl,
      backend,
      median_ms: s?.median ?? null,
      p10_ms: s?.p10 ?? null,
      p90_ms: s?.p90 ?? null,
      ratio_vs_ours: s ? s.median / ours.median : null,
      iterations: s?.n ?? 0,
    };
    const note = impl === 'tfjs' ? (skipped.get(backend) ?? s?.note) : s?.note;
    if (note) r.note = note;
    return r;
  };
  return [row('ours', 'webgpu'), ...backends.map((b) => row('tfjs', b))];
}

function compareOutputs(name: string, shape: BenchShape, ours: Outputs, backend: TfBackend, theirs: Outputs): AgreementRow {
  const outputs: Record<string, number> = {};
  for (const [output, values] of ours) {
    const other = theirs.get(output);
    if (!other) throw new Error(`${name} (${shape.name}): tfjs-${backend} has no output ${output}`);
    outputs[output] = relativeDifference(values, other);
  }
  const agrees = Object.values(outputs).every((err) => err <= AGREEMENT_TOLERANCE);
  return { name, shape: shape.name, backend, outputs, agrees };
}

/** "dW 4.5e-1, dv 3.0e-7" */
function describeAgreement(row: AgreementRow): string {
  return Object.entries(row.outputs).map(([o, e]) => `${o} ${e.toExponential(1)}`).join(', ');
}

function rooflineRows({ name, shape, work, profile, wallMs }: RooflineInput, peak: Peak): RooflineRow[] {
  const rows: RooflineRow[] = [];
  const add = (kernel: string, w: Work, ms: number, timing: 'timestamps' | 'wall') =>
    rows.push({ case: name, kernel, shape: shape.name, gflop: w.flops / 1e9, mb: w.bytes / 1e6, ms, timing, ...rooflinePoint(w, ms, peak) });
  const phases = Object.entries(work);
  if (phases.length === 0) return rows;
  const op = name.split('.')[0];
  if (profile) {
    for (const [phase, w] of phases) {
      const ms = profile.filter((k) => k.phase === phase).reduce((a, k) => a + k.bestMs, 0);
      if (ms > 0) add(`${op}.${phase}`, w, ms, 'timestamps');
    }
  }
  if (wallMs !== null) {
    const total = phases.reduce((acc, [, w]) => ({ flops: acc.flops + w.flops, bytes: acc.bytes + w.bytes }), { flops: 0, bytes: 0 });
    add(`${op}.${phases.map(([phase]) => phase).join('+')}`, total, wallMs, 'wall');
  }
  return rows;
}

/** What the roofline needs from one case; placed once the peaks are final. */
interface RooflineInput {
  name: string;
  shape: BenchShape;
  work: Record<string, Work>;
  profile?: KernelRow[];
  wallMs: number | null;
}

async function runCase(platform: Platform, benchCase: BenchCase, shape: BenchShape, options: BenchOptions, results: BenchResults, roofline: RooflineInput[]): Promise<void> {
  const { log } = options;
  const { ctx, profiled, backends } = platform;
  log(`${benchCase.name} @ ${shape.name} (${describeShape(shape)})`);
  const skipped = new Map<TfBackend, string>();
  for (const backend of backends) {
    const reason = benchCase.skip?.(backend, shape);
    if (reason) skipped.set(backend, `skipped: ${reason}`);
  }
  const active = backends.filter((b) => !skipped.has(b));
  const prepared = await benchCase.prepare(shape, ctx);
  const ours = prepared.ours(ctx);
  const theirs = new Map<TfBackend, TfInstance>();
  for (const backend of active) {
    await tf.setBackend(backend);
    theirs.set(backend, prepared.tf(() => platform.tfFinish(backend)));
  }
  try {
    const reference = await ours.outputs();
    for (const [backend, instance] of theirs) {
      await tf.setBackend(backend);
      const row = compareOutputs(benchCase.name, shape, reference, backend, await instance.outputs());
      results.agreement.push(row);
      const message = `ours and tfjs-${backend} ${row.agrees ? 'agree' : 'DISAGREE'} (tolerance ${AGREEMENT_TOLERANCE}): ${describeAgreement(row)}`;
      if (!row.agrees && !options.keepGoing) throw new Error(`${benchCase.name} @ ${shape.name}: ${message}`);
      log(`  ${message}`);
    }

    const runners: Runner[] = [
      { label: 'ours/webgpu', iterate: () => ours.iterate() },
      ...[...theirs].map(([backend, instance]) => ({
        label: `tfjs/${backend}`,
        before: async () => void (await tf.setBackend(backend)),
        iterate: () => instance.iterate(),
      })),
    ];
    const timings = await timeAlternating(runners, options.budget, log);
    const rows = rowsFor(benchCase.name, shape, new Map(timings.map((t) => [t.label, t])), skipped, backends);
    results.cases.push(...rows);
    for (const r of rows) {
      const time = r.median_ms === null ? '' : `${r.median_ms.toFixed(2)} ms [${r.p10_ms!.toFixed(2)}, ${r.p90_ms!.toFixed(2)}] ×${r.ratio_vs_ours!.toFixed(2)} `;
      log(`  ${r.impl}/${r.backend}: ${time}${r.note ?? ''}`);
    }

    if (ours.split) {
      const row = await splitStep(ours.split.bind(ours), shape, Math.max(options.budget.minIterations, Math.min(options.budget.iterations, 10)));
      results.steps.push(row);
      log(`  host ${row.batchMs.toFixed(2)} ms batch + ${row.hostMs.toFixed(2)} ms recording and submit, GPU ${row.gpuMs.toFixed(2)} ms: host ${(100 * row.hostShare).toFixed(1)}%; ${row.dispatches} dispatches`);
    }

    const profile: CaseProfile = { name: benchCase.name, shape: shape.name, ours: [] };
    if (profiled) {
      const instance = prepared.ours(profiled);
      try {
        profile.ours = await profileOurs(profiled, instance, options.profileIterations);
      } finally {
        instance.dispose();
      }
    }
    const webgpu = theirs.get('webgpu');
    if (webgpu && platform.adapter.timestamps) {
      await tf.setBackend('webgpu');
      profile.tfjsWebgpu = await profileTfjsWebgpu(() => webgpu.compute());
    }
    results.profiles.push(profile);
    roofline.push({ name: benchCase.name, shape, work: prepared.work, profile: profiled ? profile.ours : undefined, wallMs: rows[0].median_ms });
  } finally {
    ours.dispose();
    for (const [backend, instance] of theirs) {
      await tf.setBackend(backend);
      instance.dispose();
    }
  }
}

/** Runs every selected case on every selected shape; returns everything the reports show. */
export async function runBench(options: BenchOptions): Promise<BenchResults> {
  const selected = options.cases.length === 0 ? CASES : CASES.filter((c) => options.cases.includes(c.name));
  const unknown = options.cases.filter((name) => !CASES.some((c) => c.name === name));
  if (unknown.length > 0) throw new Error(`unknown case(s) ${unknown.join(', ')}; cases are ${CASES.map((c) => c.name).join(', ')}`);
  const platform = await setUpPlatform(options.backends);
  try {
    const { log } = options;
    log(`adapter: ${platform.adapter.description || platform.adapter.device} (${platform.adapter.vendor}); timestamps: ${platform.adapter.timestamps}`);
    // The peaks are sampled before every case as well as at the start and the end, and the best
    // kept: on a shared machine a peak taken while other work ran is low.
    const measure = (iterations: number) =>
      measurePeak(platform.profiled ?? platform.ctx, options.peak.matmul, options.peak.copyElements, iterations);
    let peak = await measure(options.peak.iterations);
    const keepBest = (p: Peak) => (peak = { ...peak, gflops: Math.max(peak.gflops, p.gflops), gbps: Math.max(peak.gbps, p.gbps) });
    log(`peak: ${peak.gflops.toFixed(1)} GFLOP/s (matmul ${peak.matmulSize}³), ${peak.gbps.toFixed(1)} GB/s (copy) [${peak.source}]`);
    const results: BenchResults = {
      adapter: platform.adapter,
      peak,
      cases: [],
      agreement: [],
      roofline: [],
      profiles: [],
      steps: [],
      shapes: Object.fromEntries(options.shapes.map((s) => [s, describeShape(SHAPES[s])])),
      budget: options.budget,
      date: new Date().toISOString(),
      node: process.version,
    };
    const roofline: RooflineInput[] = [];
    for (const shapeName of options.shapes) {
      for (const benchCase of selected) {
        keepBest(await measure(2));
        await runCase(platform, benchCase, SHAPES[shapeName], options, results, roofline);
      }
    }
    results.peak = keepBest(await measure(options.peak.iterations));
    log(`peak (best over the run): ${results.peak.gflops.toFixed(1)} GFLOP/s, ${results.peak.gbps.toFixed(1)} GB/s`);
    results.roofline = roofline.flatMap((input) => rooflineRows(input, results.peak));
    return results;
  } finally {
    platform.destroy();
  }
}
