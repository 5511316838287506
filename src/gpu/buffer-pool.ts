/**
 * Buffer pool keyed by size class and usage.
 *
 * Why deferred release: `queue.writeBuffer` is ordered before the next submit, so handing a
 * just-released buffer to a new tensor whose data is uploaded with writeBuffer could overwrite it
 * while a recorded-but-unsubmitted (or in-flight) dispatch still reads the old contents. A
 * released buffer therefore waits in `pending` until the submit that last used it has completed
 * (`retire` is called with that submit's completion promise), and only then becomes reusable.
 */

export interface PoolStats {
  /** Buffers created by the pool and not destroyed. */
  allocated: number;
  allocatedBytes: number;
  free: number;
  pending: number;
  inUse: number;
}

/** Rounds a byte size up to its size class: powers of two and 1.5x steps between them. */
export function sizeClass(bytes: number): number {
  const b = Math.max(bytes, 256);
  const pow = 2 ** Math.ceil(Math.log2(b));
  const mid = (pow / 4) * 3;
  return b <= mid ? mid : pow;
}

export class BufferPool {
  private readonly free = new Map<string, GPUBuffer[]>();
  private pending: GPUBuffer[] = [];
  private readonly sizeOf = new Map<GPUBuffer, number>();
  private allocatedBytes = 0;
  private inUse = 0;
  private retiring = 0;

  constructor(
    private readonly device: GPUDevice,
    /** Largest size a storage binding may have; classes never round past it. */
    private readonly maxBindingSize: number,
  ) {}

  private key(size: number, usage: number): string {
    return `${usage}:${size}`;
  }

  /**
   * Returns a buffer of at least `bytes` bytes with exactly `usage`. Throws, naming `label`, the
   * bytes and the limit, when `bytes` exceeds the device's maxBufferSize (a size class never
   * rounds past it, nor past the binding limit when `bytes` is within it).
   */
  acquire(bytes: number, usage: GPUBufferUsageFlags, label: string): GPUBuffer {
    const maxBufferSize = this.device.limits.maxBufferSize;
    if (bytes > maxBufferSize) throw new Error(`${label}: ${bytes} bytes exceeds this device's maxBufferSize (${maxBufferSize})`);
    let size = sizeClass(bytes);
    if (size > this.maxBindingSize && bytes <= this.maxBindingSize) size = Math.ceil(bytes / 4) * 4;
    if (size > maxBufferSize) size = Math.ceil(bytes / 4) * 4;
    const list = this.free.get(this.key(size, usage));
    this.inUse++;
    const reused = list?.pop();
    if (reused) return reused;
    const buffer = this.device.createBuffer({ size, usage, label });
    this.sizeOf.set(buffer, size);
    this.allocatedBytes += size;
    return buffer;
  }

  /** Gives a buffer back; it becomes reusable after the next `retire` completes. */
  release(buffer: GPUBuffer): void {
    this.inUse--;
    this.pending.push(buffer);
  }

  /** Returns a buffer whose GPU work is known to be complete (a mapped readback) straight to its free list. */
  recycle(buffer: GPUBuffer): void {
    this.inUse--;
    this.makeFree(buffer);
  }

  private makeFree(buffer: GPUBuffer): void {
    const key = this.key(this.sizeOf.get(buffer)!, buffer.usage);
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(buffer);
  }

  /**
   * Moves everything released so far to the free lists once `done` resolves (the completion of
   * the submit that last used them).
   */
  retire(done: Promise<unknown>): Promise<void> {
    if (this.pending.length === 0) return Promise.resolve();
    const batch = this.pending;
    this.pending = [];
    this.retiring += batch.length;
    return done.then(() => {
      this.retiring -= batch.length;
      for (const buffer of batch) this.makeFree(buffer);
    });
  }

  stats(): PoolStats {
    let free = 0;
    for (const list of this.free.values()) free += list.length;
    return {
      allocated: this.sizeOf.size,
      allocatedBytes: this.allocatedBytes,
      free,
      pending: this.pending.length + this.retiring,
      inUse: this.inUse,
    };
  }

  /** Destroys every buffer the pool created. */
  destroy(): void {
    for (const buffer of this.sizeOf.keys()) buffer.destroy();
    this.sizeOf.clear();
    this.free.clear();
    this.pending = [];
    this.allocatedBytes = 0;
  }
}
