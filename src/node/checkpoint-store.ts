/**
 * Crash-consistent checkpoint directories: a directory always holds one whole run, the one
 * before a save or the one after it, never a mix of files from two runs.
 *
 * Layout: `DIR/checkpoint.json` (the pointer) names the current version and lists every file of
 * the run with its size and SHA-256; the files themselves live in `DIR/<version>/`. A save
 * writes a fresh version directory, fsyncs each file and the directory, then writes the new
 * pointer to a temporary name, fsyncs it and renames it over `checkpoint.json` (atomic on
 * POSIX file systems), and fsyncs DIR so the rename itself is durable. A crash at any moment
 * therefore leaves `checkpoint.json` naming either the old version or the new one, both
 * complete on disk; version directories the pointer does not name are debris of an interrupted
 * save and are removed by the next save. Reading verifies each file's size and hash.
 *
 * Directories written before this layout (`config.json` + `model.safetensors` at the top
 * level, no pointer) are still read, without hashes to verify (`legacy`), and the next save
 * into such a directory removes those top-level files once the new pointer is in place.
 *
 * One writer per directory: two processes saving into the same directory at once may remove
 * each other's unfinished version directory (the pointer always stays valid).
 */
import { createHash, randomBytes } from 'node:crypto';
import { type FileHandle, mkdir, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { CheckpointError, type CheckpointPointer, FILE_NAME, POINTER_FILE, POINTER_FORMAT, type PointerEntry, VERSION_PATTERN, parsePointer } from '../train/checkpoint-pointer.js';
import { concatBytes } from '../data/bytes.js';

// The pointer's format is shared with the browser (train/checkpoint-pointer.ts); this file keeps
// the file-system part.
export { CheckpointError, type CheckpointPointer, POINTER_FILE, type PointerEntry } from '../train/checkpoint-pointer.js';

/** The top-level files of the layout before pointers, removed by a save once the pointer names the new run. */
const LEGACY_FILES = ['config.json', 'model.safetensors', 'baseline.json', 'baseline.safetensors'];

/** An opened checkpoint directory: which files the run has, and a verified reader. */
export interface CheckpointDirectory {
  dir: string;
  /** The version directory, or undefined for a directory in the layout before pointers. */
  version: string | undefined;
  /** True for a directory written before pointers: files are read without hash checks. */
  legacy: boolean;
  /** The files of the run. */
  names: string[];
  has(name: string): boolean;
  /**
   * The bytes of one file of the run, size and SHA-256 checked against the pointer. Throws
   * CheckpointError for a file past one array's limit (4 GiB): read that with readParts.
   */
  read(name: string): Promise<Uint8Array>;
  /**
   * The same bytes as consecutive parts of at most `partBytes` (default 1 GiB), for files of any
   * size (a resume state of millions of items); checked the same way.
   */
  readParts(name: string, partBytes?: number): Promise<Uint8Array[]>;
}

/**
 * A checkpoint file's contents: text (written as UTF-8), bytes, or bytes in parts written one
 * after the other (a file of gigabytes need not exist as one array: safetensorsParts).
 */
export type CheckpointFileData = string | Uint8Array | readonly Uint8Array[];

/**
 * Node's hash and file calls refuse a single argument past 2 GiB ("data is too long"), so large
 * files are hashed, written and read in pieces of this many bytes.
 */
const IO_CHUNK_BYTES = 1 << 30;

/** Pieces of at most `chunkBytes` (default IO_CHUNK_BYTES) of `parts`, in order (views, no copy); empty parts give none. */
export function* chunksOf(parts: readonly Uint8Array[], chunkBytes = IO_CHUNK_BYTES): Generator<Uint8Array> {
  for (const part of parts) {
    for (let at = 0; at < part.byteLength; at += chunkBytes) yield part.subarray(at, Math.min(part.byteLength, at + chunkBytes));
  }
}

/** SHA-256 (hex) of the bytes, or of the parts one after the other; any size. */
export function sha256(bytes: Uint8Array | readonly Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const chunk of chunksOf(bytes instanceof Uint8Array ? [bytes] : bytes)) hash.update(chunk);
  return hash.digest('hex');
}

function asParts(data: CheckpointFileData): readonly Uint8Array[] {
  if (typeof data === 'string') return [new TextEncoder().encode(data)];
  return data instanceof Uint8Array ? [data] : data;
}

async function writeDurably(path: string, parts: readonly Uint8Array[]): Promise<void> {
  const handle = await open(path, 'wx');
  try {
    for (const chunk of chunksOf(parts)) {
      for (let done = 0; done < chunk.byteLength; ) done += (await handle.write(chunk, done)).bytesWritten;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The whole file as consecutive parts of at most `partBytes` (readFile refuses files past 2 GiB,
 * and one array cannot pass 4 GiB). A file that shrinks while read ends at what was there.
 */
export async function readParts(path: string, partBytes = IO_CHUNK_BYTES): Promise<Uint8Array[]> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const parts: Uint8Array[] = [];
    for (let begin = 0; begin < size || parts.length === 0; begin += partBytes) {
      const part = new Uint8Array(Math.min(partBytes, size - begin));
      let filled = 0;
      while (filled < part.byteLength) {
        const { bytesRead } = await handle.read(part, filled, part.byteLength - filled, begin + filled);
        if (bytesRead === 0) return [...parts, part.subarray(0, filled)];
        filled += bytesRead;
      }
      parts.push(part);
    }
    return parts;
  } finally {
    await handle.close();
  }
}

/** One array of the parts (a copy unless there is only one). Throws when they pass an array's 4 GiB limit. */
function joined(parts: readonly Uint8Array[], path: string): Uint8Array {
  if (parts.length === 1) return parts[0];
  try {
    return concatBytes(parts);
  } catch {
    const total = parts.reduce((sum, part) => sum + part.byteLength, 0);
    throw new CheckpointError(`${path}: ${total} bytes are too many for one array; read it with readParts`);
  }
}

/**
 * fsync of a directory makes the names created or renamed in it durable. Platforms that cannot
 * open a directory for syncing (Windows) get the rename's own guarantees only.
 */
async function syncDirectory(path: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL') throw err;
  } finally {
    await handle?.close();
  }
}

/**
 * Writes `files` (name → contents) as the directory's new run, replacing the previous run as a
 * whole: files of the previous run that `files` lacks (a baseline, a resume state) are gone
 * afterwards. Creates `dir` if needed. Returns the path of the new version directory.
 *
 * Throws CheckpointError for a file name that is not a plain name (letters, digits, `._-`).
 */
export async function writeCheckpointFiles(dir: string, files: Map<string, CheckpointFileData>): Promise<string> {
  for (const name of files.keys()) {
    if (!FILE_NAME.test(name) || name === POINTER_FILE) throw new CheckpointError(`checkpoint file name ${JSON.stringify(name)} is not allowed`);
  }
  await mkdir(dir, { recursive: true });
  const version = `run-${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
  const versionDir = join(dir, version);
  await mkdir(versionDir);
  const entries: Record<string, PointerEntry> = {};
  for (const [name, data] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const parts = asParts(data);
    await writeDurably(join(versionDir, name), parts);
    entries[name] = { bytes: parts.reduce((sum, part) => sum + part.byteLength, 0), sha256: sha256(parts) };
  }
  await syncDirectory(versionDir);
  await syncDirectory(dir);
  const pointer: CheckpointPointer = { format: POINTER_FORMAT, version, files: entries };
  const temporary = join(dir, `${POINTER_FILE}.${version}.tmp`);
  await writeDurably(temporary, asParts(`${JSON.stringify(pointer, null, 1)}\n`));
  await rename(temporary, join(dir, POINTER_FILE));
  await syncDirectory(dir);
  await removeDebris(dir, version);
  return versionDir;
}

/** Removes other versions, unfinished pointers and legacy top-level files; the new pointer is already durable. */
async function removeDebris(dir: string, keep: string): Promise<void> {
  for (const entry of await readdir(dir)) {
    const stale =
      (VERSION_PATTERN.test(entry) && entry !== keep) ||
      (entry.startsWith(`${POINTER_FILE}.`) && entry.endsWith('.tmp')) ||
      LEGACY_FILES.includes(entry) ||
      LEGACY_FILES.some((name) => entry === `${name}.tmp`);
    if (stale) await rm(join(dir, entry), { recursive: true, force: true });
  }
}

async function readOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Opens a checkpoint directory. Throws CheckpointError when `dir` is missing, is not a
 * directory, or holds neither a pointer nor the legacy `config.json`.
 */
export async function openCheckpoint(dir: string): Promise<CheckpointDirectory> {
  let info;
  try {
    info = await stat(dir);
  } catch (err) {
    throw new CheckpointError(`${dir}: not a checkpoint directory (${(err as Error).message})`);
  }
  if (!info.isDirectory()) throw new CheckpointError(`${dir}: not a checkpoint directory (it is a file)`);
  const pointerPath = join(dir, POINTER_FILE);
  const text = await readOrUndefined(pointerPath);
  if (text !== undefined) {
    const pointer = parsePointer(text, pointerPath);
    const names = Object.keys(pointer.files);
    const readChecked = async (name: string, partBytes?: number) => {
      const entry = pointer.files[name];
      if (!entry) throw new CheckpointError(`${dir}: the checkpoint has no file ${name} (it has ${names.join(', ')})`);
      const path = join(dir, pointer.version, name);
      let parts: Uint8Array[];
      try {
        parts = await readParts(path, partBytes);
      } catch (err) {
        throw new CheckpointError(`${path}: listed in ${POINTER_FILE} but unreadable (${(err as Error).message})`);
      }
      const length = parts.reduce((sum, part) => sum + part.byteLength, 0);
      if (length !== entry.bytes) {
        throw new CheckpointError(`${path}: ${length} bytes, ${POINTER_FILE} says ${entry.bytes}: ${length < entry.bytes ? 'truncated' : 'changed'} since it was saved`);
      }
      const hash = sha256(parts);
      if (hash !== entry.sha256) throw new CheckpointError(`${path}: SHA-256 ${hash} does not match ${entry.sha256} in ${POINTER_FILE}: the file is corrupt or was changed`);
      return { parts, path };
    };
    return {
      dir,
      version: pointer.version,
      legacy: false,
      names,
      has: (name) => Object.hasOwn(pointer.files, name),
      read: async (name) => {
        const { parts, path } = await readChecked(name);
        return joined(parts, path);
      },
      readParts: async (name, partBytes) => (await readChecked(name, partBytes)).parts,
    };
  }
  const present = (await readdir(dir)).filter((name) => LEGACY_FILES.includes(name));
  if (!present.includes('config.json')) {
    throw new CheckpointError(`${dir}: not a checkpoint directory (no ${POINTER_FILE}, and no config.json of an older checkpoint)`);
  }
  return {
    dir,
    version: undefined,
    legacy: true,
    names: present,
    has: (name) => present.includes(name),
    read: async (name) => {
      const path = join(dir, name);
      try {
        return new Uint8Array(await readFile(path));
      } catch (err) {
        throw new CheckpointError(`${path}: unreadable (${(err as Error).message})`);
      }
    },
    readParts: async (name, partBytes) => {
      const path = join(dir, name);
      try {
        return await readParts(path, partBytes);
      } catch (err) {
        throw new CheckpointError(`${path}: unreadable (${(err as Error).message})`);
      }
    },
  };
}
