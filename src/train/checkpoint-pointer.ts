/**
 * The pointer file `checkpoint.json` of a checkpoint directory (node/checkpoint-store.ts writes
 * it): it names the version sub-directory holding the run's files and lists each file with its
 * size and SHA-256. Parsing and checking it is shared by Node and by the browser, which loads a
 * checkpoint directory served over HTTP. Browser-safe: text in, a checked object out.
 */

export const POINTER_FILE = 'checkpoint.json';
export const POINTER_FORMAT = 'mind-webgpu-checkpoint/2';
/** Version directories are `run-<time>-<random>`. */
export const VERSION_PATTERN = /^run-[0-9a-z]+-[0-9a-f]+$/;
/** File names inside a version: plain names, so a pointer can never point outside its version directory. */
export const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A checkpoint directory that cannot be read as one whole run; the message names the file and what is wrong. */
export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
}

export interface PointerEntry {
  /** The file's size in bytes. */
  bytes: number;
  /** The file's SHA-256, 64 lower-case hex digits. */
  sha256: string;
}

/** The content of `checkpoint.json`. */
export interface CheckpointPointer {
  format: typeof POINTER_FORMAT;
  /** The version directory holding the files. */
  version: string;
  files: Record<string, PointerEntry>;
}

/**
 * Parses and checks a pointer file's text: the format tag, a version directory name matching
 * VERSION_PATTERN, and `files` as plain file names → {bytes, sha256}. `path` names the file in
 * errors. Throws CheckpointError naming the path, the field and the bad value.
 */
export function parsePointer(text: string, path: string): CheckpointPointer {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new CheckpointError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  const pointer = raw as CheckpointPointer;
  if (typeof raw !== 'object' || raw === null) throw new CheckpointError(`${path}: expected a JSON object, got ${JSON.stringify(raw)}`);
  if (pointer.format !== POINTER_FORMAT) throw new CheckpointError(`${path}: field "format" is ${JSON.stringify(pointer.format)}, expected "${POINTER_FORMAT}"`);
  if (typeof pointer.version !== 'string' || !VERSION_PATTERN.test(pointer.version)) {
    throw new CheckpointError(`${path}: field "version" is ${JSON.stringify(pointer.version)}, not a version directory name`);
  }
  if (typeof pointer.files !== 'object' || pointer.files === null || Array.isArray(pointer.files)) {
    throw new CheckpointError(`${path}: field "files" must be an object of name → {bytes, sha256}, got ${JSON.stringify(pointer.files)}`);
  }
  for (const [name, entry] of Object.entries(pointer.files)) {
    if (!FILE_NAME.test(name)) throw new CheckpointError(`${path}: file name ${JSON.stringify(name)} is not a plain file name`);
    const ok = typeof entry === 'object' && entry !== null && Number.isSafeInteger(entry.bytes) && entry.bytes >= 0 && typeof entry.sha256 === 'string' && /^[0-9a-f]{64}$/.test(entry.sha256);
    if (!ok) throw new CheckpointError(`${path}: files["${name}"] must be {bytes, sha256}, got ${JSON.stringify(entry)}`);
  }
  return pointer;
}
