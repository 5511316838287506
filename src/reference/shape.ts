/** Float64 references for kernels/shape.wgsl (concatenation and tiling). */

/** Matrices `[rows, widths[i]]` side by side → `[rows, Σ widths]`. */
export function concatLast(parts: Float64Array[], rows: number, widths: number[]): Float64Array {
  const total = widths.reduce((a, b) => a + b, 0);
  const out = new Float64Array(rows * total);
  for (let r = 0; r < rows; r++) {
    let col = 0;
    parts.forEach((part, i) => {
      for (let c = 0; c < widths[i]; c++) out[r * total + col + c] = part[r * widths[i] + c];
      col += widths[i];
    });
  }
  return out;
}

/** x `[batches, width]` → `[batches, copies, width]` with out[b, k] = x[b]. */
export function tile(x: Float64Array, batches: number, width: number, copies: number): Float64Array {
  const out = new Float64Array(batches * copies * width);
  for (let b = 0; b < batches; b++) {
    for (let k = 0; k < copies; k++) {
      for (let p = 0; p < width; p++) out[(b * copies + k) * width + p] = x[b * width + p];
    }
  }
  return out;
}
