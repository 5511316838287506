/**
 * Gradient checking: a GPU op's backward against central finite differences of its float64 CPU
 * reference. The scalar probed is L(x) = Σ seed ⊙ reference(x) for a random seed, so every
 * output element's gradient path is exercised at once.
 */
import type { Context } from './context.js';
import { RowGrad, Tensor } from './tensor.js';

export interface GradCheckInput {
  data: Float32Array | Int32Array;
  shape: number[];
  /** Check the gradient of this input (f32 only). */
  check?: boolean;
}

export interface GradCheckOptions {
  ctx: Context;
  inputs: GradCheckInput[];
  /** Builds the op on GPU tensors (one per input, in order). */
  gpu: (inputs: Tensor[]) => Tensor;
  /** The float64 reference of the same op: inputs as Float64Arrays → flat output. */
  reference: (inputs: Float64Array[]) => Float64Array;
  /** Finite-difference step. */
  eps?: number;
  /** Seed for the random output weighting. */
  seed?: number;
}

export interface GradCheckResult {
  /** Per checked input: the largest |gpu − numeric| / (1 + |numeric|). */
  maxError: number[];
  gpuGrads: Float64Array[];
  numericGrads: Float64Array[];
}

/** Central differences of `f` with respect to `xs[which]`, in float64. */
export function finiteDifference(f: (xs: Float64Array[]) => number, xs: Float64Array[], which: number, eps = 1e-5): Float64Array {
  const x = xs[which];
  const grad = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const keep = x[i];
    x[i] = keep + eps;
    const up = f(xs);
    x[i] = keep - eps;
    const down = f(xs);
    x[i] = keep;
    grad[i] = (up - down) / (2 * eps);
  }
  return grad;
}

/** Deterministic weights in [-1, 1) for the probe scalar. */
function seedWeights(n: number, seed: number): Float64Array {
  const w = new Float64Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    w[i] = ((s >>> 0) / 2 ** 32) * 2 - 1;
  }
  return w;
}

async function gradToArray(ctx: Context, g: Tensor | RowGrad | null, size: number): Promise<Float64Array> {
  if (!g) return new Float64Array(size);
  const dense = g instanceof RowGrad ? ctx.rowsToDense(g) : g;
  return Float64Array.from(await dense.read());
}

export async function gradCheck(options: GradCheckOptions): Promise<GradCheckResult> {
  const { ctx, inputs, eps = 1e-5, seed = 7 } = options;
  const xs = inputs.map((inp) => Float64Array.from(inp.data));
  const outSize = options.reference(xs).length;
  const w = seedWeights(outSize, seed);
  const loss = (vals: Float64Array[]) => {
    const y = options.reference(vals);
    let s = 0;
    for (let i = 0; i < y.length; i++) s += w[i] * y[i];
    return s;
  };
  return ctx.tidy(async () => {
    const tensors = inputs.map((inp) =>
      ctx.tensor(inp.data, inp.shape, { requiresGrad: inp.check === true && inp.data instanceof Float32Array }),
    );
    const out = options.gpu(tensors);
    await out.backward(ctx.tensor(Float32Array.from(w), out.shape));
    const result: GradCheckResult = { maxError: [], gpuGrads: [], numericGrads: [] };
    for (let k = 0; k < inputs.length; k++) {
      if (!inputs[k].check) continue;
      const numeric = finiteDifference(loss, xs, k, eps);
      const gpu = await gradToArray(ctx, tensors[k].grad, tensors[k].size);
      let err = 0;
      for (let i = 0; i < numeric.length; i++) err = Math.max(err, Math.abs(gpu[i] - numeric[i]) / (1 + Math.abs(numeric[i])));
      result.maxError.push(err);
      result.gpuGrads.push(gpu);
      result.numericGrads.push(numeric);
    }
    return result;
  });
}
