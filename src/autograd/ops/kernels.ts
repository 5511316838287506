/**
 * The engine's WGSL modules, each defined once (one id, one source string) and shared by the op
 * files that dispatch it. Shared helpers (kernels/common/) are prepended here; the contract
 * each op binds by name is read from the resulting text (src/gpu/kernel.ts).
 */
import indexWgsl from '../../../kernels/common/index.wgsl?raw';
import workgroupReduceWgsl from '../../../kernels/common/workgroup-reduce.wgsl?raw';
import elementwiseWgsl from '../../../kernels/elementwise.wgsl?raw';
import embeddingWgsl from '../../../kernels/embedding.wgsl?raw';
import matmulWgsl from '../../../kernels/matmul.wgsl?raw';
import reduceWgsl from '../../../kernels/reduce.wgsl?raw';
import shapeWgsl from '../../../kernels/shape.wgsl?raw';
import { kernelModule } from '../../gpu/kernel.js';

/** kernels/common/index.wgsl: `flat_index`, for kernels dispatched with `flatGrid`. */
export const INDEX_WGSL = indexWgsl;
/** kernels/common/workgroup-reduce.wgsl: `workgroup_sum_256`, a fixed-order workgroup sum. */
export const WORKGROUP_REDUCE_WGSL = workgroupReduceWgsl;

export const elementwiseKernels = kernelModule('elementwise', indexWgsl, elementwiseWgsl);
export const embeddingKernels = kernelModule('embedding', indexWgsl, embeddingWgsl);
export const matmulKernels = kernelModule('matmul', matmulWgsl);
export const reduceKernels = kernelModule('reduce', indexWgsl, workgroupReduceWgsl, reduceWgsl);
export const shapeKernels = kernelModule('shape', indexWgsl, shapeWgsl);
