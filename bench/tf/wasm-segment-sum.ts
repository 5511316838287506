/**
 * tfjs-backend-wasm 4.22 has no UnsortedSegmentSum kernel, and tf.gather's gradient is one, so
 * without it nothing that gathers rows (embedding lookups, sampled softmax) can be trained on
 * wasm. This registers the kernel for wasm the way tfjs lets users add one: the tfjs-cpu
 * algorithm (zero the output, add each row into its segment) run in JS on the wasm heap.
 */
import * as tf from '@tensorflow/tfjs-core';

/** The parts of BackendWasm this kernel uses. */
interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(info: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

export function registerWasmSegmentSum(): void {
  if (tf.getKernel('UnsortedSegmentSum', 'wasm')) return;
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const wasm = backend as unknown as WasmBackendLike;
      const x = inputs.x as tf.TensorInfo;
      const ids = inputs.segmentIds as tf.TensorInfo;
      const segments = (attrs as { numSegments: number }).numSegments;
      const rows = x.shape[0];
      const width = rows === 0 ? 0 : tf.util.sizeFromShape(x.shape) / rows;
      const out = wasm.makeOutput([segments, ...x.shape.slice(1)], x.dtype);
      // Heap views are taken after the allocation: growing the heap detaches older ones.
      const o = wasm.typedArrayFromHeap(out);
      const values = wasm.typedArrayFromHeap(x);
      const segmentOf = wasm.typedArrayFromHeap(ids);
      o.fill(0);
      for (let r = 0; r < rows; r++) {
        const s = segmentOf[r];
        if (s < 0 || s >= segments) continue;
        for (let c = 0; c < width; c++) o[s * width + c] += values[r * width + c];
      }
      return out;
    },
  });
}
