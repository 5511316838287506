/**
 * Compute pipelines cached by module id, entry point and specialisation (override constants).
 * Each pipeline is compiled once: ahead of use, all together and off the caller's thread, by
 * `compileAhead` (createComputePipelineAsync; the design's "compile asynchronously and once"),
 * or synchronously by `get` on first use of anything not compiled ahead. Synchronous compile
 * errors are collected under an error scope and reported, with the kernel's name, at the next
 * synchronisation point; asynchronous ones reject `compileAhead`.
 */

/** What identifies one compiled kernel. */
export interface KernelSpec {
  /** Label used in errors and profiles, e.g. `routing.forward`. */
  name: string;
  /**
   * Module id (KernelModule's name): pipelines and shader modules are keyed by it, not by the
   * text. Absent for positional callers, where the source text itself is the key.
   */
  id?: string;
  /** WGSL source text (one file of kernels/, its includes prepended). */
  source: string;
  entryPoint: string;
  /** WGSL `override` values: sizes, workgroup sizes, flags. */
  constants?: Record<string, number>;
}

export class PipelineCache {
  private readonly modules = new Map<string, { source: string; module: GPUShaderModule }>();
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  /** Compilations whose error scope has not been checked yet. */
  private readonly unchecked: Promise<string | null>[] = [];

  constructor(private readonly device: GPUDevice) {}

  get size(): number {
    return this.pipelines.size;
  }

  /**
   * The cache key of `spec`: entry point, override constants (sorted) and module id. Throws when
   * one id is used with two different sources, or an override constant is not finite.
   */
  keyOf(spec: KernelSpec): string {
    const id = spec.id ?? spec.source;
    const known = this.modules.get(id);
    // Same string object in the common case, so this is a pointer comparison.
    if (known && known.source !== spec.source) {
      throw new Error(`kernel ${spec.name}: module id '${id}' is already used by a different WGSL source`);
    }
    const constants = spec.constants ?? {};
    for (const [k, v] of Object.entries(constants)) {
      if (!Number.isFinite(v)) throw new Error(`kernel ${spec.name}: override constant ${k} must be finite, got ${v}`);
    }
    const constKey = Object.keys(constants)
      .sort()
      .map((k) => `${k}=${constants[k]}`)
      .join(',');
    return `${spec.entryPoint}|${constKey}|${id}`;
  }

  /** Whether the pipeline of `spec` is compiled (by `get` or `compileAhead`). */
  has(spec: KernelSpec): boolean {
    return this.pipelines.has(this.keyOf(spec));
  }

  private moduleFor(spec: KernelSpec): GPUShaderModule {
    const id = spec.id ?? spec.source;
    let module = this.modules.get(id)?.module;
    if (!module) {
      module = this.device.createShaderModule({ code: spec.source, label: spec.id ?? spec.name });
      this.modules.set(id, { source: spec.source, module });
    }
    return module;
  }

  /** The pipeline for `spec`, compiled on first use. Throws as `keyOf`. */
  get(spec: KernelSpec): GPUComputePipeline {
    const key = this.keyOf(spec);
    const cached = this.pipelines.get(key);
    if (cached) return cached;
    this.device.pushErrorScope('validation');
    const pipeline = this.device.createComputePipeline({
      label: spec.name,
      layout: 'auto',
      compute: { module: this.moduleFor(spec), entryPoint: spec.entryPoint, constants: spec.constants ?? {} },
    });
    this.unchecked.push(
      this.device.popErrorScope().then((err) => (err ? `kernel ${spec.name} failed to compile: ${err.message}` : null)),
    );
    this.pipelines.set(key, pipeline);
    return pipeline;
  }

  /**
   * Compiles every pipeline of `specs` not compiled yet, all at once with
   * createComputePipelineAsync, and resolves when all are ready: `get` then finds them. Returns
   * how many it compiled. Throws as `keyOf` before compiling anything; rejects, naming the first
   * kernel that failed, after all have settled when any fails to compile.
   */
  async compileAhead(specs: readonly KernelSpec[]): Promise<number> {
    const todo = new Map<string, KernelSpec>();
    for (const spec of specs) {
      const key = this.keyOf(spec);
      if (!this.pipelines.has(key)) todo.set(key, spec);
    }
    const results = await Promise.allSettled(
      [...todo].map(async ([key, spec]) => {
        // A module's WGSL errors reject the pipeline's promise below; the scope keeps them from
        // also surfacing as uncaptured errors.
        this.device.pushErrorScope('validation');
        const module = this.moduleFor(spec);
        void this.device.popErrorScope();
        const pipeline = await this.device.createComputePipelineAsync({
          label: spec.name,
          layout: 'auto',
          compute: { module, entryPoint: spec.entryPoint, constants: spec.constants ?? {} },
        });
        // A `get` meanwhile may have compiled it already; either pipeline is the same program.
        if (!this.pipelines.has(key)) this.pipelines.set(key, pipeline);
      }),
    );
    const names = [...todo.values()].map((s) => s.name);
    const failed = results.findIndex((r) => r.status === 'rejected');
    if (failed >= 0) {
      const reason = (results[failed] as PromiseRejectedResult).reason as Error;
      throw new Error(`kernel ${names[failed]} failed to compile: ${reason?.message ?? String(reason)}`);
    }
    return todo.size;
  }

  /** Throws the first compile error seen since the last check. */
  async check(): Promise<void> {
    const pending = this.unchecked.splice(0);
    const errors = (await Promise.all(pending)).filter((e): e is string => e !== null);
    if (errors.length > 0) throw new Error(errors[0]);
  }
}
