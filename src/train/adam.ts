/**
 * Adam on the GPU (kernels/adam.wgsl), one dispatch per parameter per step.
 *
 * Dense gradients update every element. Row gradients (`RowGrad`, from embedding tables) get
 * the "lazy" update of TensorFlow's LazyAdam: only the touched rows of the parameter and of its
 * moments m and v change; untouched rows keep their moments undecayed. Bias correction uses the
 * optimizer's global step count t (steps taken so far, including this one) for every row, not a
 * per-row count: a table then needs no per-row state beyond m and v, and a row's update after
 * a long pause is the plain Adam update of a gradient seen at step t. Weight decay is L2 added
 * to the gradient, so for row gradients it applies to the touched rows only.
 *
 * A table split over several buffers (Context.table) has moments split the same way, and its
 * row update is one dispatch per shard the gradient touches, over that shard's rows only: the
 * same arithmetic on every element, so the result is bitwise the unsplit table's.
 */
import type { Context } from '../autograd/context.js';
import { expectTensor, flatGrid, sameShape } from '../autograd/ops/common.js';
import indexWgsl from '../../kernels/common/index.wgsl?raw';
import source from '../../kernels/adam.wgsl?raw';
import { kernelModule } from '../gpu/kernel.js';
import { RowGrad, type Tensor, formatShape } from '../autograd/tensor.js';

const kernels = kernelModule('adam', indexWgsl, source);

export interface AdamOptions {
  /** Learning rate. */
  lr?: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** L2 coefficient: `weightDecay · param` is added to the gradient. */
  weightDecay?: number;
}

interface Moments {
  m: Tensor;
  v: Tensor;
}

/**
 * What Adam carries from step to step, on the host: the step count t and, for every parameter
 * updated at least once, its moments m and v (f32, the parameter's shape), keyed by the
 * parameter's label. Parameters never updated have no entry (their moments are still zero).
 */
export interface AdamState {
  stepCount: number;
  moments: Map<string, { m: Float32Array; v: Float32Array }>;
}

export class Adam {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Steps taken so far. */
  stepCount = 0;
  private readonly state = new Map<Tensor, Moments>();

  constructor(
    private readonly ctx: Context,
    readonly params: Tensor[],
    { lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0 }: AdamOptions = {},
  ) {
    params.forEach((p, i) => expectTensor('Adam', `params[${i}]`, p, 'f32'));
    if (new Set(params).size !== params.length) throw new Error('Adam: params lists a tensor twice');
    const check = (name: string, value: number, ok: boolean, range: string) => {
      if (!Number.isFinite(value) || !ok) throw new Error(`Adam: ${name} must be ${range}, got ${value}`);
    };
    check('lr', lr, lr >= 0, '>= 0');
    check('beta1', beta1, beta1 >= 0 && beta1 < 1, 'in [0, 1)');
    check('beta2', beta2, beta2 >= 0 && beta2 < 1, 'in [0, 1)');
    check('eps', eps, eps > 0, '> 0');
    check('weightDecay', weightDecay, weightDecay >= 0, '>= 0');
    this.lr = lr;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.eps = eps;
    this.weightDecay = weightDecay;
  }

  /**
   * Updates every parameter that has a gradient, then disposes the gradients and sets them to
   * null. Records the work into the current step's encoder; nothing is submitted or read back.
   */
  step(): void {
    const used = this.params.filter((p) => p.grad !== null);
    for (const param of used) checkGrad(param, param.grad!);
    this.stepCount++;
    const t = this.stepCount;
    const header = {
      lr: this.lr,
      beta1: this.beta1,
      beta2: this.beta2,
      eps: this.eps,
      weight_decay: this.weightDecay,
      bc1: 1 - this.beta1 ** t,
      bc2: 1 - this.beta2 ** t,
    };
    for (const param of used) {
      const grad = param.grad!;
      const { m, v } = this.moments(param);
      if (!(grad instanceof RowGrad)) {
        kernels.entry('adam_dense', 'adam.dense').run(
          this.ctx,
          { params: { count: param.size, width: 0, first: 0, ...header }, grad, param, m, v },
          flatGrid(param.size),
        );
      } else {
        this.updateRows(param, grad, m, v, header);
      }
    }
    // Disposed only after every dispatch: one gradient tensor may be shared by two parameters.
    for (const param of used) {
      param.grad!.dispose();
      param.grad = null;
    }
  }

  /**
   * The lazy update of the rows `grad` touched, shard by shard: `grad.rows` are ascending, so
   * each shard's rows are one slice of them (and of `grad.values`).
   */
  private updateRows(param: Tensor, grad: RowGrad, m: Tensor, v: Tensor, header: Record<string, number>): void {
    const width = param.size / param.shape[0];
    const perShard = param.rowsPerShard;
    let from = 0;
    param.shards.forEach((shard, s) => {
      const base = s * perShard;
      let to = from;
      while (to < grad.rows.length && grad.rows[to] < base + shard.shape[0]) to++;
      if (to === from) return;
      const rows = this.ctx.tensor(base === 0 ? grad.rows.subarray(from, to) : Int32Array.from(grad.rows.subarray(from, to), (r) => r - base), [to - from]);
      kernels.entry('adam_rows', 'adam.rows').run(
        this.ctx,
        {
          params: { count: to - from, width, first: from, ...header },
          grad: grad.values, rows, param: shard, m: m.shards[s], v: v.shards[s],
        },
        flatGrid((to - from) * width),
      );
      rows.dispose();
      from = to;
    });
  }

  private moments(param: Tensor): Moments {
    let moments = this.state.get(param);
    if (!moments) {
      moments = { m: this.ctx.tableLike(param).keep(), v: this.ctx.tableLike(param).keep() };
      this.state.set(param, moments);
    }
    return moments;
  }

  /** The first and second moments of `param`, once it has been updated. */
  momentsOf(param: Tensor): Moments | undefined {
    return this.state.get(param);
  }

  /** Reads the step count and every moment to the host (a resumable checkpoint's optimiser part). */
  async exportState(): Promise<AdamState> {
    const moments = new Map<string, { m: Float32Array; v: Float32Array }>();
    for (const [param, { m, v }] of this.state) {
      moments.set(param.label, { m: (await m.read()) as Float32Array, v: (await v.read()) as Float32Array });
    }
    return { stepCount: this.stepCount, moments };
  }

  /**
   * Continues from `state` (from `exportState`, possibly of another process): the next step is
   * step `state.stepCount + 1` with the saved moments, exactly as if this optimiser had taken the
   * earlier steps. Call before the first step. Throws when a moment names no parameter of this
   * optimiser or has the wrong size, or the step count is not a non-negative integer.
   */
  importState(state: AdamState): void {
    if (!Number.isSafeInteger(state.stepCount) || state.stepCount < 0) {
      throw new Error(`Adam: stepCount must be a non-negative integer, got ${state.stepCount}`);
    }
    const byLabel = new Map(this.params.map((p) => [p.label, p]));
    for (const [label, { m, v }] of state.moments) {
      const param = byLabel.get(label);
      if (!param) throw new Error(`Adam: saved moments for "${label}", which is not one of this optimiser's parameters (${[...byLabel.keys()].join(', ')})`);
      if (m.length !== param.size || v.length !== param.size) {
        throw new Error(`Adam: saved moments for "${label}" have ${m.length} and ${v.length} values, the parameter has ${param.size}`);
      }
    }
    this.dispose();
    this.stepCount = state.stepCount;
    for (const [label, { m, v }] of state.moments) {
      const param = byLabel.get(label)!;
      this.state.set(param, { m: this.ctx.tableLike(param, m).keep(), v: this.ctx.tableLike(param, v).keep() });
    }
  }

  /** Releases the moment buffers. */
  dispose(): void {
    for (const { m, v } of this.state.values()) {
      m.dispose();
      v.dispose();
    }
    this.state.clear();
  }
}

function checkGrad(param: Tensor, grad: Tensor | RowGrad): void {
  const shape = grad instanceof RowGrad ? grad.tableShape : grad.shape;
  const fits = grad instanceof RowGrad ? sameShape(shape, param.shape) : grad.size === param.size;
  if (!fits) throw new Error(`Adam: gradient ${formatShape(shape)} for ${param.label} ${formatShape(param.shape)}`);
  if (!(grad instanceof RowGrad) && param.shards.length > 1) {
    throw new Error(`Adam: ${param.label} ${formatShape(param.shape)} is split over ${param.shards.length} buffers and takes row gradients only, got a dense one`);
  }
}
