/**
 * The tape: every differentiable op appends a node (inputs, outputs, backward rule, and the
 * tensors the rule will read) as it runs; `backward` walks the nodes once in reverse, hands each
 * rule the gradients of its outputs and accumulates what it returns into the gradients of its
 * inputs. Leaves that require gradients end with `.grad` set (added to any gradient they
 * already had).
 *
 * The tape owns what a backward saves: a node holds the tensors its rule reads (`saved.reads`,
 * e.g. `mul`'s inputs) and the ones the op made for it alone (`saved.owns`, e.g. a fused op's
 * softmax statistics). Held tensors outlive the forward's `tidy` scope; each node lets go of them
 * right after its rule runs, or when the tape is cleared, and disposes what it owns. So backward
 * may run inside or outside the forward's tidy scope, and no op disposes saved tensors itself.
 * Intermediate gradients are disposed by the walk as soon as their rule has consumed them.
 */
import type { Context } from './context.js';
import { type Grad, RowGrad, Tensor, formatShape } from './tensor.js';

/** A backward rule: output gradients (null where an output got none) → input gradients. */
export type BackwardRule = (outputGrads: (Tensor | null)[]) => (Grad | null)[];

/** What a backward rule reads besides its output gradients. */
export interface SavedTensors {
  /** Tensors the rule reads that the op does not own (its inputs, index tensors): kept alive until the rule has run. */
  reads?: readonly (Tensor | undefined)[];
  /** Tensors the op made for the rule alone: disposed by the tape after the rule runs or when the tape is cleared (at once when nothing is recorded). */
  owns?: readonly (Tensor | undefined)[];
}

export interface TapeNode {
  op: string;
  inputs: Tensor[];
  outputs: Tensor[];
  backward: BackwardRule;
  /** Held tensors, and whether the node disposes each when it lets go; empty once released. */
  saved: { tensor: Tensor; owned: boolean }[];
}

export class Tape {
  private nodes: TapeNode[] = [];

  constructor(private readonly ctx: Context) {}

  get length(): number {
    return this.nodes.length;
  }

  /**
   * Records an op if gradients are on and any input needs one; marks the outputs as requiring
   * gradients in that case, and holds `saved` for the rule. When nothing is recorded, the
   * tensors in `saved.owns` are disposed at once (no rule will read them). Returns whether the
   * op was recorded. Throws if a saved tensor is already disposed.
   */
  record(op: string, inputs: Tensor[], outputs: Tensor[], backward: BackwardRule, saved: SavedTensors = {}): boolean {
    const owns = (saved.owns ?? []).filter((t): t is Tensor => t !== undefined);
    if (!this.ctx.gradEnabled || !inputs.some((t) => t.requiresGrad)) {
      for (const t of owns) t.dispose();
      return false;
    }
    const held = [
      ...(saved.reads ?? []).filter((t): t is Tensor => t !== undefined).map((tensor) => ({ tensor, owned: false })),
      ...owns.map((tensor) => ({ tensor, owned: true })),
    ];
    for (const { tensor } of held) tensor.hold();
    const node: TapeNode = { op, inputs, outputs, backward, saved: held };
    for (const out of outputs) {
      out.requiresGrad = true;
      out.creator = node;
    }
    this.nodes.push(node);
    return true;
  }

  /** Forgets every node, letting go of (and disposing the owned) saved tensors. */
  clear(): void {
    for (const node of this.nodes) {
      for (const out of node.outputs) out.creator = null;
      letGo(node);
    }
    this.nodes = [];
  }

  /**
   * Backpropagates from `root` (seed: `seed`, or 1 for a one-element root) through every
   * recorded node, then clears the tape. Throws when root needs no gradient, the seed's size
   * differs from root's, or a non-scalar root has no seed.
   */
  backward(root: Tensor, seed?: Tensor): void {
    if (!root.requiresGrad) throw new Error(`backward(): the ${root.label} ${formatShape(root.shape)} does not require a gradient`);
    if (seed && seed.size !== root.size) {
      throw new Error(`backward(): seed has shape ${formatShape(seed.shape)}, expected ${formatShape(root.shape)}`);
    }
    if (!seed && root.size !== 1) {
      throw new Error(`backward(): a seed gradient is needed for a non-scalar ${root.label} ${formatShape(root.shape)}`);
    }
    try {
      // Backward rules call forward ops; nothing they run is recorded (no higher-order gradients).
      this.ctx.noGrad(() => this.walk(root, seed));
    } finally {
      this.clear();
    }
  }

  private walk(root: Tensor, userSeed: Tensor | undefined): void {
    const grads = new Map<Tensor, Grad>();
    // How many places (map entries, a rule's pending output gradients) refer to each gradient;
    // one reaching no place is disposed. The caller's seed is never disposed.
    const refs = new Map<Grad, number>();
    const take = (g: Grad) => refs.set(g, (refs.get(g) ?? 0) + 1);
    const drop = (g: Grad) => {
      const n = (refs.get(g) ?? 0) - 1;
      if (n > 0) return void refs.set(g, n);
      refs.delete(g);
      if (g !== userSeed) g.dispose();
    };
    const seed = userSeed ?? this.ctx.fill(root.shape, 1);
    grads.set(root, seed);
    take(seed);
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i];
      // Entries taken out of the map keep their reference until the rule has returned.
      const pending: Grad[] = [];
      const outGrads = node.outputs.map((o) => {
        const g = grads.get(o);
        if (!g) return null;
        grads.delete(o);
        pending.push(g);
        if (!(g instanceof RowGrad)) return g;
        const dense = this.ctx.rowsToDense(g);
        take(dense);
        pending.push(dense);
        return dense;
      });
      if (outGrads.every((g) => g === null)) {
        letGo(node);
        continue;
      }
      const inGrads = node.backward(outGrads);
      letGo(node);
      node.inputs.forEach((input, k) => {
        const g = inGrads[k];
        if (!g || !input.requiresGrad) return;
        const prev = grads.get(input);
        if (!prev) {
          grads.set(input, g);
          take(g);
          return;
        }
        const sum = this.ctx.accumulateGrads(prev, g);
        grads.set(input, sum);
        take(sum);
        drop(prev);
      });
      // Gradients the rule returned that nothing kept (an input needing none, or summed away).
      for (const g of new Set(inGrads)) if (g && !refs.has(g) && g !== userSeed) g.dispose();
      for (const g of pending) drop(g);
    }
    for (const [tensor, g] of grads) {
      if (tensor.creator !== null) {
        drop(g);
        continue;
      }
      if (tensor.grad) {
        // The previous gradient is left to its owner (a tidy scope, or the caller): two leaves
        // may share one gradient object, so disposing it here could pull it from the other.
        tensor.grad = this.ctx.accumulateGrads(tensor.grad, g);
        drop(g);
      } else {
        // Handed over to the leaf. Two leaves may share one object (`add(a, b)` hands its
        // gradient to both); the caller's seed is copied, since the leaf may dispose its gradient.
        tensor.grad = g === userSeed ? copyGrad(g) : g;
      }
    }
  }
}

/** Ends a node's holds on its saved tensors, disposing the ones it owns. */
function letGo(node: TapeNode): void {
  for (const { tensor, owned } of node.saved) {
    tensor.release();
    if (owned) tensor.dispose();
  }
  node.saved = [];
}

/** A copy of a gradient (dense or row-sparse) in a new buffer. */
function copyGrad(g: Grad): Grad {
  const t = g instanceof RowGrad ? g.values : g;
  const out = t.ctx.empty(t.shape, 'f32', 'grad');
  t.ctx.gpu.copy(t.buffer, 0, out.buffer, 0, t.size * 4);
  return g instanceof RowGrad ? new RowGrad(g.rows, out, g.tableShape) : out;
}
