/**
 * Stopping a run that has gone numerically wrong, at the step it happened, with the tensors
 * named: a NaN or infinite loss or parameter never becomes a saved checkpoint.
 */

/** One parameter holding non-finite values: how many, and the first one's flat index and value. */
export interface NonFiniteTensor {
  name: string;
  count: number;
  firstIndex: number;
  firstValue: number;
}

/** The parameters of `weights` holding NaN or ±Infinity, in map order. */
export function findNonFinite(weights: Map<string, Float32Array>): NonFiniteTensor[] {
  const found: NonFiniteTensor[] = [];
  for (const [name, data] of weights) {
    let count = 0;
    let firstIndex = -1;
    for (let i = 0; i < data.length; i++) {
      if (Number.isFinite(data[i])) continue;
      if (count++ === 0) firstIndex = i;
    }
    if (count > 0) found.push({ name, count, firstIndex, firstValue: data[firstIndex] });
  }
  return found;
}

function describe(tensors: NonFiniteTensor[]): string {
  return tensors.map((t) => `${t.name} (${t.count} values, the first ${t.firstValue} at index ${t.firstIndex})`).join(', ');
}

/**
 * Training produced a non-finite loss or parameter. `step` is the global step (1-based) whose
 * loss or update was the first non-finite one seen; `tensors` are the parameters holding
 * non-finite values when it was detected (empty when only the loss was).
 */
export class NonFiniteError extends Error {
  override readonly name = 'NonFiniteError';

  constructor(
    readonly step: number,
    readonly epoch: number,
    /** The non-finite loss, or undefined when a parameter was found non-finite first. */
    readonly loss: number | undefined,
    readonly tensors: NonFiniteTensor[],
  ) {
    const what = loss !== undefined ? `the loss is ${loss}` : `parameters became non-finite`;
    const where = tensors.length > 0 ? `; non-finite parameters: ${describe(tensors)}` : loss !== undefined ? '; every parameter is still finite' : '';
    super(`training stopped at step ${step} (epoch ${epoch}): ${what}${where}. Try a lower learning rate (--lr)`);
  }
}
