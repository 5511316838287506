/**
 * Sampled softmax loss with negatives shared by the batch (SPEC §3, kernels/sampled_softmax.wgsl).
 * The products run on the matmul family (src/autograd/ops/matmul.ts); the kernels here do the
 * rest. Forward: four dispatches (prepare: the negative rows gathered into G [S, d], Vᵀ, row
 * magnitudes and the label logits; the matmul Lᵀ = G·Vᵀ; a per-sample log-sum-exp that, when a
 * backward will run, overwrites Lᵀ with the probabilities Pᵀ; the mean). Backward: the matmuls
 * P·G and Pᵀ·V (and Pᵀ·1 with a bias), then one grad_finish dispatch for the user gradient and
 * the per-row sums along a host-built plan. The item table and bias get `RowGrad`s over the rows
 * touched (labels ∪ negatives, ascending), each row's contributions summed in a fixed order,
 * so gradients are bitwise reproducible and never dense N×d. A table split over several
 * buffers (Context.table) first has its touched rows gathered into one (one dispatch per shard
 * holding some): the results are bitwise those of the unsplit table.
 */
import source from '../../../kernels/sampled_softmax.wgsl?raw';
import { type KernelBindings, kernelModule } from '../../gpu/kernel.js';
import { gridFor } from '../../gpu/runtime.js';
import { RowGrad, type Tensor, formatShape } from '../../autograd/tensor.js';
import { expectTensor, flatGrid } from '../../autograd/ops/common.js';
import { gatherDistinctRows } from '../../autograd/ops/embedding.js';
import { INDEX_WGSL, WORKGROUP_REDUCE_WGSL } from '../../autograd/ops/kernels.js';
import { matmul } from '../../autograd/ops/matmul.js';
import { placesInSorted, sortedDistinct } from '../../autograd/ops/sorted-ids.js';

const kernels = kernelModule('sampled_softmax', INDEX_WGSL, WORKGROUP_REDUCE_WGSL, source);

export interface SampledSoftmaxOptions {
  /** Per-item logit bias `[N]`; gets a `RowGrad` (width 1) over the touched rows. */
  bias?: Tensor;
  /** `[N]`: log of the expected count of each item among the S draws; subtracted, no gradient. */
  logQ?: Tensor;
  /** Give a negative equal to the sample's label logit −∞ (default true). */
  removeAccidentalHits?: boolean;
}

const HAS_BIAS = 1;
const HAS_LOGQ = 2;
const REMOVE_HITS = 4;
const WRITE_PROBS = 8;
/** forward_lse: threads per workgroup, each taking a quad of 4 samples. */
const LSE_QUADS = 16;

/**
 * For each touched row (labels ∪ negatives, ascending), the contributions to its gradient, in
 * order: negative slots s ascending (entry s), then samples b ascending whose label it is
 * (entry −b − 1). Returned as one i32 array: offsets `[R + 1]` then the entries `[S + B]`.
 */
export function touchedRowsPlan(labels: Int32Array, negatives: Int32Array): { rows: Int32Array; plan: Int32Array } {
  const S = negatives.length;
  const M = S + labels.length;
  const rowOf = (k: number) => (k < S ? negatives[k] : labels[k - S]);
  // Sorting row·M + k orders by row, then by entry position.
  const keys = new Float64Array(M);
  for (let k = 0; k < M; k++) keys[k] = rowOf(k) * M + k;
  keys.sort();
  const rows: number[] = [];
  const offsets: number[] = [];
  const plan = new Int32Array(M);
  keys.forEach((key, i) => {
    const k = key % M;
    const row = rowOf(k);
    if (rows.length === 0 || rows[rows.length - 1] !== row) {
      rows.push(row);
      offsets.push(i);
    }
    plan[i] = k < S ? k : -(k - S) - 1;
  });
  offsets.push(M);
  const out = new Int32Array(offsets.length + M);
  out.set(offsets);
  out.set(plan, offsets.length);
  return { rows: Int32Array.from(rows), plan: out };
}

function checkIndices(op: string, name: string, t: Tensor, N: number): Int32Array {
  if (!t.host) throw new Error(`${op}: ${name} needs its host copy (create it with ctx.tensor from an Int32Array)`);
  t.host.forEach((v, i) => {
    if (v < 0 || v >= N) throw new Error(`${op}: ${name}[${i}] = ${v} is outside [0, ${N})`);
  });
  return t.host;
}

/**
 * Mean over b of logsumexp(l_b0, l_b1..l_bS) − l_b0 → `[1]` f32 (SPEC §3), with user `[B, d]`
 * f32, itemTable `[N, d]` f32 (one buffer, or split over several: Context.table), labels `[B]`
 * i32 and negatives `[S]` i32 shared by the batch (item ids, both with host copies),
 * l_b0 = v_b·W_{y_b} + c − logQ and l_bs = v_b·W_{n_s} + c − logQ (options: bias c `[N]`, logQ
 * `[N]`, removeAccidentalHits). Gradients: user (dense `[B, d]`), itemTable and bias (`RowGrad`s
 * over the touched rows, ascending); none to logQ. The probabilities Pᵀ `[S, B4]`, p_b0 − 1 and
 * the gathered rows Gᵀ are saved on the tape for the backward (which may run outside the
 * forward's tidy); without a recorded backward the probabilities are not computed. Finite for
 * any finite input (logits saturate at ±2^126; see kernels/sampled_softmax.wgsl). Throws,
 * before any dispatch, naming the argument: a tensor of the wrong dtype or rank, B, d or S of 0,
 * widths or lengths that disagree, an id outside [0, N), ids without a host copy, a
 * non-boolean removeAccidentalHits.
 */
export function sampledSoftmaxLoss(
  user: Tensor,
  itemTable: Tensor,
  labels: Tensor,
  negatives: Tensor,
  options: SampledSoftmaxOptions = {},
): Tensor {
  const op = 'sampledSoftmaxLoss';
  expectTensor(op, 'user', user, 'f32', 2);
  expectTensor(op, 'itemTable', itemTable, 'f32', 2);
  expectTensor(op, 'labels', labels, 'i32', 1);
  expectTensor(op, 'negatives', negatives, 'i32', 1);
  const [B, d] = user.shape;
  const [N, dTable] = itemTable.shape;
  const S = negatives.shape[0];
  if (B < 1) throw new Error(`${op}: user ${formatShape(user.shape)} has no samples (B must be ≥ 1)`);
  if (d < 1) throw new Error(`${op}: user ${formatShape(user.shape)} has width 0`);
  if (dTable !== d) throw new Error(`${op}: itemTable ${formatShape(itemTable.shape)} and user ${formatShape(user.shape)} differ in width`);
  if (labels.shape[0] !== B) throw new Error(`${op}: labels ${formatShape(labels.shape)} must have shape [${B}] (one per user row)`);
  if (S < 1) throw new Error(`${op}: negatives ${formatShape(negatives.shape)} is empty (S must be ≥ 1)`);
  const { bias, logQ, removeAccidentalHits = true } = options;
  for (const [name, t] of [['bias', bias], ['logQ', logQ]] as const) {
    if (t === undefined) continue;
    expectTensor(op, name, t, 'f32', 1);
    if (t.shape[0] !== N) throw new Error(`${op}: ${name} ${formatShape(t.shape)} must have shape [${N}] (one per item)`);
  }
  if (typeof removeAccidentalHits !== 'boolean') {
    throw new Error(`${op}: removeAccidentalHits must be a boolean, got ${String(removeAccidentalHits)}`);
  }
  const labelIds = checkIndices(op, 'labels', labels, N);
  const negativeIds = checkIndices(op, 'negatives', negatives, N);

  const ctx = user.ctx;
  const differentiable = bias ? [user, itemTable, bias] : [user, itemTable];
  // The probabilities overwrite the logits only when a backward will read them.
  const recorded = ctx.gradEnabled && differentiable.some((t) => t.requiresGrad);
  const flags = (bias ? HAS_BIAS : 0) | (logQ ? HAS_LOGQ : 0) | (removeAccidentalHits ? REMOVE_HITS : 0);
  // Lᵀ's columns: the samples rounded up to a multiple of 4, read as vec4s by forward_lse.
  const quads = Math.ceil(B / 4);
  const B4 = 4 * quads;
  const params = (p: { extraFlags?: number; userRows?: number; rows?: number } = {}) => ({
    batch: B,
    num_neg: S,
    dim: d,
    flags: flags | (p.extraFlags ?? 0),
    user_rows: p.userRows ?? 0,
    rows: p.rows ?? 0,
    quads,
  });
  const run = (entryPoint: string, bindings: KernelBindings, workgroups: readonly [number, number?]) =>
    kernels.entry(entryPoint).run(ctx, bindings, workgroups);
  // Absent bias / logQ bind the table's first shard as a placeholder; the flags keep the kernels from reading it.
  const biasBinding = bias ?? itemTable.shards[0];
  const logQBinding = logQ ?? itemTable.shards[0];

  // Rows are read from `src`: the table itself, or, split over several buffers, its touched rows.
  let src = itemTable;
  let labelRows = labels;
  let negativeRows = negatives;
  const split = itemTable.shards.length > 1;
  if (split) {
    const touched = sortedDistinct([...labelIds, ...negativeIds]);
    src = gatherDistinctRows(itemTable, touched, d, `${op}.rows`);
    labelRows = ctx.tensor(placesInSorted(touched, labelIds), [B], { label: `${op}.labelRows` });
    negativeRows = ctx.tensor(placesInSorted(touched, negativeIds), [S], { label: `${op}.negativeRows` });
  }

  const gathered = ctx.empty([S, d], 'f32', `${op}.gathered`);
  const gatheredT = ctx.empty([d, S], 'f32', `${op}.gatheredT`);
  const userT = ctx.empty([d, B4], 'f32', `${op}.userT`);
  const rowMax = ctx.empty([S + B], 'f32', `${op}.rowMax`);
  const slotOffset = ctx.empty([S], 'f32', `${op}.slotOffset`);
  const labelGrad = ctx.empty([B], 'f32', `${op}.labelGrad`);
  const stats = ctx.empty([B, 4], 'f32', `${op}.stats`);
  const loss = ctx.empty([1], 'f32', op);
  run(
    'prepare',
    {
      params: params(),
      user,
      src,
      labels,
      negatives,
      label_rows: labelRows,
      negative_rows: negativeRows,
      bias: biasBinding,
      logq: logQBinding,
      gathered,
      gathered_t: gatheredT,
      user_t: userT,
      row_max: rowMax,
      stats,
      slot_offset: slotOffset,
    },
    flatGrid(S + B4),
  );
  // Lᵀ [S, B4]: sample-minor, so forward_lse's threads (a quad of samples each) read along rows.
  const logits = ctx.noGrad(() => matmul(gathered, userT));
  // Pᵀ·V wants V [B4, d]: the user tensor itself when B4 = B, else Vᵀ read transposed.
  const padded = B4 !== B;
  if (!padded) userT.dispose();
  run(
    'forward_lse',
    {
      params: params({ extraFlags: recorded ? WRITE_PROBS : 0 }),
      user,
      labels,
      negatives,
      gathered,
      row_max: rowMax,
      logits4: logits,
      stats,
      slot_offset: slotOffset,
      label_grad: labelGrad,
    },
    gridFor(Math.ceil(quads / LSE_QUADS)),
  );
  for (const t of [rowMax, slotOffset, gathered]) t.dispose();
  run('forward_mean', { params: params(), stats, loss }, [1]);
  stats.dispose();
  if (split) negativeRows.dispose();

  // Kept for the backward: Pᵀ (in `logits`), p_b0 − 1, Gᵀ, Vᵀ when padded, and (split table) the
  // rows read from src and the labels' places in them.
  const kept = [logits, labelGrad, gatheredT, ...(padded ? [userT] : []), ...(split ? [src, labelRows] : [])];
  const probs = logits;
  ctx.tape.record(op, differentiable, [loss], ([g]) => {
    const grads: (Tensor | RowGrad | null)[] = [null, null, null];
    const wantUser = user.requiresGrad;
    const wantRows = itemTable.requiresGrad || (bias?.requiresGrad ?? false);
    const temporaries: Tensor[] = [];
    const temp = (t: Tensor) => (temporaries.push(t), t);
    // Four floats: enough for a vec4 binding.
    const placeholder = () => temp(ctx.empty([4], 'f32', `${op}.unused`));
    // dv before scaling, transposed: (Σ_s p_bs W_{n_s})ᵀ = Gᵀ Pᵀ [d, B4] (the matmul family's
    // plain layout, faster than (Pᵀ)ᵀ G); the slot sums Pᵀ V and Pᵀ 1.
    const userPartT = wantUser ? temp(matmul(gatheredT, probs)) : placeholder();
    const slotGrad = wantRows ? temp(padded ? matmul(probs, userT, { transB: true }) : matmul(probs, user)) : placeholder();
    // Pᵀ·1 over all B4 columns: the padding columns of Pᵀ are zeros.
    const ones = () => temp(ctx.tensor(new Float32Array(B4).fill(1), [B4, 1]));
    const slotSum = wantRows && bias ? temp(matmul(probs, ones())) : placeholder();
    let rows: Int32Array = new Int32Array(0);
    let planTensor = labels;
    if (wantRows) {
      const built = touchedRowsPlan(labelIds, negativeIds);
      rows = built.rows;
      planTensor = temp(ctx.tensor(built.plan, [built.plan.length], { label: `${op}.plan` }));
    }
    const R = rows.length;
    const gradUser = wantUser ? ctx.empty([B, d], 'f32', `${op}.grad.user`) : placeholder();
    const rowValues = wantRows ? ctx.empty([R, d], 'f32', `${op}.grad.table`) : placeholder();
    const biasValues = wantRows ? ctx.empty([R], 'f32', `${op}.grad.bias`) : placeholder();
    const userRows = wantUser ? B : 0;
    // Four columns per thread when the rows are vec4-aligned.
    const vec4 = d % 4 === 0;
    const width = vec4 ? d / 4 : d;
    run(
      vec4 ? 'grad_finish4' : 'grad_finish',
      {
        params: params({ userRows, rows: R }),
        [vec4 ? 'user4' : 'user']: user,
        [vec4 ? 'src4' : 'src']: src,
        label_rows: labelRows,
        label_grad: labelGrad,
        upstream: g!,
        user_part_t: userPartT,
        [vec4 ? 'slot_grad4' : 'slot_grad']: slotGrad,
        slot_sum: slotSum,
        plan: planTensor,
        [vec4 ? 'grad_user4' : 'grad_user']: gradUser,
        [vec4 ? 'grad_rows4' : 'grad_rows']: rowValues,
        grad_bias_rows: biasValues,
      },
      flatGrid((userRows + R) * width + (bias ? R : 0)),
    );
    for (const t of temporaries) t.dispose();
    if (wantUser) grads[0] = gradUser;
    if (wantRows) {
      if (itemTable.requiresGrad) grads[1] = new RowGrad(rows, rowValues, itemTable.shape);
      else rowValues.dispose();
      if (bias?.requiresGrad) grads[2] = new RowGrad(rows, biasValues, bias.shape);
      else biasValues.dispose();
    }
    return grads;
  }, { reads: split ? [user] : [user, itemTable, labels], owns: kept });
  return loss;
}
