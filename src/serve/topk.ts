/**
 * Exact top-k retrieval by inner product on the GPU. The scores of a block of items are one
 * product with the tuned GEMM (`matmul`, kernels/matmul.wgsl); kernels/topk.wgsl then selects
 * each query's k best of the block by radix select (no full sort) and, when the catalogue spans
 * several blocks, merges the blocks' lists with the same selection. Only the final `[Q, k]` ids
 * and scores are read back, never the `[Q, N]` score matrix.
 */
import source from '../../kernels/topk.wgsl?raw';
import type { Context } from '../autograd/context.js';
import { expectTensor } from '../autograd/ops/common.js';
import { matmul } from '../autograd/ops/matmul.js';
import { type Tensor, formatShape } from '../autograd/tensor.js';
import { kernelModule } from '../gpu/kernel.js';

const kernels = kernelModule('topk', source);

/** Threads per workgroup of kernels/topk.wgsl (mask_excluded: one pair per thread). */
const MASK_THREADS = 64;
/** Smallest upload of the exclusion pairs, in i32 words (16 KiB: 2,048 pairs). */
const MIN_PAIR_WORDS = 4096;

/** Largest k: the selection bounds the k-th score by the 256 keys its 64 threads keep (kernels/topk.wgsl). */
export const MAX_TOP_K = 256;
/**
 * Elements of the `[Q, block]` score matrix scored at once (64 MiB of f32): bounds the scratch
 * memory of any call and keeps each block well under the 128 MiB storage binding limit.
 */
export const SCORE_BLOCK_ELEMENTS = 16 * 1024 * 1024;

export interface TopKOptions {
  /** Ids below this are never returned (1 skips the padding id 0). Default 0. */
  firstItem?: number;
  /** Per query, item ids that must not be returned (e.g. the user's history). */
  exclude?: ArrayLike<number>[];
  /**
   * Items scored per block (default: as many as fit SCORE_BLOCK_ELEMENTS for this Q). Smaller
   * blocks bound the scratch memory; tests use it to exercise the merge of several blocks.
   */
  blockRows?: number;
}

export interface TopKResult {
  /** `[Q, k]` item ids, best first; -1 where fewer than k items were eligible. */
  ids: Int32Array;
  /** `[Q, k]` inner products matching `ids`. */
  scores: Float32Array;
}

/**
 * The k items with the largest inner product with each query, ties to the lower id.
 * `queries` `[Q, d]` f32, `items` `[N, d]` f32 (item id = row). Returns `[Q, k]` ids (i32, best
 * first, −1 where fewer than k items were eligible) and their f32 scores. Items are scored in
 * blocks of at most SCORE_BLOCK_ELEMENTS / Q rows (each block's rows copied out when it is part
 * of a buffer), so memory stays bounded at any N. `items` may be a table split over several
 * buffers (Context.table, e.g. allItemVectors of a large catalogue): blocks then follow its
 * shards, and the result is the same. `exclude` costs 8 bytes per listed id in range (a
 * (query, id) pair masked into each block's scores; at least 16 KiB), not a bitmap of the catalogue.
 * Throws when a tensor is not 2-D f32, the widths differ, k is outside [1, MAX_TOP_K], the
 * exclusion lists do not match Q, or Q exceeds the device's workgroup count per dimension.
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
  if (options.blockRows !== undefined && (!Number.isInteger(options.blockRows) || options.blockRows < 1)) {
    throw new RangeError(`topK: blockRows must be a positive integer, got ${options.blockRows}`);
  }
  if (Q === 0) return { ids: new Int32Array(0), scores: new Float32Array(0) };
  if (Q > ctx.gpu.limits.maxComputeWorkgroupsPerDimension) throw new RangeError(`topK: at most ${ctx.gpu.limits.maxComputeWorkgroupsPerDimension} queries per call, got ${Q}`);

  return ctx.tidy(async () => {
    // The excluded (query, item id) pairs, 8 bytes each: memory follows the histories, not N.
    const pairs: number[] = [];
    options.exclude?.forEach((list, q) => {
      for (let i = 0; i < list.length; i++) {
        const id = list[i];
        if (id >= 0 && id < N) pairs.push(q, id);
      }
    });
    const pairCount = pairs.length / 2;
    // Uploaded into one of few sizes (a power of two, at least MIN_PAIR_WORDS), so that calls with
    // different batch sizes and histories share the pool's buffers: a server's memory stays flat
    // once it has seen its largest batch.
    const words = Math.max(MIN_PAIR_WORDS, 2 ** Math.ceil(Math.log2(Math.max(1, pairs.length))));
    const pairWords = new Int32Array(words);
    pairWords.set(pairs);
    const excluded = ctx.tensor(pairWords, [words]);
    const select = kernels.entry('select_top');
    const mask = kernels.entry('mask_excluded');
    const maskGroups = Math.ceil(pairCount / MASK_THREADS);
    const maxGroups = ctx.gpu.limits.maxComputeWorkgroupsPerDimension;
    const maskGrid: [number, number] = [Math.min(maskGroups, maxGroups), Math.ceil(maskGroups / maxGroups)];
    const constants = { K: k };
    // Blocks never span two shards of a table split over several buffers (Context.table).
    const blockRows = Math.max(1, Math.min(N, options.blockRows ?? Math.floor(SCORE_BLOCK_ELEMENTS / Q)));
    const plan: { shard: Tensor; begin: number; rows: number; baseId: number }[] = [];
    items.shards.forEach((shard, s) => {
      const shardRows = shard.shape[0];
      for (let begin = 0; begin < shardRows; begin += blockRows) {
        plan.push({ shard, begin, rows: Math.min(blockRows, shardRows - begin), baseId: s * items.rowsPerShard + begin });
      }
    });
    if (plan.length === 0) plan.push({ shard: items, begin: 0, rows: 0, baseId: 0 });
    const blocks = plan.length;
    let scores = ctx.empty([Q, blocks, k], 'f32', 'topk.scores');
    let ids = ctx.empty([Q, blocks, k], 'i32', 'topk.ids');
    for (const [block, { shard, begin, rows, baseId }] of plan.entries()) {
      ctx.tidy(() => {
        const whole = begin === 0 && rows === shard.shape[0];
        const blockItems = whole ? shard : copyRows(shard, begin, rows);
        const blockScores = ctx.noGrad(() => matmul(queries, blockItems, { transB: true }));
        const blockParams = { n: rows, base_id: baseId, first_item: firstItem, pairs: pairCount, has_ids: 0, block, blocks };
        if (pairCount > 0) mask.run(ctx, { params: blockParams, score_slots: blockScores, excluded }, maskGrid, constants);
        select.run(
          ctx,
          {
            params: blockParams,
            scores: blockScores,
            in_ids: excluded, // not read by the first pass (ids are implicit); any buffer binds
            out_scores: scores,
            out_ids: ids,
          },
          [1, Q],
          constants,
        );
      });
      // The block's scores are released when its tidy ends, but the pool hands a released
      // buffer out again only once the submit that used it has completed: recorded into one
      // submit, every block would keep its own Q × blockRows scores (64 MiB each) and device
      // memory would grow with N. Waiting for each block keeps one block's buffers in use.
      if (block + 1 < blocks) await ctx.gpu.sync();
    }
    if (blocks > 1) {
      const merged = ctx.empty([Q, 1, k], 'f32', 'topk.scores');
      const mergedIds = ctx.empty([Q, 1, k], 'i32', 'topk.ids');
      select.run(
        ctx,
        {
          params: { n: blocks * k, base_id: 0, first_item: 0, pairs: 0, has_ids: 1, block: 0, blocks: 1 },
          scores,
          in_ids: ids,
          out_scores: merged,
          out_ids: mergedIds,
        },
        [1, Q],
        constants,
      );
      scores = merged;
      ids = mergedIds;
    }
    return { ids: (await ids.read()) as Int32Array, scores: (await scores.read()) as Float32Array };
  });
}

/** Rows begin .. begin + rows − 1 of a `[N, d]` table, copied into a new `[rows, d]` tensor. */
function copyRows(table: Tensor, begin: number, rows: number): Tensor {
  const ctx = table.ctx;
  const d = table.shape[1];
  const out = ctx.empty([rows, d], 'f32', 'topk.block');
  ctx.gpu.copy(table.buffer, begin * d * 4, out.buffer, 0, rows * d * 4);
  return out;
}
