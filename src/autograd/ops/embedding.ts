/**
 * Embedding bags (kernels/embedding.wgsl): each output row is a weighted sum of table rows, which
 * covers a plain gather (one row, weight 1), mean pooling over side features (weights 1/n) and
 * padding (an empty bag gives zeros and no gradient). The backward returns a `RowGrad`: the
 * touched rows only, each the sum of its occurrences in a fixed order, so it is bitwise
 * reproducible and never a dense N×d gradient.
 *
 * A table split over several buffers (Context.table, Tensor.shards) is gathered shard by shard
 * into one buffer of the distinct rows the bags touch, then summed from there in the same entry
 * order: each output is then bitwise the output of the unsplit table. The row gradient is keyed
 * by global row whether the table is split or not.
 */
import { RowGrad, type Tensor, formatShape, shapeSize } from '../tensor.js';
import { expectTensor, flatGrid } from './common.js';
import { embeddingKernels } from './kernels.js';
import { placesInSorted, sortedDistinct } from './sorted-ids.js';

/** Bags in CSR form: bag r holds entries `offsets[r] .. offsets[r+1]-1`. */
export interface Bags {
  /** `[R + 1]`, non-decreasing, from 0 to indices.length. */
  offsets: Int32Array;
  /** Row of the table for each entry, in [0, N). */
  indices: Int32Array;
  /** Weight of each entry; default 1. */
  weights?: Float32Array;
}

/** Runs bag_sum: out[r] = Σ_k weights[k]·source[indices[k]] over bag r. */
export function bagSum(sourceTable: Tensor, bags: Bags, outShape: readonly number[], label: string): Tensor {
  const ctx = sourceTable.ctx;
  const rows = bags.offsets.length - 1;
  // The row width comes from the output: the source may be an output gradient shaped like a
  // caller's outShape (e.g. [B, L, d]), whose leading dimension is not the bag count.
  const width = rows === 0 ? 0 : shapeSize(outShape) / rows;
  const weights = bags.weights ?? new Float32Array(bags.indices.length).fill(1);
  const out = ctx.empty(outShape, 'f32', label);
  const offsets = ctx.tensor(bags.offsets, [bags.offsets.length]);
  const indices = ctx.tensor(bags.indices, [bags.indices.length]);
  const weightTensor = ctx.tensor(weights, [weights.length]);
  embeddingKernels.entry('bag_sum').run(
    ctx,
    { params: { rows, width, first: 0 }, offsets, indices, weights: weightTensor, source: sourceTable, out },
    flatGrid(rows * width),
  );
  // Safe right away: release is deferred until the submit that reads them has completed.
  for (const t of [offsets, indices, weightTensor]) t.dispose();
  return out;
}

/** out[rows[r]] += values[r] for unique `rows`, in place on `out`. */
export function scatterAddRows(out: Tensor, rows: Int32Array, values: Tensor): void {
  const ctx = out.ctx;
  const width = values.shape.length > 1 ? values.size / values.shape[0] : 1;
  const rowTensor = ctx.tensor(rows, [rows.length]);
  embeddingKernels.entry('rows_scatter_add').run(
    ctx,
    { params: { rows: rows.length, width, first: 0 }, indices: rowTensor, source: values, out },
    flatGrid(rows.length * width),
  );
  rowTensor.dispose();
}

/**
 * Transposes bags into a per-row plan: for each touched table row (ascending), the entries that
 * read it, in ascending entry order. Summing the output gradient along this plan gives each row's
 * gradient deterministically without atomics.
 *
 * The work is O(E log E) in the E = indices.length entries and independent of the table's
 * `numRows`: it runs on every training step, so nothing here may be sized by the catalogue (a
 * counting pass over [numRows] would cost a million-item table 8 MB and a million-long scan per
 * step). `numRows` only bounds the row ids (checked by embeddingBag).
 */
export function transposeBags(bags: Bags, numRows: number): { rows: Int32Array; plan: Bags } {
  const { offsets, indices } = bags;
  const E = indices.length;
  const weights = bags.weights ?? new Float32Array(E).fill(1);
  const bagOf = new Int32Array(E);
  for (let r = 0; r + 1 < offsets.length; r++) for (let k = offsets[r]; k < offsets[r + 1]; k++) bagOf[k] = r;
  // Entries ordered by (row, entry): one key row·E + k per entry, exact in a double while
  // numRows·E < 2^53, sorted numerically.
  if (numRows * Math.max(E, 1) > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`transposeBags: numRows (${numRows}) times entries (${E}) exceeds 2^53`);
  }
  const keys = new Float64Array(E);
  for (let k = 0; k < E; k++) keys[k] = indices[k] * E + k;
  keys.sort();
  const rowsList: number[] = [];
  const planOffsets: number[] = [0];
  const planIndices = new Int32Array(E);
  const planWeights = new Float32Array(E);
  for (let s = 0; s < E; s++) {
    const k = keys[s] % E;
    const row = indices[k];
    if (s === 0 || row !== rowsList[rowsList.length - 1]) {
      if (s > 0) planOffsets.push(s);
      rowsList.push(row);
    }
    planIndices[s] = bagOf[k];
    planWeights[s] = weights[k];
  }
  if (E > 0) planOffsets.push(E);
  return { rows: Int32Array.from(rowsList), plan: { offsets: Int32Array.from(planOffsets), indices: planIndices, weights: planWeights } };
}

function checkBags(bags: Bags, numRows: number, name: string): void {
  const { offsets, indices, weights } = bags;
  if (!(offsets instanceof Int32Array) || !(indices instanceof Int32Array)) {
    throw new Error(`embeddingBag: ${name}.offsets and ${name}.indices must be Int32Arrays`);
  }
  if (offsets.length < 1 || offsets[0] !== 0 || offsets[offsets.length - 1] !== indices.length) {
    throw new Error(
      `embeddingBag: ${name}.offsets must run from 0 to indices.length (${indices.length}), ` +
        `got ${offsets[0]} .. ${offsets[offsets.length - 1]}`,
    );
  }
  for (let r = 1; r < offsets.length; r++) {
    if (offsets[r] < offsets[r - 1]) throw new Error(`embeddingBag: ${name}.offsets[${r}] = ${offsets[r]} decreases`);
  }
  for (let k = 0; k < indices.length; k++) {
    if (indices[k] < 0 || indices[k] >= numRows) {
      throw new Error(`embeddingBag: ${name}.indices[${k}] = ${indices[k]} is outside [0, ${numRows})`);
    }
  }
  if (weights) {
    if (weights.length !== indices.length) {
      throw new Error(`embeddingBag: ${name}.weights has ${weights.length} entries, indices ${indices.length}`);
    }
    weights.forEach((w, k) => {
      if (!Number.isFinite(w)) throw new Error(`embeddingBag: ${name}.weights[${k}] is ${w}`);
    });
  }
}

/**
 * Weighted bags of rows of `table` `[N, ...row]` f32 → `[R, ...row]` f32 (or `outShape`, same
 * size): out[r] = Σ_k weights[k]·table[indices[k]] over bag r, summed in entry order (SPEC §4's
 * item-vector mean is such a bag). `table` may be split over several buffers (Context.table);
 * the result is bitwise the same. The gradient to `table` is a RowGrad over the (global) rows the
 * bags touched. Throws when the table is not f32 of rank ≥ 1, the bags are malformed (offsets,
 * an index outside [0, N), a non-finite weight) or outShape does not hold R rows.
 */
export function embeddingBag(table: Tensor, bags: Bags, outShape?: readonly number[]): Tensor {
  expectTensor('embeddingBag', 'table', table, 'f32');
  if (table.rank < 1) throw new Error(`embeddingBag: table must have rank >= 1, got ${formatShape(table.shape)}`);
  const numRows = table.shape[0];
  checkBags(bags, numRows, 'bags');
  const rowShape = table.shape.slice(1);
  const rows = bags.offsets.length - 1;
  const shape = outShape ?? [rows, ...rowShape];
  const width = rowShape.reduce((a, b) => a * b, 1);
  if (shape.reduce((a, b) => a * b, 1) !== rows * width) {
    throw new Error(`embeddingBag: outShape ${formatShape(shape)} does not hold ${rows} rows of ${width}`);
  }
  // One buffer: read it directly (one dispatch, as before tables could be split).
  let out: Tensor;
  if (table.shards.length === 1) {
    out = bagSum(table, bags, shape, 'embeddingBag');
  } else {
    const gathered = gatherShardRows(table, bags, width);
    out = bagSum(gathered.rows, gathered.bags, shape, 'embeddingBag');
    gathered.rows.dispose();
  }
  table.ctx.tape.record('embeddingBag', [table], [out], ([g]) => {
    const { rows: touched, plan } = transposeBags(bags, numRows);
    const values = bagSum(g!, plan, [touched.length, ...rowShape], 'embeddingBag.grad');
    return [new RowGrad(touched, values, table.shape)];
  });
  return out;
}

/** Mean of each bag's rows (weights 1/|bag|); an empty bag gives zeros. */
export function embeddingMean(table: Tensor, offsets: Int32Array, indices: Int32Array, outShape?: readonly number[]): Tensor {
  const weights = new Float32Array(indices.length);
  for (let r = 0; r + 1 < offsets.length; r++) {
    const n = offsets[r + 1] - offsets[r];
    for (let k = offsets[r]; k < offsets[r + 1]; k++) weights[k] = 1 / n;
  }
  return embeddingBag(table, { offsets, indices, weights }, outShape);
}

/**
 * The rows of a table split over several buffers that `bags` read, gathered into one buffer:
 * `rows` `[U, ...row]` holds the distinct rows touched, ascending, and `bags` are the same bags
 * with each index replaced by its row's place in `rows` (weights and order unchanged).
 */
function gatherShardRows(table: Tensor, bags: Bags, width: number): { rows: Tensor; bags: Bags } {
  const distinct = sortedDistinct(bags.indices);
  const rows = gatherDistinctRows(table, distinct, width, 'embeddingBag.rows');
  const indices = placesInSorted(distinct, bags.indices);
  return { rows, bags: { offsets: bags.offsets, indices, ...(bags.weights ? { weights: bags.weights } : {}) } };
}

/**
 * Rows `distinct` (ascending, distinct, each in [0, N)) of a row table `[N, ...row]` f32 (split
 * over several buffers or not) copied exactly into one new tensor `[U, ...row]`, U =
 * distinct.length, labelled `label`: one rows_gather dispatch per shard that holds a listed row,
 * writing that shard's rows only. `width` is the row's element count. No checks: callers
 * validate the ids. Records nothing on the tape.
 */
export function gatherDistinctRows(table: Tensor, distinct: Int32Array, width: number, label: string): Tensor {
  const ctx = table.ctx;
  const rows = ctx.empty([distinct.length, ...table.shape.slice(1)], 'f32', label);
  const perShard = table.rowsPerShard;
  let from = 0;
  table.shards.forEach((shard, s) => {
    const base = s * perShard;
    let to = from;
    while (to < distinct.length && distinct[to] < base + shard.shape[0]) to++;
    if (to === from) return;
    const local = ctx.tensor(Int32Array.from(distinct.subarray(from, to), (row) => row - base), [to - from]);
    embeddingKernels.entry('rows_gather').run(
      ctx,
      { params: { rows: to - from, width, first: from }, indices: local, source: shard, out: rows },
      flatGrid((to - from) * width),
    );
    local.dispose();
    from = to;
  });
  return rows;
}
