/**
 * Kernels bound by name. A `KernelModule` is one WGSL module (its includes prepended, e.g.
 * kernels/common/index.wgsl, kernels/rng.wgsl) under a unique id; its contract (resources,
 * uniform struct layouts, which resources each entry point uses) is read from the text once, on
 * first use (see kernel-contract.ts). A `KernelEntry` dispatches one entry point with its
 * resources given by their WGSL names and its uniform blocks as objects of WGSL field names:
 *
 *   elementwise.entry('add').run(ctx, { params: { n, alpha: 0 }, a, b, out }, grid);
 *
 * Anything the entry point uses and did not get, anything it does not use or the module does not
 * declare, and any uniform field missing, unknown or out of range throws before dispatch, naming
 * the kernel, the entry point and the field. This is the public way to run a kernel: ops,
 * the optimizer and the top-k search all use it.
 */
import { type KernelContract, type UniformValue, packUniform, parseKernel, typeName } from './kernel-contract.js';
import type { BufferBinding, GpuRuntime } from './runtime.js';
import { type WorkgroupUsage, checkWorkgroupUsage, workgroupUsage } from './workgroup-memory.js';

/** A storage binding: a GPU buffer, or anything holding one (a `Tensor`). */
export type StorageValue = GPUBuffer | { readonly buffer: GPUBuffer };
/** A uniform binding: the struct's fields by WGSL name. */
export type UniformFields = { readonly [field: string]: UniformValue };
/** Resources by WGSL variable name; `undefined` means "not given". */
export type KernelBindings = { readonly [name: string]: StorageValue | UniformFields | undefined };
/** Where a dispatch is recorded: a runtime, or a context (anything with `.gpu`). */
export type DispatchTarget = GpuRuntime | { readonly gpu: GpuRuntime };

export class KernelModule {
  /** The full WGSL text: the parts joined by newlines. */
  readonly source: string;
  private parsed: KernelContract | undefined;
  private readonly entries = new Map<string, KernelEntry>();

  /**
   * @param name unique module id (pipelines are cached by it), e.g. 'routing'
   * @param parts WGSL texts joined in order: shared helpers first, the kernels last
   */
  constructor(
    readonly name: string,
    parts: readonly string[],
  ) {
    if (!name || typeof name !== 'string') throw new Error(`KernelModule: name must be a non-empty string, got ${String(name)}`);
    if (parts.length === 0 || parts.some((s) => typeof s !== 'string')) {
      throw new Error(`KernelModule ${name}: parts must be one or more WGSL strings`);
    }
    this.source = parts.join('\n');
  }

  /** The contract read from the source (parsed on first access; throws on unreadable WGSL). */
  get contract(): KernelContract {
    this.parsed ??= parseKernel(this.source, this.name);
    return this.parsed;
  }

  /**
   * The entry point `entryPoint`, labelled `label` in errors, statistics and profiles (default
   * `<module>.<entryPoint>`). Throws when the module has no such entry point or it uses a
   * resource outside @group(0).
   */
  entry(entryPoint: string, label = `${this.name}.${entryPoint}`): KernelEntry {
    const key = `${entryPoint}\u0000${label}`;
    let entry = this.entries.get(key);
    if (!entry) {
      const uses = this.contract.entryPoints.get(entryPoint);
      if (!uses) {
        throw new Error(`kernel ${this.name}: no entry point '${entryPoint}'; it has ${[...this.contract.entryPoints.keys()].join(', ')}`);
      }
      for (const name of uses) {
        const r = this.contract.bindings.get(name)!;
        if (r.group !== 0) throw new Error(`kernel ${this.name}.${entryPoint}: ${name} is in @group(${r.group}); only @group(0) is bound`);
      }
      entry = new KernelEntry(this, entryPoint, label, uses);
      this.entries.set(key, entry);
    }
    return entry;
  }
}

/** `new KernelModule(name, parts)`. */
export function kernelModule(name: string, ...parts: string[]): KernelModule {
  return new KernelModule(name, parts);
}

export class KernelEntry {
  private readonly used: Set<string>;
  /** Workgroup memory by override values (JSON), computed once per specialisation. */
  private readonly usageByConstants = new Map<string, WorkgroupUsage>();

  constructor(
    readonly module: KernelModule,
    readonly entryPoint: string,
    readonly label: string,
    /** The resources this entry point uses, in @binding order. */
    readonly uses: readonly string[],
  ) {
    this.used = new Set(uses);
  }

  /**
   * Records one dispatch of `workgroups` ([x, y?, z?] workgroup counts) into the target's step.
   * `bindings` gives every resource the entry point uses by its WGSL name: storage buffers as a
   * buffer or tensor, uniform blocks as field objects (see `packUniform`). `constants` are WGSL
   * `override` values by name. Throws, naming the kernel, entry point and name, on a missing,
   * unused or undeclared resource, a storage value that holds no buffer, a bad uniform field, or
   * an unknown override constant.
   */
  run(target: DispatchTarget, bindings: KernelBindings, workgroups: readonly [number, number?, number?], constants?: Record<string, number>): void {
    const gpu = 'gpu' in target ? target.gpu : target;
    const where = `kernel ${this.module.name}.${this.entryPoint}`;
    const contract = this.module.contract;
    for (const [name, value] of Object.entries(bindings)) {
      if (value === undefined) continue;
      if (!contract.bindings.has(name)) {
        throw new Error(`${where}: unknown binding '${name}'; the module declares ${[...contract.bindings.keys()].join(', ')}`);
      }
      if (!this.used.has(name)) {
        throw new Error(`${where}: binding '${name}' is not used by this entry point; it uses ${this.uses.join(', ')}`);
      }
    }
    if (constants) {
      for (const name of Object.keys(constants)) {
        if (!contract.overrides.has(name)) {
          throw new Error(`${where}: unknown override constant '${name}'; the module declares ${[...contract.overrides].join(', ') || 'none'}`);
        }
      }
    }
    const list: (BufferBinding | undefined)[] = [];
    for (const name of this.uses) {
      const r = contract.bindings.get(name)!;
      const value = bindings[name];
      if (value === undefined) {
        throw new Error(`${where}: missing binding '${name}' (@binding(${r.binding}) var<${r.space}, ${r.access}> ${typeName(r.type)})`);
      }
      list[r.binding] = r.space === 'uniform' ? { uniform: packUniform(where, r.type, value, name) } : storageBuffer(where, name, value);
    }
    checkWorkgroupUsage(this.label, this.workgroupUsage(constants), gpu.limits.maxComputeWorkgroupStorageSize, constants);
    gpu.dispatch({ name: this.label, id: this.module.name, source: this.module.source, entryPoint: this.entryPoint, constants }, list, workgroups);
  }

  /**
   * The workgroup memory this entry point needs with override values `constants` (the rest at
   * their defaults): each statically used var<workgroup>, rounded to 16 bytes as WebGPU counts
   * it. `run` refuses a dispatch whose total exceeds the device's maxComputeWorkgroupStorageSize.
   */
  workgroupUsage(constants: Record<string, number> = {}): WorkgroupUsage {
    // Most entry points use none: no key to build on every dispatch.
    if (this.module.contract.entryWorkgroupVars.get(this.entryPoint)!.length === 0) return { total: 0, variables: [] };
    const key = JSON.stringify(constants);
    let usage = this.usageByConstants.get(key);
    if (!usage) {
      usage = workgroupUsage(this.module.contract, this.entryPoint, constants);
      this.usageByConstants.set(key, usage);
    }
    return usage;
  }
}

function storageBuffer(where: string, name: string, value: unknown): GPUBuffer {
  const isBuffer = (v: unknown): v is GPUBuffer => !!v && typeof (v as GPUBuffer).mapAsync === 'function';
  if (isBuffer(value)) return value;
  if (value && typeof value === 'object' && 'buffer' in value) {
    const inner = (value as { buffer: unknown }).buffer;
    if (isBuffer(inner)) return inner;
  }
  throw new Error(`${where}: storage binding '${name}' must be a GPUBuffer or a tensor, got ${Array.isArray(value) ? 'a list' : typeof value}`);
}
