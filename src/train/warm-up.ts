/**
 * Pipelines compiled before the first training step (the design: "compile asynchronously and
 * once"). Which pipelines a step uses depends on the model's configuration and shapes (override
 * constants: matmul's vector widths, routing's workgroup-memory plan, attention's K), so they are
 * not listed by hand: a dry run of one step (GpuRuntime.recordKernels: nothing is encoded, the
 * GPU computes nothing, no weight changes) records them, and createComputePipelineAsync compiles
 * them all at once. Anything the dry run did not reach (e.g. a last, smaller batch whose sizes
 * pick other constants) still compiles on first use.
 */
import type { Context } from '../autograd/context.js';
import type { Tensor } from '../autograd/tensor.js';
import type { MindModel, SampledCandidates } from '../mind/model.js';
import { Adam } from './adam.js';

export interface WarmUpWork {
  model: MindModel;
  /** A batch with the first step's shapes (any batch of the run: L and the widths are fixed). */
  batch: Parameters<MindModel['loss']>[0];
  candidates: SampledCandidates;
  /** The step number the draws are made for (any: the kernels do not depend on it). */
  step: number;
  /** The parameter groups the trainer's optimisers update (one Adam each). */
  parameterGroups: Tensor[][];
  /** An evaluation as the run will make it; run dry, its result discarded. */
  evaluate?: () => Promise<unknown>;
}

export interface WarmUpResult {
  /** Distinct pipelines the dry step (and evaluation) dispatched. */
  kernels: number;
  /** Of those, how many were compiled now (the rest were already cached). */
  compiled: number;
  /** Wall time of the dry run and the compilation, ms. */
  ms: number;
}

/**
 * Compiles, with createComputePipelineAsync, every pipeline of one training step (the model's
 * loss, its backward, one Adam step per parameter group) and of `work.evaluate` when given,
 * found by a dry run. The model's weights, gradients and the real optimisers are untouched (the
 * dry step's Adams are throwaway ones; their moment buffers go back to the pool, where the real
 * optimisers' first step finds them). `evaluate` must have no effect besides its result: it
 * runs once with every GPU read resolving to zeros. Throws what the dry step or a compilation
 * throws (a kernel that fails to compile is named).
 */
export async function compilePipelinesAhead(ctx: Context, work: WarmUpWork): Promise<WarmUpResult> {
  const started = performance.now();
  const { kernels, compiled } = await ctx.gpu.compileAhead(async () => {
    // As the trainer's step: the gradients live in the step's tidy scope, Adam consumes them.
    await ctx.tidy(async () => {
      const loss = work.model.loss(work.batch, work.candidates, work.step);
      await loss.backward();
      for (const params of work.parameterGroups) {
        const optimizer = new Adam(ctx, params);
        try {
          optimizer.step();
        } finally {
          optimizer.dispose();
        }
      }
      // Any gradient the dry step left (a parameter in no group) is dropped too.
      for (const p of work.model.params.values()) p.grad = null;
    });
    if (work.evaluate) await work.evaluate();
  });
  return { kernels, compiled, ms: performance.now() - started };
}
