/**
 * Exact top-k retrieval by inner product on the GPU (kernels/topk.wgsl). Only the final
 * `[Q, k]` ids and scores are read back, never the `[Q, N]` score matrix.
 */
import source from '../../kernels/topk.wgsl?raw';
import type { Context } from '../autograd/context.js';
import { expectTensor } from '../autograd/ops/common.js';
import { type Tensor, formatShape } from '../autograd/tensor.js';
import { kernelModule } from '../gpu/kernel.js';

const kernels = kernelModule('topk', source);

const CHUNK = 1024;
/** Largest k: a pass must shrink the candidate list, so k stays well under the chunk size. */
export const MAX_TOP_K = 256;

export interface TopKOptions {
  /** Ids below this are never returned (1 skips the padding id 0). Default 0. */
  firstItem?: number;
  /** Per query, item ids that must not be returned (e.g. the user's history). */
  exclude?: ArrayLike<number>[];
}

export interface TopKResult {
  /** `[Q, k]` item ids, best first; -1 where fewer than k items were eligible. */
  ids: Int32Array;
  /** `[Q, k]` inner products matching `ids`. */
  scores: Float32Array;
}

/**
 * The k items with the largest inner product with each query, ties to the lower id.
 * `queries` `[Q, d]`, `items` `[N, d]`.
 */
export async function topKInnerProduct(queries: Tensor, items: Tensor, k: number, options: TopKOptions = {}): Promise<TopKResult> {
  expectTensor('topK', 'queries', queries, 'f32', 2);
  expectTensor('topK', 'items', items, 'f32', 2);
  const ctx: Context = queries.ctx;
  const [Q, d] = queries.shape;
  const [N, dItems] = items.shape;
  if (dItems !== d) throw new Error(`topK: items ${formatShape(items.shape)} and queries ${formatShape(queries.shape)} differ in width`);
  if (!Number.isInteger(k) || k < 1 || k > MAX_TOP_K) throw new RangeError(`topK: k must be an integer in [1, ${MAX_TOP_K}], got ${k}`);
  const firstItem = options.firstItem ?? 0;
  if (options.exclude && options.exclude.length !== Q) {
    throw new Error(`topK: exclude has ${options.exclude.length} lists for ${Q} queries`);
  }
  if (Q === 0) return { ids: new Int32Array(0), scores: new Float32Array(0) };
  if (Q > ctx.gpu.limits.maxComputeWorkgroupsPerDimension) throw new RangeError(`topK: at most ${ctx.gpu.limits.maxComputeWorkgroupsPerDimension} queries per call, got ${Q}`);

  return ctx.tidy(async () => {
    const words = Math.max(1, Math.ceil(N / 32));
    let excludeTensor: Tensor;
    if (options.exclude) {
      const bitmap = new Int32Array(Q * words);
      options.exclude.forEach((list, q) => {
        for (let i = 0; i < list.length; i++) {
          const id = list[i];
          if (id >= 0 && id < N) bitmap[q * words + (id >>> 5)] |= 1 << (id & 31);
        }
      });
      excludeTensor = ctx.tensor(bitmap, [Q * words]);
    } else {
      excludeTensor = ctx.empty([1], 'i32');
    }
    const constants = { D: d, K: k };
    let chunks = Math.max(1, Math.ceil(N / CHUNK));
    let scores = ctx.empty([Q, chunks, k], 'f32', 'topk.scores');
    let ids = ctx.empty([Q, chunks, k], 'i32', 'topk.ids');
    kernels.entry('score_chunks').run(
      ctx,
      {
        params: { n: N, first_item: firstItem, use_exclude: options.exclude ? 1 : 0, exclude_words: words },
        queries,
        items,
        exclude: excludeTensor,
        out_scores: scores,
        out_ids: ids,
      },
      [chunks, Q],
      constants,
    );
    while (chunks > 1) {
      const n = chunks * k;
      chunks = Math.ceil(n / CHUNK);
      const nextScores = ctx.empty([Q, chunks, k], 'f32', 'topk.scores');
      const nextIds = ctx.empty([Q, chunks, k], 'i32', 'topk.ids');
      kernels.entry('select_chunks').run(
        ctx,
        {
          params: { n, first_item: 0, use_exclude: 0, exclude_words: 0 },
          in_scores: scores,
          in_ids: ids,
          out_scores: nextScores,
          out_ids: nextIds,
        },
        [chunks, Q],
        constants,
      );
      scores = nextScores;
      ids = nextIds;
    }
    return { ids: (await ids.read()) as Int32Array, scores: (await scores.read()) as Float32Array };
  });
}
