/**
 * `npm run bench [-- options]`: ours vs TensorFlow.js (webgpu, wasm, cpu) on the seed and
 * production shapes. Writes the markdown report to stdout and bench/results.md, the data to
 * bench/results.json. `--quick` runs the tiny shape with a small budget and writes under
 * bench/out/quick/ instead, leaving the committed results alone.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type BenchOptions, runBench } from './bench.js';
import { SHAPES } from './cases.js';
import { TF_BACKENDS, type TfBackend } from './platform.js';
import { jsonReport, markdownReport } from './report.js';

const HELP = `usage: npm run bench -- [--quick] [--shapes seed,production] [--cases a,b] [--backends webgpu,wasm,cpu] [--out dir] [--keep-going]`;

function list<T extends string>(value: string | undefined, allowed: readonly T[], name: string, fallback: T[]): T[] {
  if (value === undefined) return fallback;
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) {
    if (!allowed.includes(item as T)) throw new Error(`--${name}: unknown value "${item}"; expected some of ${allowed.join(', ')}`);
  }
  return items as T[];
}

/** Parses the command line into bench options and the output folder. */
function parseBenchArgs(argv: string[], log: (line: string) => void): { options: BenchOptions; outDir: string } {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      shapes: { type: 'string' },
      cases: { type: 'string' },
      backends: { type: 'string' },
      out: { type: 'string' },
      'keep-going': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.log(HELP);
    process.exit(0);
  }
  const quick = values.quick!;
  const shapeNames = Object.keys(SHAPES) as (keyof typeof SHAPES)[];
  const options: BenchOptions = {
    shapes: list(values.shapes, shapeNames, 'shapes', quick ? ['tiny'] : ['seed', 'production']),
    cases: values.cases ? values.cases.split(',').map((s) => s.trim()) : [],
    backends: list<TfBackend>(values.backends, TF_BACKENDS, 'backends', [...TF_BACKENDS]),
    budget: quick
      ? { warmup: 1, iterations: 3, minIterations: 2, perRunnerMs: 1_000, singleAboveMs: 10_000 }
      : { warmup: 3, iterations: 30, minIterations: 3, perRunnerMs: 6_000, singleAboveMs: 20_000 },
    profileIterations: quick ? 1 : 5,
    keepGoing: values['keep-going']!,
    peak: quick ? { matmul: 128, copyElements: 1 << 18, iterations: 2 } : { matmul: 1024, copyElements: 1 << 22, iterations: 5 },
    log,
  };
  return { options, outDir: values.out ?? (quick ? join('bench', 'out', 'quick') : 'bench') };
}

async function main(): Promise<void> {
  const log = (line: string) => console.error(line);
  const { options, outDir } = parseBenchArgs(process.argv.slice(2), log);
  const started = performance.now();
  const results = await runBench(options);
  const markdown = markdownReport(results);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'results.md'), markdown);
  writeFileSync(join(outDir, 'results.json'), jsonReport(results));
  console.log(markdown);
  log(`bench: done in ${((performance.now() - started) / 1000).toFixed(0)} s; wrote ${join(outDir, 'results.md')} and ${join(outDir, 'results.json')}`);
  const disagreements = results.agreement.filter((r) => !r.agrees);
  if (disagreements.length > 0) {
    throw new Error(`ours and tfjs disagree in ${disagreements.map((r) => `${r.name} @ ${r.shape} (tfjs-${r.backend})`).join(', ')}`);
  }
}

main().then(
  // The Dawn instance and the tfjs backends keep handles open; the work is done.
  () => process.exit(0),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(1);
  },
);
