/**
 * Per-kernel GPU time from timestamp queries. When profiling, every dispatch runs in its own
 * compute pass whose begin and end timestamps land in a query set; at each submit the pairs are
 * resolved and read back asynchronously, and their durations summed by kernel name.
 */

export interface KernelTiming {
  calls: number;
  totalMs: number;
}

const CAPACITY = 2048; // query pairs per submit; more dispatches than this go untimed

export class Profiler {
  private readonly querySet: GPUQuerySet;
  private readonly resolveBuffer: GPUBuffer;
  private names: string[] = [];
  private readonly pendingReads: Promise<void>[] = [];
  readonly timings = new Map<string, KernelTiming>();

  constructor(private readonly device: GPUDevice) {
    this.querySet = device.createQuerySet({ type: 'timestamp', count: CAPACITY * 2, label: 'profiler' });
    this.resolveBuffer = device.createBuffer({
      size: CAPACITY * 16,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
      label: 'profiler.resolve',
    });
  }

  /** Timestamp writes for the next dispatch's pass, or undefined when the set is full. */
  passTimestamps(name: string): GPUComputePassTimestampWrites | undefined {
    const i = this.names.length;
    if (i >= CAPACITY) return undefined;
    this.names.push(name);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
  }

  /** Appends the resolve of this submit's queries to `encoder`. Call just before finish(). */
  resolve(encoder: GPUCommandEncoder): (() => void) | undefined {
    const n = this.names.length;
    if (n === 0) return undefined;
    const names = this.names;
    this.names = [];
    const staging = this.device.createBuffer({
      size: n * 16,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      label: 'profiler.staging',
    });
    encoder.resolveQuerySet(this.querySet, 0, 2 * n, this.resolveBuffer, 0);
    encoder.copyBufferToBuffer(this.resolveBuffer, 0, staging, 0, n * 16);
    return () => {
      this.pendingReads.push(
        staging.mapAsync(GPUMapMode.READ).then(() => {
          const ticks = new BigInt64Array(staging.getMappedRange().slice(0));
          staging.destroy();
          for (let i = 0; i < n; i++) {
            const ms = Number(ticks[2 * i + 1] - ticks[2 * i]) / 1e6;
            const t = this.timings.get(names[i]) ?? { calls: 0, totalMs: 0 };
            t.calls++;
            t.totalMs += Math.max(ms, 0);
            this.timings.set(names[i], t);
          }
        }),
      );
    };
  }

  /** Waits for every submitted timing to be read back. */
  async settle(): Promise<Map<string, KernelTiming>> {
    await Promise.all(this.pendingReads.splice(0));
    return this.timings;
  }

  reset(): void {
    this.timings.clear();
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolveBuffer.destroy();
  }
}
