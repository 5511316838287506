/**
 * Tensor: a shape, a dtype and a GPU buffer (shared by reshaped views through `Storage`), plus
 * the autograd fields the tape fills in.
 */
import type { Context } from './context.js';
import type { TapeNode } from './tape.js';

export type DType = 'f32' | 'i32';
export type TypedArrayFor<D extends DType> = D extends 'i32' ? Int32Array : Float32Array;

/** A pooled GPU buffer shared by a tensor and its views; released when the last one is disposed. */
export class Storage {
  refs = 1;
  constructor(readonly buffer: GPUBuffer) {}
}

/**
 * The storage of a row table split over several buffers (Context.table, Context.stackShards):
 * shard s is an ordinary tensor `[rows_s, ...row]` holding the table's rows
 * [s·rowsPerShard, s·rowsPerShard + rows_s); every shard but the last has rowsPerShard rows.
 * Why: a WebGPU storage binding is limited (often to 128 MiB, ~500k rows of 64 f32), and a
 * catalogue's item table, its Adam moments and its item vectors grow past it. The table owns
 * its shards (disposing it disposes them).
 */
export class RowShards {
  constructor(
    readonly shards: readonly Tensor[],
    readonly rowsPerShard: number,
  ) {}
}

/**
 * The gradient of a row-indexed table ([N, ...rowShape]) where a step touched only some rows:
 * `values[i]` is the gradient of row `rows[i]`, rows unique and ascending, every other row zero.
 * Embedding tables receive these, so a step never materialises a dense N×d gradient.
 */
export class RowGrad {
  constructor(
    /** Unique ascending row indices, on the host. */
    readonly rows: Int32Array,
    /** `[rows.length, ...tableShape.slice(1)]`. */
    readonly values: Tensor,
    readonly tableShape: readonly number[],
  ) {}

  /**
   * The dense gradient on the host: a Float32Array of the full table, `shapeSize(tableShape)`
   * f32 values, row-major, with row `rows[i]` equal to `values[i]` and every other row 0. Costs
   * one readback of `values` (rows.length × row width floats), not of the table. Throws if
   * `values` has been disposed.
   */
  async read(): Promise<Float32Array> {
    const width = shapeSize(this.tableShape.slice(1));
    const values = (await this.values.read()) as Float32Array;
    const dense = new Float32Array(shapeSize(this.tableShape));
    this.rows.forEach((row, i) => dense.set(values.subarray(i * width, (i + 1) * width), row * width));
    return dense;
  }

  /**
   * The dense gradient as a new GPU tensor of shape `tableShape` (f32, zeros outside `rows`),
   * recorded in the current step; the caller disposes it. Throws if `values` has been disposed.
   */
  toDense(): Tensor {
    return this.values.ctx.rowsToDense(this);
  }

  dispose(): void {
    this.values.dispose();
  }
}

export type Grad = Tensor | RowGrad;

let nextId = 0;

export function shapeSize(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

export class Tensor {
  readonly id = nextId++;
  readonly size: number;
  requiresGrad = false;
  /** Gradient after `backward()`: dense, or a `RowGrad` for tables indexed by rows. */
  grad: Grad | null = null;
  /** The tape entry that produced this tensor; null for leaves. */
  creator: TapeNode | null = null;
  /** Host copy of index tensors (i32) made from host data: scatter plans are built from it. */
  host: Int32Array | undefined;
  private disposed = false;
  /** Tape nodes whose backward rule will read this tensor; while > 0, `dispose()` waits. */
  private holds = 0;
  private disposeRequested = false;

  constructor(
    readonly ctx: Context,
    readonly storage: Storage | RowShards,
    readonly shape: readonly number[],
    readonly dtype: DType,
    readonly label = 'tensor',
  ) {
    this.size = shapeSize(shape);
  }

  /**
   * The GPU buffer. Throws after dispose(), and for a table split over several buffers (see
   * `shards`): only ops written for shards (embeddingBag, Adam, topKInnerProduct, read, write)
   * take those, so any other op fails here instead of reading a wrong buffer.
   */
  get buffer(): GPUBuffer {
    if (this.disposed) throw new Error(`${this.label} ${formatShape(this.shape)} was used after dispose()`);
    if (this.storage instanceof RowShards) {
      throw new Error(
        `${this.label} ${formatShape(this.shape)} is split over ${this.storage.shards.length} GPU buffers of at most ` +
          `${this.storage.rowsPerShard} rows (one storage binding cannot hold it); this op does not take sharded tables ` +
          `(embeddingBag, Adam, topKInnerProduct, read and write do)`,
      );
    }
    return this.storage.buffer;
  }

  /**
   * The tensor's buffers as tensors, in row order: `[this]` for a tensor in one buffer; for a
   * row table split over several buffers, its shards (see RowShards). Ops that take tables loop
   * over these, so one code path serves both.
   */
  get shards(): readonly Tensor[] {
    return this.storage instanceof RowShards ? this.storage.shards : [this];
  }

  /** Rows in every shard but the last (the first dimension when the tensor is one buffer). */
  get rowsPerShard(): number {
    return this.storage instanceof RowShards ? this.storage.rowsPerShard : (this.shape[0] ?? 1);
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  get rank(): number {
    return this.shape.length;
  }

  /**
   * Copies the contents to the host (submitting pending work in the same submit). A sharded
   * table comes back whole, row-major `[N, ...row]`, exactly as if it were one buffer.
   */
  async read(): Promise<TypedArrayFor<this['dtype']>> {
    if (this.storage instanceof RowShards) {
      this.disposedCheck();
      const out = this.dtype === 'i32' ? new Int32Array(this.size) : new Float32Array(this.size);
      let offset = 0;
      for (const shard of this.storage.shards) {
        const part = await shard.read();
        out.set(part, offset);
        offset += part.length;
      }
      return out as TypedArrayFor<this['dtype']>;
    }
    const bytes = await this.ctx.gpu.read(this.buffer, this.size * 4);
    return (this.dtype === 'i32' ? new Int32Array(bytes) : new Float32Array(bytes)) as TypedArrayFor<this['dtype']>;
  }

  /**
   * Overwrites the whole tensor with host data (`size` values, row-major; a sharded table is
   * given whole, as `read` returns it), ordered before the next submit. Throws when the length
   * or the dtype's array type differs, or the tensor has been disposed.
   */
  write(data: Float32Array | Int32Array): void {
    const expected = this.dtype === 'i32' ? Int32Array : Float32Array;
    if (!(data instanceof expected) || data.length !== this.size) {
      throw new Error(
        `${this.label} ${formatShape(this.shape)}.write: needs a ${expected.name} of ${this.size} values, ` +
          `got a ${data.constructor.name} of ${data.length}`,
      );
    }
    let offset = 0;
    for (const shard of this.disposedCheck().shards) {
      this.ctx.gpu.upload(shard.buffer, data.subarray(offset, offset + shard.size));
      offset += shard.size;
    }
  }

  private disposedCheck(): this {
    if (this.disposed) throw new Error(`${this.label} ${formatShape(this.shape)} was used after dispose()`);
    return this;
  }

  /** Backpropagates from this tensor; `seed` defaults to 1 for a one-element tensor. */
  async backward(seed?: Tensor): Promise<void> {
    this.ctx.tape.backward(this, seed);
  }

  /** Keeps this tensor alive past the `tidy` scopes it was created in. */
  keep(): this {
    this.ctx.untrack(this);
    return this;
  }

  /**
   * The tape keeps this tensor alive for a backward rule that reads it (see `Tape.record`): a
   * `dispose()` meanwhile (e.g. the end of the forward's `tidy` scope) is carried out when the
   * last hold is released. Throws if the tensor is already disposed.
   */
  hold(): void {
    if (this.disposed) throw new Error(`${this.label} ${formatShape(this.shape)} was saved for backward after dispose()`);
    this.holds++;
  }

  /** Ends one `hold()`; disposes the tensor if a `dispose()` came while it was held. */
  release(): void {
    if (this.holds === 0) throw new Error(`${this.label} ${formatShape(this.shape)}: release() without hold()`);
    if (--this.holds === 0 && this.disposeRequested) this.dispose();
  }

  /**
   * Returns the buffer to the pool once no view shares it (reuse waits for the submits that
   * read it), and disposes the gradient. Idempotent; deferred while the tape holds the tensor.
   */
  dispose(): void {
    if (this.disposed) return;
    if (this.holds > 0) {
      this.disposeRequested = true;
      return;
    }
    this.disposed = true;
    if (this.storage instanceof RowShards) for (const shard of this.storage.shards) shard.dispose();
    else if (--this.storage.refs === 0) this.ctx.gpu.release(this.storage.buffer);
    if (this.grad) this.grad.dispose();
    this.grad = null;
  }
}
