/**
 * Where text comes from. Parsers accept either a whole string or an async stream of string
 * chunks, so the same code reads a 1 MB file held in memory, a file streamed by Node
 * (src/node/files.ts) or a `File` picked in a browser (`textFromStream(file.stream())`).
 * Chunk boundaries may fall anywhere, even inside a field or between CR and LF.
 */
export type TextSource = string | AsyncIterable<string>;

/**
 * Decodes a byte stream (a `fetch` body, `Blob.stream()`) as UTF-8 string chunks.
 * Uses a reader rather than async iteration of the stream, which not every browser has; the
 * decoder is streaming, so a multi-byte character split across chunks decodes correctly.
 */
export async function* textFromStream(stream: ReadableStream<Uint8Array>): AsyncIterable<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder('utf-8');
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      const text = decoder.decode(value, { stream: true });
      if (text.length > 0) yield text;
    }
    const rest = decoder.decode();
    if (rest.length > 0) yield rest;
  } finally {
    reader.releaseLock();
  }
}
