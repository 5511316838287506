/**
 * Finds the platform's `GPU` object: `navigator.gpu` in a browser, the Dawn bindings of the
 * `webgpu` package in Node. `webgpu` is an optional peer dependency (its Dawn binaries are
 * 132 MB that a browser app must not pull in): the Node import is dynamic, on first use, and
 * hidden from bundlers, and a missing package is reported with the command that installs it.
 */

/** The `webgpu` version this library is built and tested against (package.json peerDependencies). */
export const WEBGPU_PACKAGE_VERSION = '0.6.2';

let nodeGpu: GPU | undefined;

/** The `webgpu` package's module, typed just enough for what we use. */
interface DawnModule {
  create(flags: string[]): GPU;
  globals: Record<string, unknown>;
}

/**
 * Returns the platform GPU object. Throws when there is none: in Node without the `webgpu`
 * package the message names `npm install webgpu@0.6.2`. In Node the Dawn instance lives in module scope for the life
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
    const e = err as Error & { code?: string };
    if ((e.code === 'ERR_MODULE_NOT_FOUND' || e.code === 'MODULE_NOT_FOUND') && /['"]webgpu['"]/.test(e.message)) {
      throw new Error(
        'No WebGPU here: navigator.gpu is missing and the Node package "webgpu" (the Dawn bindings, an optional ' +
          `peer dependency of mind-webgpu) is not installed. Install it with: npm install webgpu@${WEBGPU_PACKAGE_VERSION}`,
      );
    }
    throw new Error(
      'No WebGPU here: navigator.gpu is missing and the Node package "webgpu" could not be loaded ' +
        `(${e.message}). Reinstall it with: npm install webgpu@${WEBGPU_PACKAGE_VERSION}; in a browser, use one with WebGPU enabled.`,
    );
  }
  // The WebGPU enums and classes (GPUBufferUsage, GPUMapMode, ...) are globals in browsers.
  for (const [key, value] of Object.entries(dawn.globals)) {
    if (!(key in globalThis)) (globalThis as Record<string, unknown>)[key] = value;
  }
  nodeGpu = dawn.create(dawnFlags);
  return nodeGpu;
}
