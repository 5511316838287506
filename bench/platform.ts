/**
 * One WebGPU adapter for everyone: the Dawn instance is created once (with timestamp
 * quantisation off), installed as navigator.gpu, and both our contexts and tfjs-backend-webgpu
 * request their adapter from it. The tfjs backends are imported here, after that, because
 * tfjs-backend-webgpu registers itself only if navigator.gpu exists when it is loaded.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { type Context, createContext } from '../src/autograd/context.js';
import { platformGpu } from '../src/gpu/provider.js';

export type TfBackend = 'webgpu' | 'wasm' | 'cpu';
export const TF_BACKENDS: readonly TfBackend[] = ['webgpu', 'wasm', 'cpu'];

/**
 * Dawn rounds timestamps to a coarse grain by default (a fingerprinting defence); per-kernel
 * times need the raw ones. The flag only takes effect where this process creates the instance.
 */
export const DAWN_FLAGS = ['disable-dawn-features=timestamp_quantization'];

export interface AdapterDescription {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  timestamps: boolean;
  /** What tfjs-backend-webgpu reports for its adapter, to show it is the same one. */
  tfjsWebgpu?: string;
}

export interface Platform {
  /** Our context, timed without profiling. */
  ctx: Context;
  /** Our context with per-kernel timestamp queries (only when the adapter has them). */
  profiled?: Context;
  adapter: AdapterDescription;
  backends: TfBackend[];
  /** Waits until the active tfjs backend has finished every queued op. */
  tfFinish(backend: TfBackend): Promise<void>;
  destroy(): void;
}

interface WebGpuBackendLike {
  device: GPUDevice;
  adapterInfo: { vendor: string; architecture: string };
  submitQueue(): void;
}

/** Sets up the shared adapter, our two contexts and the requested tfjs backends. */
export async function setUpPlatform(backends: readonly TfBackend[]): Promise<Platform> {
  const gpu = await platformGpu(DAWN_FLAGS);
  const nav = (globalThis as { navigator?: object }).navigator;
  if ((nav as { gpu?: GPU } | undefined)?.gpu !== gpu) {
    // Node ≥ 21 has a read-only navigator without gpu; replace it with one that has ours.
    Object.defineProperty(globalThis, 'navigator', { value: { ...nav, gpu }, configurable: true, writable: true });
  }
  const ctx = await createContext();
  const profiled = ctx.gpu.features.timestamps ? await createContext({ profile: true }) : undefined;

  await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  const ready: TfBackend[] = [];
  for (const backend of backends) {
    if (backend === 'cpu') {
      await import('@tensorflow/tfjs-backend-cpu');
    } else if (backend === 'wasm') {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const root = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json'));
      wasm.setWasmPaths(join(root, 'dist') + '/');
    } else {
      await import('@tensorflow/tfjs-backend-webgpu');
    }
    if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} failed to initialise`);
    await tf.ready();
    ready.push(backend);
  }

  const info = ctx.gpu.adapterInfo;
  const adapter: AdapterDescription = {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    timestamps: ctx.gpu.features.timestamps,
  };
  if (ready.includes('webgpu')) {
    const tfInfo = (tf.findBackend('webgpu') as unknown as WebGpuBackendLike).adapterInfo;
    adapter.tfjsWebgpu = `${tfInfo.vendor} ${tfInfo.architecture}`.trim();
  }

  return {
    ctx,
    profiled,
    adapter,
    backends: ready,
    async tfFinish(backend) {
      if (backend !== 'webgpu') return;
      // tfjs-webgpu batches dispatches and submits every 15; flush the rest, then wait.
      const b = tf.findBackend('webgpu') as unknown as WebGpuBackendLike;
      b.submitQueue();
      await b.device.queue.onSubmittedWorkDone();
    },
    destroy() {
      profiled?.destroy();
      ctx.destroy();
      for (const backend of ready) tf.removeBackend(backend);
    },
  };
}
