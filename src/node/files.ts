/**
 * Node-only file reading for the data layer, which itself stays browser-safe and only sees
 * strings or async string chunks (src/data/text.ts).
 */

import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { TextEncoding } from '../data/formats.js';

/**
 * Streams a file as string chunks of about 1 MiB, decoded as `encoding` (default UTF-8; MovieLens
 * 100k and 1M are latin-1). The decoder is streaming, so a multi-byte character split between
 * two reads still decodes whole. Undecodable bytes become U+FFFD rather than errors, as Node's
 * own UTF-8 reading does.
 */
export async function* readTextChunks(path: string, encoding: TextEncoding = 'utf-8'): AsyncIterable<string> {
  const decoder = new TextDecoder(encoding);
  for await (const bytes of createReadStream(path, { highWaterMark: 1 << 20 })) {
    const text = decoder.decode(bytes as Buffer, { stream: true });
    if (text.length > 0) yield text;
  }
  const rest = decoder.decode();
  if (rest.length > 0) yield rest;
}

/** Reads a whole file as UTF-8. */
export async function readText(path: string): Promise<string> {
  return readFile(path, 'utf8');
}
