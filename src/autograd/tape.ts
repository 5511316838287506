/**
 * The tape: every differentiable op appends a node (inputs, outputs, backward rule) as it runs;
 * `backward` walks the nodes once in reverse, hands each rule the gradients of its outputs and
 * accumulates what it returns into the gradients of its inputs. Leaves that require gradients
 * end with `.grad` set (added to any gradient they already had).
 */
import type { Context } from './context.js';
import { type Grad, RowGrad, Tensor, formatShape } from './tensor.js';

/** A backward rule: output gradients (null where an output got none) → input gradients. */
export type BackwardRule = (outputGrads: (Tensor | null)[]) => (Grad | null)[];

export interface TapeNode {
  op: string;
  inputs: Tensor[];
  outputs: Tensor[];
  backward: BackwardRule;
}

export class Tape {
  private nodes: TapeNode[] = [];

  constructor(private readonly ctx: Context) {}

  get length(): number {
    return this.nodes.length;
  }

  /**
   * Records an op if gradients are on and any input needs one; marks the outputs as requiring
   * gradients in that case. Returns the outputs for chaining.
   */
  record(op: string, inputs: Tensor[], outputs: Tensor[], backward: BackwardRule): void {
    if (!this.ctx.gradEnabled || !inputs.some((t) => t.requiresGrad)) return;
    const node: TapeNode = { op, inputs, outputs, backward };
    for (const out of outputs) {
      out.requiresGrad = true;
      out.creator = node;
    }
    this.nodes.push(node);
  }

  clear(): void {
    for (const node of this.nodes) for (const out of node.outputs) out.creator = null;
    this.nodes = [];
  }

  backward(root: Tensor, seed?: Tensor): void {
    if (!root.requiresGrad) throw new Error(`backward(): the ${root.label} ${formatShape(root.shape)} does not require a gradient`);
    if (seed && seed.size !== root.size) {
      throw new Error(`backward(): seed has shape ${formatShape(seed.shape)}, expected ${formatShape(root.shape)}`);
    }
    if (!seed && root.size !== 1) {
      throw new Error(`backward(): a seed gradient is needed for a non-scalar ${root.label} ${formatShape(root.shape)}`);
    }
    // Backward rules call forward ops; nothing they run is recorded (no higher-order gradients).
    this.ctx.noGrad(() => this.walk(root, seed ?? this.ctx.fill(root.shape, 1)));
    this.clear();
  }

  private walk(root: Tensor, seed: Tensor): void {
    const grads = new Map<Tensor, Grad>();
    grads.set(root, seed);
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i];
      const outGrads = node.outputs.map((o) => {
        const g = grads.get(o);
        if (!g) return null;
        grads.delete(o);
        return g instanceof RowGrad ? this.ctx.rowsToDense(g) : g;
      });
      if (outGrads.every((g) => g === null)) continue;
      const inGrads = node.backward(outGrads);
      node.inputs.forEach((input, k) => {
        const g = inGrads[k];
        if (!g || !input.requiresGrad) return;
        const prev = grads.get(input);
        grads.set(input, prev ? this.ctx.accumulateGrads(prev, g) : g);
      });
    }
    for (const [tensor, g] of grads) {
      if (tensor.creator !== null) continue;
      tensor.grad = tensor.grad ? this.ctx.accumulateGrads(tensor.grad, g) : g;
    }
  }
}
