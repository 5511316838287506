/**
 * Node-only file reading for the data layer, which itself stays browser-safe and only sees
 * strings or async string chunks (src/data/text.ts).
 */

import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';

/**
 * Streams a file as UTF-8 string chunks of about 1 MiB. The stream's decoder keeps multi-byte
 * characters whole across chunk boundaries, so no character is ever split between chunks.
 */
export async function* readTextChunks(path: string): AsyncIterable<string> {
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 });
  for await (const chunk of stream) yield chunk as string;
}

/** Reads a whole file as UTF-8. */
export async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8');
}
