/**
 * The data files behind a checkpoint: a content hash of each, stored in the checkpoint so that
 * `mind eval` and `mind train --resume` notice a file that changed since training (a changed
 * file silently gives another split), and an encoding check on the same single read, so that a
 * file that is not UTF-8 (a latin-1 `José`, a UTF-16 export) is refused with its line instead of
 * being read with replacement characters that merge distinct ids.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { DataError } from '../data/errors.js';
import type { DataFingerprint } from '../train/checkpoint.js';
import type { TextEncoding } from '../data/formats.js';
import { type DataSpec, layoutsOf } from './datasets.js';
import { UserError } from './errors.js';

/**
 * A streaming UTF-8 validator (the WHATWG decoder's byte ranges: no overlong forms, no
 * surrogates, nothing above U+10FFFF) that counts lines, so an error can say where it is.
 */
class Utf8Check {
  private need = 0;
  private lower = 0x80;
  private upper = 0xbf;
  private line = 1;
  private offset = 0;
  /** Where the character being read started, and its first byte (for the error message). */
  private start = 0;
  private lead = 0;

  /** The first invalid sequence of `chunk`: its line, the byte offset it starts at in the file and its first byte. */
  push(chunk: Uint8Array): { line: number; offset: number; byte: number } | undefined {
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (this.need === 0) {
        if (byte < 0x80) {
          if (byte === 0x0a) this.line++;
          continue;
        }
        this.start = this.offset + i;
        this.lead = byte;
        if (byte >= 0xc2 && byte <= 0xdf) this.need = 1;
        else if (byte >= 0xe0 && byte <= 0xef) {
          this.need = 2;
          if (byte === 0xe0) this.lower = 0xa0;
          if (byte === 0xed) this.upper = 0x9f;
        } else if (byte >= 0xf0 && byte <= 0xf4) {
          this.need = 3;
          if (byte === 0xf0) this.lower = 0x90;
          if (byte === 0xf4) this.upper = 0x8f;
        } else return { line: this.line, offset: this.start, byte };
        continue;
      }
      if (byte < this.lower || byte > this.upper) return { line: this.line, offset: this.start, byte: this.lead };
      this.lower = 0x80;
      this.upper = 0xbf;
      this.need--;
    }
    this.offset += chunk.length;
    return undefined;
  }

  /** True when the file ended inside a multi-byte character. */
  get unfinished(): boolean {
    return this.need > 0;
  }

  get lines(): number {
    return this.line;
  }
}

const hex = (byte: number) => `0x${byte.toString(16).toUpperCase().padStart(2, '0')}`;

/**
 * Hashes a text file and checks its encoding in one read. Throws DataError naming the file and
 * line for a UTF-16 byte order mark, a NUL byte (UTF-16 without a mark, or a binary file) or,
 * when `encoding` is UTF-8, the first invalid UTF-8 sequence (every byte is valid latin-1), and
 * UserError naming `option` when the path is a directory or cannot be read.
 */
export async function fingerprintFile(path: string, option: string, encoding: TextEncoding = 'utf-8'): Promise<DataFingerprint> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new UserError(`${option} ${path}: cannot read the file (${(err as Error).message})`);
  }
  if (info.isDirectory()) throw new UserError(`${option} ${path} is a directory, not a file`, `give the file inside it, e.g. ${option} ${path}/ratings.csv`);
  const hash = createHash('sha256');
  const check = new Utf8Check();
  let bytes = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    if (bytes === 0 && chunk.length >= 2 && ((chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff))) {
      const order = chunk[0] === 0xff ? 'little-endian' : 'big-endian';
      throw new DataError(path, 1, undefined, `the file is UTF-16 (${order} byte order mark ${hex(chunk[0])} ${hex(chunk[1])}); save it as UTF-8 (e.g. iconv -f UTF-16 -t UTF-8)`);
    }
    const nul = chunk.indexOf(0);
    const bad = encoding === 'utf-8' ? check.push(nul >= 0 ? chunk.subarray(0, nul) : chunk) : undefined;
    if (bad) {
      throw new DataError(path, bad.line, undefined, `not valid UTF-8: byte ${hex(bad.byte)} at byte offset ${bad.offset} starts no UTF-8 character; the file must be UTF-8 (a latin-1 file converts with iconv -f latin1 -t UTF-8)`);
    }
    if (nul >= 0) {
      throw new DataError(path, check.lines, undefined, `a NUL byte at byte offset ${bytes + nul}: the file looks like UTF-16 without a byte order mark, or binary; save it as UTF-8 text`);
    }
    hash.update(chunk);
    bytes += chunk.length;
  }
  if (encoding === 'utf-8' && check.unfinished) throw new DataError(path, check.lines, undefined, 'not valid UTF-8: the file ends inside a multi-byte character (truncated?)');
  return { file: path, bytes, sha256: hash.digest('hex') };
}

/** Fingerprints of every file a spec reads (none for synthetic data), each checked as `fingerprintFile` does. */
export async function fingerprintData(spec: DataSpec): Promise<DataFingerprint[]> {
  if (spec.kind === 'synthetic') return [];
  const layouts = layoutsOf(spec);
  const files: [string, string, TextEncoding][] = [['--data', spec.interactions, layouts.interactions.encoding]];
  if (spec.itemFeatures) files.push(['--item-features', spec.itemFeatures.path, layouts.itemFeatures.encoding]);
  if (spec.userFeatures) files.push(['--user-features', spec.userFeatures.path, layouts.userFeatures.encoding]);
  const out: DataFingerprint[] = [];
  for (const [option, path, encoding] of files) out.push(await fingerprintFile(path, option, encoding));
  return out;
}

/** One line per file whose content differs from what was stored (size and hash named). */
export function dataChanges(stored: DataFingerprint[], now: DataFingerprint[]): string[] {
  const changes: string[] = [];
  for (const before of stored) {
    const after = now.find((f) => f.file === before.file);
    if (!after) changes.push(`${before.file}: no longer part of the data`);
    else if (after.sha256 !== before.sha256) {
      changes.push(`${before.file}: changed since training (${before.bytes} bytes, SHA-256 ${before.sha256.slice(0, 12)}… then; ${after.bytes} bytes, ${after.sha256.slice(0, 12)}… now)`);
    }
  }
  return changes;
}
