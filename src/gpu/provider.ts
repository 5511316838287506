/**
 * Finds the platform's `GPU` object: `navigator.gpu` in a browser, the Dawn bindings of the
 * `webgpu` package in Node. The Node import is dynamic and hidden from bundlers so that the
 * browser build never pulls it in.
 */

let nodeGpu: GPU | undefined;

/** The `webgpu` package's module, typed just enough for what we use. */
interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

/**
 * Returns the platform GPU object. In Node the Dawn instance lives in module scope for the life
 * of the process: creating one per context leaks threads, and it is the device (destroyed by
 * `GpuContext.destroy`) that keeps the event loop alive, not this object.
 */
export async function platformGpu(dawnFlags: string[] = []): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (nodeGpu) return nodeGpu;
  const moduleName = 'webgpu';
  let dawn: DawnModule;
  try {
    dawn = (await import(/* @vite-ignore */ moduleName)) as DawnModule;
  } catch (err) {
    throw new Error(
      'No WebGPU here: navigator.gpu is missing and the Node package "webgpu" could not be loaded ' +
        `(${(err as Error).message}). In a browser, use one with WebGPU enabled.`,
    );
  }
  // The WebGPU enums and classes (GPUBufferUsage, GPUMapMode, ...) are globals in browsers.
  for (const [key, value] of Object.entries(dawn.globals)) {
    if (!(key in globalThis)) (globalThis as Record<string, unknown>)[key] = value;
  }
  nodeGpu = dawn.create(dawnFlags);
  return nodeGpu;
}
