/**
 * One WebGPU adapter for everyone: the Dawn instance is created once (with timestamp
 * quantisation off), installed as navigator.gpu, and both our contexts and tfjs-backend-webgpu
 * request their adapter from it. The tfjs backends are imported here, after that, because
 * tfjs-backend-webgpu registers itself only if navigator.gpu exists when it is loaded.
 */
import { createRequire, register } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { type Context, createContext } from '../src/autograd/context.js';
import { platformGpu } from '../src/gpu/provider.js';
import { registerWasmSegmentSum } from './tf/wasm-segment-sum.js';

export type TfBackend = 'webgpu' | 'wasm' | 'cpu';
export const TF_BACKENDS: readonly TfBackend[] = ['webgpu', 'wasm', 'cpu'];

/**
 * Dawn rounds timestamps to a coarse grain by default (a fingerprinting defence); per-kernel
 * times need the raw ones. ('disable_timestamp_query_conversion' is another toggle: it leaves
 * timestamps in raw ticks instead of nanoseconds.) The flag only takes effect where this process
 * creates the Dawn instance.
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
  /** Waits until the given tfjs backend has finished every queued op. */
  tfFinish(backend: TfBackend): Promise<void>;
  destroy(): void;
}

interface WebGpuBackendLike {
  device: GPUDevice;
  adapterInfo: { vendor: string; architecture: string };
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

let gradientsLoaded = false;

/**
 * Loads tfjs's gradients and the given backends (webgpu needs navigator.gpu set first) and
 * leaves the last one active. Backends that are already registered are reused.
 */
export async function loadTfjs(backends: readonly TfBackend[]): Promise<void> {
  if (!gradientsLoaded) {
    // tf.grad needs the gradient registrations, which only tfjs-core's ES module files carry
    // (see tf/resolve-hooks.mjs). They register into the engine shared through globalThis.
    register('./tf/resolve-hooks.mjs', import.meta.url);
    await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
    gradientsLoaded = true;
  }
  for (const backend of backends) {
    if (backend === 'cpu') {
      await import('@tensorflow/tfjs-backend-cpu');
    } else if (backend === 'wasm') {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      const root = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json'));
      wasm.setWasmPaths(join(root, 'dist') + '/');
      registerWasmSegmentSum();
    } else {
      await import('@tensorflow/tfjs-backend-webgpu');
    }
    if (!(await tf.setBackend(backend))) throw new Error(`tfjs backend ${backend} failed to initialise`);
    await tf.ready();
  }
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
  await loadTfjs(backends);

  const info = ctx.gpu.adapterInfo;
  const adapter: AdapterDescription = {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    timestamps: ctx.gpu.features.timestamps,
  };
  if (backends.includes('webgpu')) {
    const tfInfo = (tf.findBackend('webgpu') as unknown as WebGpuBackendLike).adapterInfo;
    adapter.tfjsWebgpu = `${tfInfo.vendor} ${tfInfo.architecture}`.trim();
  }

  return {
    ctx,
    profiled,
    adapter,
    backends: [...backends],
    async tfFinish(backend) {
      // wasm and cpu run each op to completion on this thread before it returns.
      if (backend !== 'webgpu') return;
      // tfjs-webgpu batches dispatches and submits every 15; flush the rest as its own reads
      // do (end the pass, submit the encoder), then wait.
      const b = tf.findBackend('webgpu') as unknown as WebGpuBackendLike;
      b.ensureCommandEncoderReady();
      b.endComputePassEncoder();
      b.submitQueue();
      await b.device.queue.onSubmittedWorkDone();
    },
    destroy() {
      profiled?.destroy();
      ctx.destroy();
      for (const backend of backends) tf.removeBackend(backend);
    },
  };
}
