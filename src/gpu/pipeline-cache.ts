/**
 * Compute pipelines cached by module id, entry point and specialisation (override constants).
 * Each pipeline is compiled once; its compile errors are collected under an error scope and
 * reported, with the kernel's name, at the next synchronisation point.
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

  /** The pipeline for `spec`, compiled on first use. Throws when one id is used with two different sources. */
  get(spec: KernelSpec): GPUComputePipeline {
    const id = spec.id ?? spec.source;
    const known = this.modules.get(id);
    // Same string object in the common case, so this is a pointer comparison.
    if (known && known.source !== spec.source) {
      throw new Error(`kernel ${spec.name}: module id '${id}' is already used by a different WGSL source`);
    }
    const constants = spec.constants ?? {};
    const constKey = Object.keys(constants)
      .sort()
      .map((k) => `${k}=${constants[k]}`)
      .join(',');
    const key = `${spec.entryPoint}|${constKey}|${id}`;
    const cached = this.pipelines.get(key);
    if (cached) return cached;

    for (const [k, v] of Object.entries(constants)) {
      if (!Number.isFinite(v)) throw new Error(`kernel ${spec.name}: override constant ${k} must be finite, got ${v}`);
    }
    this.device.pushErrorScope('validation');
    let module = known?.module;
    if (!module) {
      module = this.device.createShaderModule({ code: spec.source, label: spec.id ?? spec.name });
      this.modules.set(id, { source: spec.source, module });
    }
    const pipeline = this.device.createComputePipeline({
      label: spec.name,
      layout: 'auto',
      compute: { module, entryPoint: spec.entryPoint, constants },
    });
    this.unchecked.push(
      this.device.popErrorScope().then((err) => (err ? `kernel ${spec.name} failed to compile: ${err.message}` : null)),
    );
    this.pipelines.set(key, pipeline);
    return pipeline;
  }

  /** Throws the first compile error seen since the last check. */
  async check(): Promise<void> {
    const pending = this.unchecked.splice(0);
    const errors = (await Promise.all(pending)).filter((e): e is string => e !== null);
    if (errors.length > 0) throw new Error(errors[0]);
  }
}
