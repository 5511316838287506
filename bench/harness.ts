/**
 * Timing: warm-up, then rounds in which every implementation runs once, in an order that
 * rotates each round, so that drift of the machine (other jobs, clocks, caches) is shared by all
 * of them. Each timed iteration ends when its work is complete (a readback or
 * onSubmittedWorkDone, never a queued submit); that is the runner's job.
 */

export interface Runner {
  /** Row label, e.g. "ours/webgpu". */
  label: string;
  /** Untimed set-up before each iteration (switching the tfjs backend). */
  before?(): Promise<void>;
  /** One complete iteration: returns when the device has finished it. */
  iterate(): Promise<void>;
}

export interface TimingBudget {
  /** Warm-up iterations for runners whose first iteration was fast. */
  warmup: number;
  /** Timed iterations wanted per runner (fewer for slow runners, see `perRunnerMs`). */
  iterations: number;
  /** Fewest timed iterations of any runner that is timed at all. */
  minIterations: number;
  /** Time a runner may spend in timed iterations before it gets fewer than `iterations`. */
  perRunnerMs: number;
  /**
   * A runner whose first iteration takes longer than this is not run again: that iteration is
   * its only sample (reported with n = 1).
   */
  singleAboveMs: number;
}

export interface Timing {
  label: string;
  /** Timed iterations in ms, in the order they ran. */
  samples: number[];
  /** Set when the only sample is the first iteration (too slow to repeat). */
  note?: string;
}

export interface Summary {
  median: number;
  p10: number;
  p90: number;
  n: number;
}

/** Linear-interpolated quantile of sorted samples. */
function quantile(sorted: number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (at - lo);
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), p10: quantile(sorted, 0.1), p90: quantile(sorted, 0.9), n: sorted.length };
}

async function timeOnce(runner: Runner): Promise<number> {
  await runner.before?.();
  const start = performance.now();
  await runner.iterate();
  return performance.now() - start;
}

/**
 * Warms every runner up, sizes each one's iteration count to the budget from its warm time,
 * and runs the timed rounds alternating between runners.
 */
export async function timeAlternating(runners: Runner[], budget: TimingBudget, log: (line: string) => void = () => {}): Promise<Timing[]> {
  const first = new Map<Runner, number>();
  const warm = new Map<Runner, number>();
  for (const runner of runners) {
    // The first iteration compiles pipelines and grows pools; it is timed only when it is
    // too slow to repeat.
    let last = await timeOnce(runner);
    first.set(runner, last);
    if (last <= budget.singleAboveMs) {
      for (let i = 1; i < budget.warmup && last * (budget.warmup - i) < budget.perRunnerMs; i++) last = await timeOnce(runner);
      warm.set(runner, last);
    }
    log(`  warm ${runner.label}: ${last.toFixed(1)} ms`);
  }
  const planned = new Map<Runner, number>();
  for (const [runner, ms] of warm) {
    planned.set(runner, Math.max(budget.minIterations, Math.min(budget.iterations, Math.floor(budget.perRunnerMs / Math.max(ms, 1e-3)))));
  }
  const samples = new Map<Runner, number[]>(runners.map((r) => [r, []]));
  const rounds = Math.max(0, ...planned.values());
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < runners.length; k++) {
      const runner = runners[(round + k) % runners.length];
      if (round >= (planned.get(runner) ?? 0)) continue;
      samples.get(runner)!.push(await timeOnce(runner));
    }
  }
  return runners.map((runner) => {
    if (planned.has(runner)) return { label: runner.label, samples: samples.get(runner)! };
    const ms = first.get(runner)!;
    return { label: runner.label, samples: [ms], note: `one iteration (${(ms / 1000).toFixed(1)} s), not repeated` };
  });
}
