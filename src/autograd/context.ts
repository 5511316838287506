/**
 * The context users hold: a GPU runtime plus tensor creation, the tape, and `tidy` scopes that
 * dispose every tensor a block created except the ones it returns or keeps.
 */
import { GpuRuntime, type BufferBinding, type KernelSpec, type RuntimeOptions } from '../gpu/runtime.js';
import { Tape } from './tape.js';
import { type DType, type Grad, RowGrad, RowShards, Storage, Tensor, formatShape, shapeSize } from './tensor.js';
import { add, fill } from './ops/elementwise.js';
import { addRowGrads, addRowsToDense, rowsToDense } from './ops/rows.js';

export type ContextOptions = RuntimeOptions;

/** A binding for `Context.run`: a tensor's buffer, a raw buffer or uniform data. */
export type KernelBinding = Tensor | BufferBinding | undefined;

export interface TensorOptions {
  requiresGrad?: boolean;
  label?: string;
}

export class Context {
  readonly tape: Tape;
  gradEnabled = true;
  private readonly arenas: Set<Tensor>[] = [];

  constructor(readonly gpu: GpuRuntime) {
    this.tape = new Tape(this);
  }

  /** Uploads host data as a tensor. i32 tensors keep their host copy (see `Tensor.host`). */
  tensor(data: Float32Array | Int32Array | number[], shape: readonly number[], options: TensorOptions = {}): Tensor {
    const array = Array.isArray(data) ? Float32Array.from(data) : data;
    const dtype: DType = array instanceof Int32Array ? 'i32' : 'f32';
    checkShape(shape, 'shape');
    if (array.length !== shapeSize(shape)) {
      throw new Error(`tensor(): data has ${array.length} elements but shape ${formatShape(shape)} needs ${shapeSize(shape)}`);
    }
    if (dtype === 'f32') {
      for (let i = 0; i < array.length; i++) {
        if (!Number.isFinite(array[i])) throw new Error(`tensor(): data[${i}] is ${array[i]}; tensors must be finite`);
      }
    }
    if (options.requiresGrad && dtype !== 'f32') throw new Error('tensor(): only f32 tensors can require gradients');
    const t = this.empty(shape, dtype, options.label ?? 'tensor');
    this.gpu.upload(t.buffer, array);
    if (dtype === 'i32') t.host = array as Int32Array;
    t.requiresGrad = options.requiresGrad ?? false;
    return t;
  }

  /** A tensor with unspecified contents, for kernel outputs. */
  empty(shape: readonly number[], dtype: DType = 'f32', label = 'tensor'): Tensor {
    checkShape(shape, 'shape');
    const storage = new Storage(this.gpu.createStorage(shapeSize(shape) * 4, label));
    return this.track(new Tensor(this, storage, [...shape], dtype, label));
  }

  /** A tensor filled with `value`. */
  fill(shape: readonly number[], value: number): Tensor {
    return fill(this, shape, value);
  }

  zeros(shape: readonly number[], options: TensorOptions = {}): Tensor {
    const t = this.fill(shape, 0);
    t.requiresGrad = options.requiresGrad ?? false;
    return t;
  }

  /**
   * Rows per buffer of a row table `[N, ...row]` f32 (see `table`): as many whole rows as fit in
   * `gpu.tableShardBytes` (the device's storage binding and buffer limits, or a test's lower
   * cap). Throws when the shape has rank < 1 or one row alone exceeds that size.
   */
  rowsPerShard(shape: readonly number[], label = 'table'): number {
    checkShape(shape, 'shape');
    if (shape.length < 1) throw new Error(`${label}: a row table needs rank ≥ 1, got shape ${formatShape(shape)}`);
    const rowBytes = shapeSize(shape.slice(1)) * 4;
    const limit = this.gpu.tableShardBytes;
    if (rowBytes > limit) {
      throw new Error(`${label} ${formatShape(shape)}: one row is ${rowBytes} bytes, more than a buffer may hold (${limit} bytes)`);
    }
    return rowBytes === 0 ? Math.max(shape[0], 1) : Math.floor(limit / rowBytes);
  }

  /**
   * A row table `[N, ...row]` f32: an embedding table, its Adam moments, every item's vector.
   * When it fits in one storage binding it is an ordinary tensor, exactly what `tensor()` or
   * `zeros()` would make; otherwise its rows are split over as few buffers as fit
   * (`rowsPerShard(shape)` rows each, the last possibly fewer; `Tensor.shards`). Holds `data`
   * (N·row finite values, row-major) or zeros. Only ops written for shards take a split table
   * (embeddingBag, Adam, topKInnerProduct, Tensor.read and write); any other op throws when it
   * binds it. Throws as `tensor()` and `rowsPerShard()`.
   */
  table(shape: readonly number[], data?: Float32Array, options: TensorOptions = {}): Tensor {
    return this.tableOfRows(shape, this.rowsPerShard(shape, options.label), data, options);
  }

  /**
   * A new f32 table with `like`'s shape and the same split into shards (Adam's moments of a
   * table, a saved moment restored): `data` (like.size values) or zeros.
   */
  tableLike(like: Tensor, data?: Float32Array, options: TensorOptions = {}): Tensor {
    return this.tableOfRows(like.shape, like.rowsPerShard, data, options);
  }

  private tableOfRows(shape: readonly number[], rowsPerShard: number, data: Float32Array | undefined, options: TensorOptions): Tensor {
    const rows = shape[0];
    if (data && data.length !== shapeSize(shape)) {
      throw new Error(`table(): data has ${data.length} elements but shape ${formatShape(shape)} needs ${shapeSize(shape)}`);
    }
    if (shape.length === 0 || rows <= rowsPerShard) return data ? this.tensor(data, shape, options) : this.zeros(shape, options);
    const width = shapeSize(shape.slice(1));
    const label = options.label ?? 'table';
    const parts: Tensor[] = [];
    for (let first = 0; first < rows; first += rowsPerShard) {
      const count = Math.min(rowsPerShard, rows - first);
      const partShape = [count, ...shape.slice(1)];
      const partLabel = `${label}.shard${parts.length}`;
      parts.push(
        data
          ? this.tensor(data.subarray(first * width, (first + count) * width), partShape, { label: partLabel })
          : this.zeros(partShape),
      );
    }
    return this.stackShards(parts, options);
  }

  /**
   * The row table made of `parts` stacked by rows, without copying: `[Σ rows_s, ...row]`, whose
   * shards are the parts (they then belong to it: disposing it disposes them). A single part is
   * returned as it is. Every part but the last must have the same number of rows, the last at
   * most that many, and all the same dtype and row shape. Throws otherwise, naming the part.
   */
  stackShards(parts: readonly Tensor[], options: TensorOptions = {}): Tensor {
    if (parts.length === 0) throw new Error('stackShards: needs at least one part');
    const [first] = parts;
    if (first.rank < 1) throw new Error(`stackShards: parts need rank ≥ 1, got ${formatShape(first.shape)}`);
    if (parts.length === 1) return first;
    const rowShape = first.shape.slice(1);
    const rowsPerShard = first.shape[0];
    parts.forEach((p, s) => {
      const same = p.dtype === first.dtype && p.rank === first.rank && p.shape.slice(1).every((n, i) => n === rowShape[i]);
      const rowsOk = s === parts.length - 1 ? p.shape[0] >= 1 && p.shape[0] <= rowsPerShard : p.shape[0] === rowsPerShard;
      if (!same || !rowsOk || p.shards.length !== 1 || p.isDisposed) {
        throw new Error(
          `stackShards: part ${s} ${formatShape(p.shape)} ${p.dtype} does not follow part 0 ${formatShape(first.shape)} ${first.dtype} ` +
            `(same row shape and dtype, ${rowsPerShard} rows in every part but the last, 1..${rowsPerShard} in the last, one live buffer each)`,
        );
      }
    });
    for (const p of parts) this.untrack(p);
    const rows = parts.reduce((n, p) => n + p.shape[0], 0);
    const table = new Tensor(this, new RowShards([...parts], rowsPerShard), [rows, ...rowShape], first.dtype, options.label ?? first.label);
    table.requiresGrad = options.requiresGrad ?? false;
    return this.track(table);
  }

  /** A view of `t` with another shape of the same size, sharing its buffer. */
  view(t: Tensor, shape: readonly number[]): Tensor {
    if (shapeSize(shape) !== t.size) {
      throw new Error(`reshape: cannot view ${formatShape(t.shape)} as ${formatShape(shape)}`);
    }
    if (t.storage instanceof RowShards) {
      throw new Error(`reshape: ${t.label} ${formatShape(t.shape)} is split over ${t.shards.length} buffers and has no views`);
    }
    t.storage.refs++;
    return this.track(new Tensor(this, t.storage, [...shape], t.dtype, t.label));
  }

  /**
   * Records a kernel dispatch with positional bindings (array index = @binding number, holes
   * `undefined`); tensors bind their buffers. Nothing is checked against the shader.
   * @deprecated Use a `KernelModule` (src/gpu/kernel.ts): `module.entry(name).run(ctx, { … }, grid)`
   * binds by WGSL name and checks every binding and uniform field. Kept for code not yet moved.
   */
  run(spec: KernelSpec, bindings: KernelBinding[], workgroups: readonly [number, number?, number?]): void {
    this.gpu.dispatch(
      spec,
      bindings.map((b) => (b instanceof Tensor ? b.buffer : b)),
      workgroups,
    );
  }

  /**
   * Runs `fn` and disposes every tensor created meanwhile except those it returns (directly, in
   * an array, or as values of a plain object) and those `keep()`ed. Works with async functions;
   * tidy scopes must not interleave.
   */
  tidy<T>(fn: () => T): T {
    const arena = new Set<Tensor>();
    this.arenas.push(arena);
    const finish = (result: unknown) => {
      this.arenas.splice(this.arenas.lastIndexOf(arena), 1);
      const survivors = new Set<Tensor>(collectTensors(result));
      for (const t of arena) if (!survivors.has(t)) t.dispose();
      const parent = this.arenas[this.arenas.length - 1];
      if (parent) for (const t of survivors) if (arena.has(t)) parent.add(t);
    };
    let result: T;
    try {
      result = fn();
    } catch (err) {
      finish(undefined);
      throw err;
    }
    if (result instanceof Promise) {
      return result.then(
        (value) => {
          finish(value);
          return value;
        },
        (err) => {
          finish(undefined);
          throw err;
        },
      ) as T;
    }
    finish(result);
    return result;
  }

  /** Runs `fn` without recording anything on the tape. */
  noGrad<T>(fn: () => T): T {
    const before = this.gradEnabled;
    this.gradEnabled = false;
    try {
      return fn();
    } finally {
      this.gradEnabled = before;
    }
  }

  private track(t: Tensor): Tensor {
    this.arenas[this.arenas.length - 1]?.add(t);
    return t;
  }

  /** Removes `t` from every enclosing tidy scope. */
  untrack(t: Tensor): void {
    for (const arena of this.arenas) arena.delete(t);
  }

  /** Sum of two gradients of the same tensor. */
  accumulateGrads(a: Grad, b: Grad): Grad {
    if (a instanceof RowGrad && b instanceof RowGrad) return addRowGrads(a, b);
    if (a instanceof RowGrad) return addRowsToDense(b as Tensor, a);
    if (b instanceof RowGrad) return addRowsToDense(a, b);
    return add(a, b);
  }

  rowsToDense(g: RowGrad): Tensor {
    return rowsToDense(this, g);
  }

  /** Submits the recorded work (one command buffer). */
  submit(): void {
    this.gpu.submit();
  }

  /** Submits and waits for the GPU to finish; throws any WebGPU error seen. */
  sync(): Promise<void> {
    return this.gpu.sync();
  }

  destroy(): void {
    this.tape.clear();
    this.gpu.destroy();
  }
}

function checkShape(shape: readonly number[], name: string): void {
  if (!Array.isArray(shape) || shape.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new Error(`${name} must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
}

function collectTensors(value: unknown): Tensor[] {
  if (value instanceof Tensor) return [value];
  if (value instanceof RowGrad) return [value.values];
  if (Array.isArray(value)) return value.flatMap(collectTensors);
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.values(value).flatMap(collectTensors);
  }
  return [];
}

/**
 * Finds a WebGPU device (navigator.gpu in a browser, Dawn in Node) or wraps the caller's, and
 * returns a context. Call `destroy()` when done: in Node a live device keeps the process running.
 */
export async function createContext(options: ContextOptions = {}): Promise<Context> {
  return new Context(await GpuRuntime.create(options));
}
