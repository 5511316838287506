/** The benchmark's reports: a markdown summary and the machine-readable results.json. */
import { AGREEMENT_TOLERANCE, type BenchResults, type ResultRow } from './bench.js';

const fmt = (x: number | null | undefined, digits = 2) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits));

function table(header: string[], rows: string[][]): string {
  return [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** The targets of the issue: ≥5× tfjs-webgpu and faster than tfjs-wasm (routing fwd+bwd, step), ≥50% of roofline. */
function targets(results: BenchResults): string[] {
  const lines: string[] = [];
  const find = (name: string, shape: string, backend: string): ResultRow | undefined =>
    results.cases.find((r) => r.name === name && r.shape === shape && r.impl === 'tfjs' && r.backend === backend);
  for (const name of ['routing.forward+backward', 'train.step']) {
    for (const shape of Object.keys(results.shapes)) {
      const webgpu = find(name, shape, 'webgpu');
      const wasm = find(name, shape, 'wasm');
      if (webgpu?.ratio_vs_ours != null) {
        const r = webgpu.ratio_vs_ours;
        lines.push(`- ${name} @ ${shape}: ${fmt(r)}× faster than tfjs-webgpu (target ≥ 5×): ${r >= 5 ? 'met' : `missed by ${fmt(5 / r)}×`}`);
      }
      if (wasm?.ratio_vs_ours != null) {
        const r = wasm.ratio_vs_ours;
        lines.push(`- ${name} @ ${shape}: ${fmt(r)}× vs tfjs-wasm (target > 1×): ${r > 1 ? 'met' : `missed by ${fmt(1 / r)}×`}`);
      }
    }
  }
  for (const row of results.steps ?? []) {
    const pct = row.hostShare * 100;
    lines.push(`- train.step @ ${row.shape}: host ${fmt(pct, 1)}% of the step (target < 10%): ${pct < 10 ? 'met' : 'missed'}`);
  }
  for (const row of results.roofline.filter((r) => r.timing === 'timestamps')) {
    const pct = row.fraction * 100;
    lines.push(`- ${row.kernel} @ ${row.shape} (case ${row.case}): ${fmt(pct, 1)}% of roofline (target ≥ 50%): ${pct >= 50 ? 'met' : 'missed'}`);
  }
  return lines;
}

export function markdownReport(results: BenchResults): string {
  const a = results.adapter;
  const p = results.peak;
  const out: string[] = [];
  out.push('# mind-webgpu vs TensorFlow.js');
  out.push('');
  out.push(
    `Adapter: ${[a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' / ')}; ` +
      `tfjs-webgpu on the same adapter: ${a.tfjsWebgpu ?? 'not run'}; GPU timestamps: ${a.timestamps ? 'yes (quantisation off)' : 'no'}. ` +
      `Node ${results.node}, ${results.date}.`,
  );
  out.push('');
  out.push(
    `Measured peak (${p.source}; the best run, sampled before every case and at the start and the end): ${fmt(p.gflops, 1)} GFLOP/s ` +
      `(our matmul, ${p.matmulSize}³), ${fmt(p.gbps, 1)} GB/s (copy kernel, ${fmt(p.copyBytes / 2 ** 20, 0)} MiB moved).`,
  );
  out.push('');
  out.push('Shapes: ' + Object.entries(results.shapes).map(([n, s]) => `**${n}** ${s}`).join('; ') + '.');
  out.push('');
  out.push('Method, formulas and the tfjs specifics (gradients, stop-gradient, the wasm segment sum, skipped cells): bench/README.md.');
  out.push('');
  out.push('## Timings');
  out.push('');
  out.push(
    'Median, p10 and p90 of wall-clock ms per iteration, each ending when the device has finished ' +
      '(onSubmittedWorkDone, or the loss readback for train.step); implementations alternate round by round. ' +
      '"× ours" = its median / our median (> 1: ours is faster).',
  );
  out.push('');
  out.push(
    table(
      ['case', 'shape', 'impl', 'backend', 'median ms', 'p10 ms', 'p90 ms', 'n', '× ours'],
      results.cases.map((r) => [
        r.name,
        r.shape,
        r.impl,
        r.backend,
        r.median_ms === null ? (r.note ?? '–') : fmt(r.median_ms) + (r.note ? ` (${r.note})` : ''),
        fmt(r.p10_ms),
        fmt(r.p90_ms),
        String(r.iterations),
        fmt(r.ratio_vs_ours),
      ]),
    ),
  );
  out.push('');
  if ((results.steps ?? []).length > 0) {
    out.push('## Training step: host and GPU');
    out.push('');
    out.push(
      'One train.step taken apart (medians): building the batch as the trainer does (src/data/batches.ts on a synthetic ' +
        "data set of the shape's N and L) and drawing the negatives; recording the step (loss, backward, both Adams: " +
        'row-gradient plans, uploads, encoding) up to its submit; then the GPU, from the submit to the loss readback ' +
        '(the host idle). Dispatches and submits per step from GpuRuntime.stats (the readback adds one small submit ' +
        'here); test/engine/dispatch-count.test.ts keeps the dispatch count from growing.',
    );
    out.push('');
    out.push(
      table(
        ['shape', 'batch ms', 'record + submit ms', 'GPU ms', 'host share', 'dispatches', 'submits', 'n'],
        results.steps.map((r) => [r.shape, fmt(r.batchMs), fmt(r.hostMs), fmt(r.gpuMs), `${fmt(100 * r.hostShare, 1)}%`, fmt(r.dispatches, 0), fmt(r.submits, 0), String(r.iterations)]),
      ),
    );
    out.push('');
  }
  out.push('## Targets');
  out.push('');
  out.push(...targets(results));
  out.push('');
  out.push('## Roofline');
  out.push('');
  out.push(
    'Analytic FLOPs and compulsory bytes (formulas in bench/roofline.ts); GPU time from timestamps summed over the ' +
      "phase's kernels (best profiled iteration, like the peaks), or the op's wall-clock median. " +
      'Attainable = min(peak GFLOP/s, AI × peak GB/s). Above 100%: the kernel outran our matmul, so the ' +
      'measured peak understates the device.',
  );
  out.push('');
  out.push(
    table(
      ['kernel', 'case', 'shape', 'GFLOP', 'MB', 'ms', 'timing', 'GFLOP/s', 'GB/s', 'AI', 'attainable', '% roofline', 'bound'],
      results.roofline.map((r) => [
        r.kernel,
        r.case,
        r.shape,
        fmt(r.gflop, 4),
        fmt(r.mb, 3),
        fmt(r.ms, 3),
        r.timing,
        fmt(r.gflops, 2),
        fmt(r.gbps, 2),
        fmt(r.intensity, 1),
        fmt(r.attainable, 1),
        fmt(r.fraction * 100, 1),
        r.bound,
      ]),
    ),
  );
  out.push('');
  out.push('## Per-kernel GPU time (timestamps)');
  out.push('');
  for (const prof of results.profiles) {
    if (prof.ours.length === 0 && !prof.tfjsWebgpu) continue;
    const total = prof.ours.reduce((s, k) => s + k.msPerIteration, 0);
    out.push(`### ${prof.name} @ ${prof.shape}`);
    out.push('');
    if (prof.ours.length > 0) {
      out.push(`Ours: ${fmt(total, 3)} ms of kernels per iteration (sum of medians).`);
      out.push('');
      out.push(
        table(
          ['kernel', 'phase', 'calls', 'median ms', 'best ms', 'share'],
          [...prof.ours]
            .sort((x, y) => y.msPerIteration - x.msPerIteration)
            .map((k) => [
              k.kernel,
              k.phase,
              fmt(k.callsPerIteration, 0),
              fmt(k.msPerIteration, 3),
              fmt(k.bestMs, 3),
              `${fmt((100 * k.msPerIteration) / total, 1)}%`,
            ]),
        ),
      );
      out.push('');
    }
    if (prof.tfjsWebgpu) {
      const tfTotal = prof.tfjsWebgpu.reduce((s, k) => s + k.ms, 0);
      const calls = prof.tfjsWebgpu.reduce((s, k) => s + k.calls, 0);
      out.push(`tfjs-webgpu: ${fmt(tfTotal, 3)} ms of kernels in ${calls} kernel calls; the top ones:`);
      out.push('');
      out.push(
        table(
          ['kernel', 'calls', 'ms', 'share'],
          prof.tfjsWebgpu.slice(0, 6).map((k) => [k.kernel, String(k.calls), fmt(k.ms, 3), `${fmt((100 * k.ms) / tfTotal, 1)}%`]),
        ),
      );
      out.push('');
    }
  }
  out.push('## Agreement');
  out.push('');
  out.push(`Largest |ours − tfjs| / largest |ours| per output, on the timed inputs, checked before timing (tolerance ${AGREEMENT_TOLERANCE}).`);
  out.push('');
  out.push(
    table(
      ['case', 'shape', 'backend', 'agree', 'outputs'],
      results.agreement.map((r) => [
        r.name,
        r.shape,
        r.backend,
        r.agrees ? 'yes' : '**NO**',
        Object.entries(r.outputs).map(([o, e]) => `${o} ${e.toExponential(1)}`).join(', '),
      ]),
    ),
  );
  out.push('');
  return out.join('\n');
}

/** results.json: the issue's schema (adapter, cases) plus the roofline, profiles and agreement. */
export function jsonReport(results: BenchResults): string {
  return JSON.stringify(results, null, 2) + '\n';
}
