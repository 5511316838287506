/**
 * The WebGPU runtime: device acquisition, the buffer pool, the pipeline cache, and the single
 * command encoder that collects a step's dispatches until `submit()`.
 *
 * Nothing here knows about tensors or models: a dispatch is a kernel spec, a list of buffers
 * bound in order at @group(0) @binding(0..n), and a workgroup count.
 */
import { BufferPool } from './buffer-pool.js';
import { type KernelSpec, PipelineCache } from './pipeline-cache.js';
import { platformGpu } from './provider.js';
import { Profiler, type KernelTiming } from './profiler.js';

export type { KernelSpec } from './pipeline-cache.js';

/**
 * A binding: a storage buffer, or a small uniform block given as data. In a dispatch's binding
 * list the array index is the @binding number; holes (undefined) are bindings the entry point
 * does not use, so one WGSL file can give each resource a fixed number across its entry points.
 */
export type BufferBinding = GPUBuffer | { uniform: ArrayBufferView };

export interface RuntimeOptions {
  /** Use this device instead of finding one. It is not destroyed by `destroy()`. */
  device?: GPUDevice;
  powerPreference?: GPUPowerPreference;
  /** Time every kernel with timestamp queries (when the adapter supports them). */
  profile?: boolean;
  /** Pretend optional features are missing, to exercise fallback paths. */
  disableFeatures?: GPUFeatureName[];
  /** Dawn toggles for the Node instance, e.g. `disable_timestamp_query_conversion`. */
  dawnFlags?: string[];
  /**
   * Caps the workgroups per dispatch dimension below the device's
   * maxComputeWorkgroupsPerDimension (never above it), so that tests reach the grid splitting of
   * ops that read `GpuRuntime.maxWorkgroupsPerDimension` (routing's projections) at small
   * shapes. Ops that size their grids by the WebGPU minimum (gridFor's default) ignore it and
   * fail at dispatch when they exceed it.
   */
  maxWorkgroupsPerDimension?: number;
  /**
   * Cap, in bytes, on each buffer of a row table split over several buffers (Context.table:
   * item tables, their Adam moments, all item vectors). The shard size is always at most the
   * device's maxStorageBufferBindingSize and maxBufferSize; this lowers it further. A test hook:
   * a small cap splits small tables, so the sharded path runs (and is compared bit for bit with
   * one buffer) on any device. Nothing else is affected: every other tensor keeps the device's
   * limits. Must be an integer ≥ 4.
   */
  maxTableShardBytes?: number;
}

export interface RuntimeStats {
  submits: number;
  dispatches: number;
  dispatchesByKernel: Map<string, number>;
}

/** Limits worth raising to the adapter's maximum: the work is bounded by them. */
const RAISED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxStorageBuffersPerShaderStage',
] as const;

const OPTIONAL_FEATURES = ['timestamp-query', 'subgroups', 'shader-f16'] as GPUFeatureName[];

/** Largest workgroup count per dimension that every WebGPU device supports. */
export const MAX_WORKGROUPS_PER_DIM = 65535;

export class GpuRuntime {
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  readonly stats: RuntimeStats = { submits: 0, dispatches: 0, dispatchesByKernel: new Map() };
  readonly profiler: Profiler | undefined;
  /** Workgroups allowed per dispatch dimension: the device's limit, or the lower test cap (RuntimeOptions). */
  readonly maxWorkgroupsPerDimension: number;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private kernelsInEncoder = new Set<string>();
  private readonly submitErrors: Promise<string | null>[] = [];
  private destroyed = false;
  /** While `recordKernels` runs: the kernels dispatched so far, by pipeline key. */
  private recording: Map<string, KernelSpec> | null = null;
  /**
   * Largest buffer of one shard of a row-sharded table, in bytes: the smallest of the device's
   * maxStorageBufferBindingSize, its maxBufferSize and RuntimeOptions.maxTableShardBytes.
   */
  readonly tableShardBytes: number;

  private constructor(
    readonly device: GPUDevice,
    readonly adapterInfo: { vendor: string; architecture: string; device: string; description: string },
    readonly features: { subgroups: boolean; f16: boolean; timestamps: boolean },
    private readonly ownsDevice: boolean,
    profile: boolean,
    workgroupCap: number | undefined,
    maxTableShardBytes: number,
  ) {
    this.maxWorkgroupsPerDimension = Math.min(device.limits.maxComputeWorkgroupsPerDimension, workgroupCap ?? Infinity);
    this.tableShardBytes = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize, maxTableShardBytes);
    this.pool = new BufferPool(device, device.limits.maxStorageBufferBindingSize);
    this.pipelines = new PipelineCache(device);
    if (profile && features.timestamps) this.profiler = new Profiler(device);
  }

  static async create(options: RuntimeOptions = {}): Promise<GpuRuntime> {
    const cap = options.maxWorkgroupsPerDimension;
    if (cap !== undefined && (!Number.isInteger(cap) || cap < 1)) {
      throw new Error(`GpuRuntime: maxWorkgroupsPerDimension must be an integer ≥ 1, got ${cap}`);
    }
    const disabled = new Set(options.disableFeatures ?? []);
    const shardCap = options.maxTableShardBytes ?? Infinity;
    if (shardCap !== Infinity && !(Number.isSafeInteger(shardCap) && shardCap >= 4)) {
      throw new RangeError(`maxTableShardBytes must be an integer ≥ 4, got ${shardCap}`);
    }
    let device = options.device;
    let info = { vendor: 'unknown', architecture: '', device: '', description: 'caller-provided device' };
    if (!device) {
      const gpu = await platformGpu(options.dawnFlags);
      const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference });
      if (!adapter) {
        throw new Error(
          'No WebGPU adapter found. Without a GPU, install a CPU Vulkan driver Dawn accepts ' +
            '(Debian 12: mesa-vulkan-drivers from bookworm-backports; see README).',
        );
      }
      const requiredLimits: Record<string, number> = {};
      for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
      const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f) && !disabled.has(f));
      device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'mind-webgpu' });
      const a = adapter.info;
      info = { vendor: a.vendor, architecture: a.architecture, device: a.device, description: a.description };
    }
    const has = (f: GPUFeatureName) => device.features.has(f) && !disabled.has(f);
    const features = { subgroups: has('subgroups' as GPUFeatureName), f16: has('shader-f16'), timestamps: has('timestamp-query') };
    const runtime = new GpuRuntime(device, info, features, !options.device, options.profile ?? false, cap, shardCap);
    device.addEventListener('uncapturederror', (ev) => {
      console.error(`mind-webgpu: uncaptured WebGPU error: ${(ev as GPUUncapturedErrorEvent).error.message}`);
    });
    return runtime;
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  private ensureLive(): void {
    if (this.destroyed) throw new Error('this GPU context has been destroyed');
  }

  /** Storage buffer usable by kernels, uploads and readback. */
  createStorage(bytes: number, label: string): GPUBuffer {
    this.ensureLive();
    if (bytes > this.device.limits.maxStorageBufferBindingSize) {
      throw new Error(
        `${label}: ${bytes} bytes exceeds this device's maxStorageBufferBindingSize ` +
          `(${this.device.limits.maxStorageBufferBindingSize})`,
      );
    }
    return this.pool.acquire(
      bytes,
      GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      label,
    );
  }

  release(buffer: GPUBuffer): void {
    if (!this.destroyed) this.pool.release(buffer);
  }

  upload(buffer: GPUBuffer, data: ArrayBufferView, offsetBytes = 0): void {
    this.ensureLive();
    if (data.byteLength === 0) return;
    // writeBuffer needs a multiple of 4 bytes; every dtype here is 4 bytes wide.
    this.device.queue.writeBuffer(buffer, offsetBytes, data.buffer, data.byteOffset, data.byteLength);
  }

  private currentEncoder(): GPUCommandEncoder {
    if (!this.encoder) {
      this.encoder = this.device.createCommandEncoder({ label: 'mind-webgpu.step' });
      this.kernelsInEncoder = new Set();
    }
    return this.encoder;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /**
   * Records one dispatch into the step's encoder. Consecutive dispatches share a compute pass
   * (WebGPU orders storage accesses between dispatches), except when profiling.
   */
  dispatch(spec: KernelSpec, bindings: (BufferBinding | undefined)[], workgroups: readonly [number, number?, number?]): void {
    this.ensureLive();
    const [x, y = 1, z = 1] = workgroups;
    for (let axis = 0; axis < 3; axis++) {
      const n = [x, y, z][axis];
      if (Number.isInteger(n) && n >= 0 && n <= this.maxWorkgroupsPerDimension) continue;
      const where = `kernel ${spec.name}: workgroup count ${n} along ${'xyz'[axis]} (grid [${x}, ${y}, ${z}])`;
      if (!Number.isInteger(n) || n < 0) throw new Error(`${where} is not an integer ≥ 0`);
      const limit = this.device.limits.maxComputeWorkgroupsPerDimension;
      const cap = this.maxWorkgroupsPerDimension < limit ? `, capped to ${this.maxWorkgroupsPerDimension} by RuntimeOptions.maxWorkgroupsPerDimension` : '';
      throw new Error(`${where} exceeds this device's maxComputeWorkgroupsPerDimension (${limit}${cap}); the op must split its grid or its input`);
    }
    if (x * y * z === 0) return;
    if (this.recording) {
      this.recording.set(this.pipelines.keyOf(spec), spec);
      return;
    }
    const pipeline = this.pipelines.get(spec);
    const uniforms: GPUBuffer[] = [];
    const entries: GPUBindGroupEntry[] = [];
    bindings.forEach((b, binding) => {
      if (b === undefined) return;
      if (!('uniform' in b)) {
        entries.push({ binding, resource: { buffer: b } });
        return;
      }
      const bytes = Math.ceil(b.uniform.byteLength / 16) * 16;
      const ub = this.pool.acquire(bytes, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, `${spec.name}.params`);
      this.device.queue.writeBuffer(ub, 0, b.uniform.buffer, b.uniform.byteOffset, b.uniform.byteLength);
      uniforms.push(ub);
      entries.push({ binding, resource: { buffer: ub } });
    });
    const bindGroup = this.device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries, label: spec.name });
    const encoder = this.currentEncoder();
    const timestampWrites = this.profiler?.passTimestamps(spec.name);
    if (timestampWrites) {
      this.endPass();
      const pass = encoder.beginComputePass({ label: spec.name, timestampWrites });
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(x, y, z);
      pass.end();
    } else {
      this.pass ??= encoder.beginComputePass({ label: 'mind-webgpu.pass' });
      this.pass.setPipeline(pipeline);
      this.pass.setBindGroup(0, bindGroup);
      this.pass.dispatchWorkgroups(x, y, z);
    }
    for (const ub of uniforms) this.pool.release(ub);
    this.kernelsInEncoder.add(spec.name);
    this.stats.dispatches++;
    this.stats.dispatchesByKernel.set(spec.name, (this.stats.dispatchesByKernel.get(spec.name) ?? 0) + 1);
  }

  /** Records a buffer-to-buffer copy into the step's encoder. */
  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    this.ensureLive();
    if (bytes === 0 || this.recording) return;
    this.endPass();
    this.currentEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  /** Records a zero fill of `bytes` bytes (a multiple of 4) from the start of `buffer`. */
  clear(buffer: GPUBuffer, bytes: number): void {
    this.ensureLive();
    if (bytes === 0 || this.recording) return;
    this.endPass();
    this.currentEncoder().clearBuffer(buffer, 0, Math.ceil(bytes / 4) * 4);
  }

  /**
   * Submits everything recorded since the last submit as one command buffer. Buffers released
   * meanwhile become reusable when it completes.
   */
  submit(): void {
    this.ensureLive();
    const encoder = this.encoder;
    if (encoder) {
      this.endPass();
      const finishTiming = this.profiler?.resolve(encoder);
      const kernels = [...this.kernelsInEncoder].join(', ');
      this.encoder = null;
      this.device.pushErrorScope('validation');
      this.device.pushErrorScope('out-of-memory');
      this.device.queue.submit([encoder.finish()]);
      const oom = this.device.popErrorScope();
      const validation = this.device.popErrorScope();
      this.submitErrors.push(
        Promise.all([oom, validation]).then(([o, v]) => {
          const err = v ?? o;
          return err ? `WebGPU error in a submit with kernels [${kernels}]: ${err.message}` : null;
        }),
      );
      finishTiming?.();
      this.stats.submits++;
    }
    void this.pool.retire(this.device.queue.onSubmittedWorkDone());
  }

  /** Throws the first compile or submit error seen since the last check. */
  async checkErrors(): Promise<void> {
    // Take both lists before throwing, so one failure is reported once.
    const submits = Promise.all(this.submitErrors.splice(0));
    const compile = this.pipelines.check().then(
      () => null,
      (err: Error) => err.message,
    );
    const errors = [await compile, ...(await submits)].filter((e): e is string => e !== null);
    if (errors.length > 0) throw new Error(errors[0]);
  }

  /** Submits pending work and waits until the GPU has finished all of it. */
  async sync(): Promise<void> {
    this.submit();
    await this.device.queue.onSubmittedWorkDone();
    await this.checkErrors();
  }

  /**
   * Copies `bytes` bytes of `buffer` to the host. The copy rides in the same submit as the
   * pending work, so reading a step's loss costs no extra submit.
   */
  async read(buffer: GPUBuffer, bytes: number, offsetBytes = 0): Promise<ArrayBuffer> {
    this.ensureLive();
    if (bytes === 0 || this.recording) {
      this.submit();
      return new ArrayBuffer(bytes);
    }
    const padded = Math.ceil(bytes / 4) * 4;
    const staging = this.pool.acquire(padded, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'readback');
    this.copy(buffer, offsetBytes, staging, 0, padded);
    this.submit();
    await staging.mapAsync(GPUMapMode.READ, 0, padded);
    const out = staging.getMappedRange(0, padded).slice(0, bytes);
    staging.unmap();
    this.pool.recycle(staging);
    await this.checkErrors();
    return out;
  }

  /**
   * Runs `work` as a dry run and returns the kernels it dispatches, one spec per pipeline, in
   * first-use order: while it runs, dispatches, copies and clears are recorded or skipped, not
   * encoded, so the GPU computes nothing and no buffer's contents change except by uploads
   * (`upload`, `Context.tensor`), and reads resolve to zeros. Host-side effects of `work` happen
   * as usual. Work pending before the call is submitted first. Nothing else may use this
   * runtime until the returned promise settles. Throws what `work` throws, and when called
   * while a recording runs.
   */
  async recordKernels(work: () => unknown): Promise<KernelSpec[]> {
    this.ensureLive();
    if (this.recording) throw new Error('recordKernels: a recording is already running on this runtime');
    this.submit();
    const recorded = new Map<string, KernelSpec>();
    this.recording = recorded;
    try {
      await work();
    } finally {
      this.recording = null;
    }
    return [...recorded.values()];
  }

  /**
   * Compiles ahead, all together with createComputePipelineAsync, every pipeline that `work`
   * dispatches (found by a dry run, `recordKernels`), so that running the same work afterwards
   * compiles nothing. Returns the kernels found and how many were compiled (the others were
   * cached). Throws what `work` or the compilation throws.
   */
  async compileAhead(work: () => unknown): Promise<{ kernels: number; compiled: number }> {
    const specs = await this.recordKernels(work);
    return { kernels: specs.length, compiled: await this.pipelines.compileAhead(specs) };
  }

  /** Per-kernel GPU times collected so far (empty unless created with `profile`). */
  async kernelTimings(): Promise<Map<string, KernelTiming>> {
    return this.profiler ? this.profiler.settle() : new Map();
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.encoder = null;
    this.pass = null;
    this.profiler?.destroy();
    this.pool.destroy();
    if (this.ownsDevice) this.device.destroy();
  }
}

/**
 * Splits `count` workgroups over two dimensions [a, b], a·b ≥ count, neither above `limit`
 * (default the WebGPU minimum every device supports; pass GpuRuntime.maxWorkgroupsPerDimension
 * to follow the device). The kernel rebuilds the flat index as first + second · (first's
 * count), e.g. `wid.x + wid.y * nwg.x`, and skips indices ≥ count. Up to limit² workgroups.
 */
export function gridFor(count: number, limit = MAX_WORKGROUPS_PER_DIM): [number, number] {
  if (count <= limit) return [count, 1];
  const y = Math.ceil(count / limit);
  return [Math.ceil(count / y), y];
}

/**
 * Splits `count` workgroups over three dimensions [x, y, z], x·y·z ≥ count, none above `limit`
 * (pass GpuRuntime.maxWorkgroupsPerDimension): all along x while it fits, else x = limit and
 * the rest folded over y and z as gridFor does. The kernel numbers its workgroup
 * `wid.x + nwg.x * (wid.y + nwg.y * wid.z)` and skips numbers ≥ count, so the fold renames
 * workgroups without changing what any of them computes. Up to limit³ workgroups; throws
 * naming count and limit beyond that.
 */
export function gridFor3(count: number, limit = MAX_WORKGROUPS_PER_DIM): [number, number, number] {
  if (count <= limit) return [count, 1, 1];
  const rest = Math.ceil(count / limit);
  if (rest > limit * limit) throw new Error(`gridFor3: ${count} workgroups exceed ${limit}³ (the per-dimension limit cubed)`);
  return [limit, ...gridFor(rest, limit)];
}
