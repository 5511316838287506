import { expect } from 'vitest';
import { DataError } from '../../src/data/errors.js';

/** Feeds `text` as an async stream of chunks of `size` characters (the last may be shorter). */
export async function* chunks(text: string, size: number): AsyncIterable<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

/** Awaits `work`, expecting a DataError with this location and a message containing `what`. */
export async function expectDataError(
  work: Promise<unknown> | (() => unknown),
  expected: { file: string; line: number; column?: string; what: string | RegExp },
): Promise<DataError> {
  let caught: unknown;
  try {
    await (typeof work === 'function' ? work() : work);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(DataError);
  const error = caught as DataError;
  expect(error.file).toBe(expected.file);
  expect(error.line).toBe(expected.line);
  expect(error.column).toBe(expected.column);
  const prefix =
    expected.column === undefined
      ? `${expected.file}:${expected.line}: `
      : `${expected.file}:${expected.line}: column "${expected.column}": `;
  expect(error.message.startsWith(prefix)).toBe(true);
  if (typeof expected.what === 'string') expect(error.message).toContain(expected.what);
  else expect(error.message).toMatch(expected.what);
  return error;
}
