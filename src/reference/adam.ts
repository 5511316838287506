/** Float64 reference for kernels/adam.wgsl (see src/train/adam.ts for the update rules). */

export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** One Adam update of element i at step t (1-based), in place on param, m and v. */
function update(param: Float64Array, m: Float64Array, v: Float64Array, i: number, grad: number, t: number, h: AdamHyper): void {
  const g = grad + h.weightDecay * param[i];
  m[i] = h.beta1 * m[i] + (1 - h.beta1) * g;
  v[i] = h.beta2 * v[i] + (1 - h.beta2) * g * g;
  const mHat = m[i] / (1 - h.beta1 ** t);
  const vHat = v[i] / (1 - h.beta2 ** t);
  param[i] -= (h.lr * mHat) / (Math.sqrt(vHat) + h.eps);
}

/** Dense step t: every element updated with `grad` (same size as param). */
export function adamDense(param: Float64Array, m: Float64Array, v: Float64Array, grad: Float64Array, t: number, h: AdamHyper): void {
  for (let i = 0; i < param.length; i++) update(param, m, v, i, grad[i], t, h);
}

/**
 * Lazy sparse step t on a table of rows of `width`: only rows `rows[r]` (unique) change, with
 * gradient `values[r]`; bias correction uses the global t.
 */
export function adamRows(
  param: Float64Array,
  m: Float64Array,
  v: Float64Array,
  rows: ArrayLike<number>,
  values: Float64Array,
  width: number,
  t: number,
  h: AdamHyper,
): void {
  for (let r = 0; r < rows.length; r++) {
    for (let c = 0; c < width; c++) update(param, m, v, rows[r] * width + c, values[r * width + c], t, h);
  }
}
