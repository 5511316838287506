/**
 * Bytes held as parts (checkpoint and export files). A module with no imports, so that Node-only
 * code (the checkpoint store, the exporters) can use it without loading the model's kernels.
 */

/** The parts one after the other, in one new array. Throws a RangeError past an array's 4 GiB. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}
