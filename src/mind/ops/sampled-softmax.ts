/**
 * Sampled softmax loss with negatives shared by the batch (SPEC §3, kernels/sampled_softmax.wgsl).
 * Forward: three dispatches (negative logits as one tiled product, per-sample log-sum-exp, mean).
 * Backward: four (user gradient as a split product and its combine, per-negative-slot sums,
 * per-row sums along a host-built plan). The item table and bias get `RowGrad`s over the rows
 * touched (labels ∪ negatives, ascending), each row's contributions summed in a fixed order,
 * so gradients are bitwise reproducible and never dense N×d.
 */
import source from '../../../kernels/sampled_softmax.wgsl?raw';
import { type KernelBindings, kernelModule } from '../../gpu/kernel.js';
import { gridFor } from '../../gpu/runtime.js';
import { RowGrad, type Tensor, formatShape } from '../../autograd/tensor.js';
import { expectTensor, flatGrid } from '../../autograd/ops/common.js';

const kernels = kernelModule('sampled_softmax', source);

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
/** Output tile edge of the tiled kernels. */
const TILE = 64;
/** grad_user_partial: aim for about this many workgroups, with splits of at least MIN_CHUNK negatives. */
const TARGET_WORKGROUPS = 512;
const MIN_CHUNK = 256;

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
 * Mean over b of logsumexp(l_b0, l_b1..l_bS) − l_b0 → `[1]`, with user `[B, d]`, itemTable
 * `[N, d]`, labels `[B]` i32, negatives `[S]` i32 shared by the batch (both with host copies),
 * l_b0 = v_b·W_{y_b} + c − logQ and l_bs = v_b·W_{n_s} + c − logQ. Gradients: user (dense),
 * itemTable and bias (`RowGrad`s over the touched rows); none to logQ. The logits and softmax
 * statistics are saved on the tape for the backward (which may run outside the forward's tidy).
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
  const flags = (bias ? HAS_BIAS : 0) | (logQ ? HAS_LOGQ : 0) | (removeAccidentalHits ? REMOVE_HITS : 0);
  const tilesB = Math.ceil(B / TILE);
  const tilesD = Math.ceil(d / TILE);
  const tilesS = Math.ceil(S / TILE);
  const params = (p: { tilesRows?: number; tilesCols?: number; chunk?: number; splits?: number; rows?: number } = {}) => ({
    batch: B,
    num_neg: S,
    dim: d,
    flags,
    tiles_rows: p.tilesRows ?? 0,
    tiles_cols: p.tilesCols ?? 0,
    chunk: p.chunk ?? 0,
    splits: p.splits ?? 0,
    rows: p.rows ?? 0,
  });
  const run = (entryPoint: string, bindings: KernelBindings, workgroups: readonly [number, number?]) =>
    kernels.entry(entryPoint).run(ctx, bindings, workgroups);
  // Absent bias / logQ bind the table as a placeholder; the flags keep the kernels from reading it.
  const biasBinding = bias ?? itemTable;
  const logQBinding = logQ ?? itemTable;

  const logits = ctx.empty([B, S], 'f32', `${op}.logits`);
  const stats = ctx.empty([B, 4], 'f32', `${op}.stats`);
  const loss = ctx.empty([1], 'f32', op);
  run(
    'forward_logits',
    { params: params({ tilesRows: tilesB, tilesCols: tilesS }), user, table: itemTable, negatives, bias: biasBinding, logq: logQBinding, logits },
    gridFor(tilesB * tilesS),
  );
  run('forward_lse', { params: params(), user, table: itemTable, labels, negatives, bias: biasBinding, logq: logQBinding, logits, stats }, gridFor(B));
  run('forward_mean', { params: params(), stats, loss }, [1]);

  const differentiable = bias ? [user, itemTable, bias] : [user, itemTable];
  ctx.tape.record(op, differentiable, [loss], ([g]) => {
    const grads: (Tensor | RowGrad | null)[] = [null, null, null];
    if (user.requiresGrad) {
      const splitsForWidth = Math.max(1, Math.floor(TARGET_WORKGROUPS / (tilesB * tilesD)));
      const wanted = Math.min(Math.ceil(S / MIN_CHUNK), splitsForWidth);
      // A multiple of the kernel's 16-deep slices.
      const chunk = Math.ceil(Math.ceil(S / wanted) / 16) * 16;
      const splits = Math.ceil(S / chunk);
      const partial = ctx.empty([splits, B, d], 'f32', `${op}.grad.partial`);
      const gradUser = ctx.empty([B, d], 'f32', `${op}.grad.user`);
      const p = params({ tilesRows: tilesB, tilesCols: tilesD, chunk, splits });
      run('grad_user_partial', { params: p, table: itemTable, labels, negatives, logits, stats, partial }, gridFor(splits * tilesB * tilesD));
      run('grad_user_combine', { params: p, table: itemTable, labels, stats, upstream: g!, partial, grad_user: gradUser }, flatGrid(B * d));
      partial.dispose();
      grads[0] = gradUser;
    }
    if (itemTable.requiresGrad || bias?.requiresGrad) {
      const slotGrad = ctx.empty([S, d + 1], 'f32', `${op}.grad.slots`);
      run(
        'grad_candidates',
        { params: params({ tilesRows: tilesS, tilesCols: tilesD }), user, labels, negatives, logits, stats, slot_grad: slotGrad },
        gridFor(tilesS * tilesD),
      );
      const { rows, plan } = touchedRowsPlan(labelIds, negativeIds);
      const R = rows.length;
      const planTensor = ctx.tensor(plan, [plan.length], { label: `${op}.plan` });
      const rowValues = ctx.empty([R, d], 'f32', `${op}.grad.table`);
      const biasValues = ctx.empty([R], 'f32', `${op}.grad.bias`);
      run(
        'grad_rows_sum',
        {
          params: params({ rows: R }),
          user,
          stats,
          upstream: g!,
          slot_grad: slotGrad,
          plan: planTensor,
          grad_rows: rowValues,
          grad_bias_rows: biasValues,
        },
        flatGrid(R * (d + (bias ? 1 : 0))),
      );
      for (const t of [slotGrad, planTensor]) t.dispose();
      if (itemTable.requiresGrad) grads[1] = new RowGrad(rows, rowValues, itemTable.shape);
      else rowValues.dispose();
      if (bias?.requiresGrad) grads[2] = new RowGrad(rows, biasValues, bias.shape);
      else biasValues.dispose();
    }
    return grads;
  }, { reads: [user, itemTable, labels, negatives, bias, logQ], owns: [logits, stats] });
  return loss;
}
