/**
 * Checkpoints: weights as safetensors (8-byte little-endian header length, a JSON header of
 * name → {dtype, shape, data_offsets}, then the raw little-endian bytes) plus a JSON manifest
 * with the configuration, the model shape, the id maps and where the data came from, so that
 * eval, recommend and resume can rebuild everything. Browser-safe: bytes in, bytes out.
 */
import type { ItemFeatures } from '../data/features.js';
import { concatBytes } from '../data/bytes.js';
import { type MindConfig, resolveConfig } from '../mind/config.js';
import type { ModelShape } from '../mind/parameters.js';

/** A data file's size and SHA-256 when a model was trained on it (Node computes it, see node/data-files.ts). */
export interface DataFingerprint {
  file: string;
  bytes: number;
  sha256: string;
}

export interface CheckpointManifest {
  format: 'mind-webgpu/1';
  config: MindConfig;
  shape: ModelShape;
  /** itemNames[id] as in the source data; 0 is '<pad>'. */
  itemNames: string[];
  itemFeatures?: ItemFeatures;
  /** User feature vocabularies, to map a profile given at recommend time. */
  userFeatures?: { categorical: { name: string; size: number; values: string[] }[]; dense: string[] };
  maxLength: number;
  /** How to rebuild the data set and its split (for eval). */
  data: Record<string, unknown>;
  /** The data files' contents at training time (absent in older checkpoints and for synthetic data). */
  dataFingerprint?: DataFingerprint[];
  /** Training summary. */
  training?: Record<string, unknown>;
}

/**
 * Encodes f32 tensors as a safetensors file. `shapes` gives each tensor's shape. Returns the
 * file as one array (see safetensorsParts for a file too large to hold twice).
 */
export function encodeSafetensors(weights: Map<string, Float32Array>, shapes: Map<string, number[]>): Uint8Array {
  return concatBytes(safetensorsParts(weights, shapes));
}


/**
 * The bytes of the safetensors file of `weights`, in order, as parts: the length and header,
 * then a view of each tensor's own memory (no copy). Writing the parts one after the other
 * gives the file encodeSafetensors returns, without a second copy of every tensor in memory and
 * without the JavaScript limit on one array's length (a resume state of a catalogue of millions
 * of items holds the table, its best copy and both Adam moments: gigabytes).
 */
export function safetensorsParts(weights: Map<string, Float32Array>, shapes: Map<string, number[]>): Uint8Array[] {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt', producer: 'mind-webgpu' } };
  let offset = 0;
  const names = [...weights.keys()].sort();
  for (const name of names) {
    const bytes = weights.get(name)!.length * 4;
    header[name] = { dtype: 'F32', shape: shapes.get(name), data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (allowed by the format).
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const head = new Uint8Array(8 + headerBytes.length);
  new DataView(head.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  head.set(headerBytes, 8);
  return [head, ...names.map((name) => {
    const w = weights.get(name)!;
    return new Uint8Array(w.buffer, w.byteOffset, w.byteLength);
  })];
}

/**
 * A file's bytes held as consecutive parts (a file past JavaScript's limit on one array's length,
 * 4 GiB, cannot be one Uint8Array): its length, and copies of byte ranges.
 */
class ByteParts {
  readonly length: number;
  private readonly starts: number[] = [];

  constructor(private readonly parts: readonly Uint8Array[]) {
    let at = 0;
    for (const part of parts) {
      this.starts.push(at);
      at += part.byteLength;
    }
    this.length = at;
  }

  /** A copy of bytes [begin, end) (0 ≤ begin ≤ end ≤ length), in a fresh, aligned buffer. */
  slice(begin: number, end: number): Uint8Array {
    const out = new Uint8Array(end - begin);
    this.parts.forEach((part, i) => {
      const from = Math.max(begin, this.starts[i]);
      const to = Math.min(end, this.starts[i] + part.byteLength);
      if (from < to) out.set(part.subarray(from - this.starts[i], to - this.starts[i]), from - begin);
    });
    return out;
  }
}

/** A checkpoint file that is not what it should be; the message names the file, the tensor or field, and the bad value. */
export class CheckpointFormatError extends Error {
  override readonly name = 'CheckpointFormatError';
}

/** A header larger than this is not a checkpoint of this library (its headers are a few KiB). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/**
 * Decodes a safetensors file of F32 tensors, reading it defensively: the header length must fit
 * the file, the header must be a JSON object of {dtype, shape, data_offsets} entries, every
 * tensor's offsets must be non-negative, ordered, inside the data section and of the size its
 * shape needs, tensors must not overlap and must cover the data section exactly (the format's
 * rule), and a file shorter than its header says is reported as truncated.
 *
 * Throws CheckpointFormatError naming `fileName`, the tensor and the bad value.
 */
export function decodeSafetensors(
  file: Uint8Array | readonly Uint8Array[],
  fileName = 'model.safetensors',
): { weights: Map<string, Float32Array>; shapes: Map<string, number[]> } {
  const fail = (what: string): never => {
    throw new CheckpointFormatError(`${fileName}: ${what}`);
  };
  const bytes = new ByteParts(file instanceof Uint8Array ? [file] : file);
  if (bytes.length < 8) fail(`too short to be a safetensors file (${bytes.length} bytes; truncated?)`);
  const declared = new DataView(bytes.slice(0, 8).buffer).getBigUint64(0, true);
  if (declared > BigInt(bytes.length - 8)) {
    fail(`header length ${declared} runs past the end of the file (${bytes.length} bytes): truncated, or not a safetensors file`);
  }
  const headerLength = Number(declared);
  if (headerLength > MAX_HEADER_BYTES) fail(`header length ${headerLength} is implausibly large`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.slice(8, 8 + headerLength)));
  } catch (err) {
    fail(`the header is not valid JSON (${(err as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) fail(`the header must be a JSON object, got ${JSON.stringify(header)?.slice(0, 80)}`);
  const base = 8 + headerLength;
  const dataBytes = bytes.length - base;
  const entries: { name: string; from: number; to: number; shape: number[] }[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    const at = `tensor "${name}"`;
    if (typeof raw !== 'object' || raw === null) fail(`${at}: expected {dtype, shape, data_offsets}, got ${JSON.stringify(raw)}`);
    const entry = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    for (const field of ['dtype', 'shape', 'data_offsets'] as const) if (entry[field] === undefined) fail(`${at}: field "${field}" is missing`);
    if (entry.dtype !== 'F32') fail(`${at}: dtype ${JSON.stringify(entry.dtype)}; only F32 is supported`);
    const shape = entry.shape;
    if (!Array.isArray(shape) || !shape.every(isCount)) fail(`${at}: shape ${JSON.stringify(shape)} is not a list of non-negative integers`);
    const offsets = entry.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
      fail(`${at}: data_offsets ${JSON.stringify(offsets)} must be two non-negative integers [begin, end] with begin <= end`);
    }
    const [from, to] = offsets as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (to - from !== count * 4) fail(`${at}: data_offsets [${from}, ${to}] hold ${to - from} bytes, shape [${(shape as number[]).join(', ')}] of F32 needs ${count * 4}`);
    entries.push({ name, from, to, shape: shape as number[] });
  }
  const end = entries.reduce((m, e) => Math.max(m, e.to), 0);
  if (end > dataBytes) {
    const last = entries.find((e) => e.to === end)!;
    fail(`truncated: tensor "${last.name}" ends at data byte ${end}, but the file holds only ${dataBytes} data bytes (${bytes.length} bytes in all)`);
  }
  entries.sort((a, b) => a.from - b.from || a.to - b.to);
  let covered = 0;
  for (const e of entries) {
    if (e.from < covered) fail(`tensor "${e.name}": data_offsets [${e.from}, ${e.to}] overlap the previous tensor's bytes (up to ${covered})`);
    if (e.from > covered) fail(`tensor "${e.name}": data_offsets [${e.from}, ${e.to}] leave bytes ${covered}..${e.from} unused`);
    covered = e.to;
  }
  if (covered !== dataBytes) fail(`${dataBytes - covered} bytes after the last tensor's data: not a whole safetensors file`);
  const weights = new Map<string, Float32Array>();
  const shapes = new Map<string, number[]>();
  for (const e of entries) {
    // Copy: the data may not be 4-byte aligned inside the file's bytes.
    weights.set(e.name, new Float32Array(bytes.slice(base + e.from, base + e.to).buffer));
    shapes.set(e.name, e.shape);
  }
  return { weights, shapes };
}

/**
 * Checks decoded weights against the tensors a configuration needs (`expected`: name → shape):
 * every tensor present with exactly that shape (a transposed [d, N] for [N, d] is refused), no
 * tensor the model does not have, every value finite. Throws CheckpointFormatError naming the
 * file, the tensor and the bad shape or value.
 */
export function checkWeights(fileName: string, weights: Map<string, Float32Array>, shapes: Map<string, number[]>, expected: Map<string, number[]>): void {
  for (const [name, shape] of expected) {
    const got = shapes.get(name);
    if (!got) throw new CheckpointFormatError(`${fileName}: no tensor "${name}" (the configuration needs [${shape.join(', ')}]); it has ${[...shapes.keys()].join(', ') || 'none'}`);
    if (got.length !== shape.length || got.some((n, i) => n !== shape[i])) {
      throw new CheckpointFormatError(`${fileName}: tensor "${name}" has shape [${got.join(', ')}], the configuration needs [${shape.join(', ')}]`);
    }
    const data = weights.get(name)!;
    const bad = data.findIndex((x) => !Number.isFinite(x));
    if (bad >= 0) {
      const index = unravel(bad, shape);
      throw new CheckpointFormatError(`${fileName}: tensor "${name}" holds ${data[bad]} at [${index.join(', ')}]; weights must be finite`);
    }
  }
  for (const name of shapes.keys()) {
    if (!expected.has(name)) throw new CheckpointFormatError(`${fileName}: tensor "${name}" is not a parameter of this configuration (expected ${[...expected.keys()].join(', ')})`);
  }
}

function unravel(flat: number, shape: number[]): number[] {
  const index = new Array<number>(shape.length);
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    index[axis] = flat % shape[axis];
    flat = Math.floor(flat / shape[axis]);
  }
  return index;
}

/** JSON with non-finite numbers (attentionPower = Infinity) spelled as strings. */
export function encodeManifest(manifest: CheckpointManifest): string {
  return JSON.stringify(
    manifest,
    (_key, value) => {
      if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
      if (value instanceof Int32Array || value instanceof Float64Array || value instanceof Float32Array) return Array.from(value);
      return value;
    },
    1,
  );
}

function isInt(value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min;
}

/**
 * Parses and validates a manifest (config.json). The configuration goes through resolveConfig
 * (fields added later take their defaults, so older checkpoints load), then the model shape,
 * the id map, the window and the feature tables are checked against each other. Throws
 * CheckpointFormatError naming the file, the field and the bad value.
 */
export function decodeManifest(text: string, fileName = 'config.json'): CheckpointManifest {
  const fail = (what: string): never => {
    throw new CheckpointFormatError(`${fileName}: ${what}`);
  };
  let raw: CheckpointManifest;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return fail(`not valid JSON (${(err as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(`expected a JSON object, got ${JSON.stringify(raw)?.slice(0, 80)}`);
  if (raw.format !== 'mind-webgpu/1') fail(`unknown checkpoint format ${JSON.stringify(raw.format)}`);
  if (typeof raw.config !== 'object' || raw.config === null || Array.isArray(raw.config)) fail(`field "config" must be an object, got ${JSON.stringify(raw.config)}`);
  const power = raw.config.attentionPower as unknown;
  if (power === 'Infinity') raw.config.attentionPower = Infinity;
  try {
    raw.config = resolveConfig(raw.config);
  } catch (err) {
    // resolveConfig's messages start with the field's name: "kMax must be ..., got 100".
    const [, field, rest] = /^(\S+) (.*)$/s.exec((err as Error).message) ?? [];
    fail(`field "config.${field}" ${rest}`);
  }
  const shape = raw.shape;
  if (typeof shape !== 'object' || shape === null) fail(`field "shape" must be an object, got ${JSON.stringify(shape)}`);
  if (!isInt(shape.numItems, 2)) fail(`field "shape.numItems" must be an integer >= 2, got ${JSON.stringify(shape.numItems)}`);
  if (!isInt(shape.numFeatureRows, 0)) fail(`field "shape.numFeatureRows" must be an integer >= 0, got ${JSON.stringify(shape.numFeatureRows)}`);
  if (!Array.isArray(shape.profileSpaces) || !shape.profileSpaces.every((n) => isInt(n, 1))) {
    fail(`field "shape.profileSpaces" must be a list of positive integers, got ${JSON.stringify(shape.profileSpaces)}`);
  }
  if (!isInt(shape.profileDense, 0)) fail(`field "shape.profileDense" must be an integer >= 0, got ${JSON.stringify(shape.profileDense)}`);
  if (!Array.isArray(raw.itemNames) || raw.itemNames.length !== shape.numItems || !raw.itemNames.every((n) => typeof n === 'string')) {
    fail(`field "itemNames" must be ${shape.numItems} strings (shape.numItems), got ${Array.isArray(raw.itemNames) ? `${raw.itemNames.length} entries` : JSON.stringify(raw.itemNames)}`);
  }
  if (!isInt(raw.maxLength, 1)) fail(`field "maxLength" must be a positive integer, got ${JSON.stringify(raw.maxLength)}`);
  if (typeof raw.data !== 'object' || raw.data === null) fail(`field "data" must be an object describing the data set, got ${JSON.stringify(raw.data)}`);
  if (raw.itemFeatures) {
    const f = raw.itemFeatures;
    if (f.numRows !== shape.numFeatureRows) fail(`field "itemFeatures.numRows" is ${JSON.stringify(f.numRows)}, shape.numFeatureRows is ${shape.numFeatureRows}`);
    if (!Array.isArray(f.offsets) || f.offsets.length !== shape.numItems + 1 || !f.offsets.every((o, i) => isInt(o, 0) && (i === 0 || o >= f.offsets[i - 1]))) {
      fail(`field "itemFeatures.offsets" must be ${shape.numItems + 1} non-decreasing integers >= 0`);
    }
    const last = f.offsets[shape.numItems];
    if (!Array.isArray(f.values) || f.values.length !== last || !f.values.every((v) => isInt(v, 0) && v < f.numRows)) {
      fail(`field "itemFeatures.values" must be ${last} feature rows in [0, ${f.numRows})`);
    }
    if (!Array.isArray(f.spaces)) fail(`field "itemFeatures.spaces" must be a list, got ${JSON.stringify(f.spaces)}`);
    raw.itemFeatures.offsets = Int32Array.from(f.offsets);
    raw.itemFeatures.values = Int32Array.from(f.values);
  } else if (shape.numFeatureRows > 0) {
    fail(`shape.numFeatureRows is ${shape.numFeatureRows} but there is no field "itemFeatures"`);
  }
  // Checkpoints written before the model shape carried the history window: it is maxLength.
  if (shape.historyLength === undefined) shape.historyLength = raw.maxLength;
  else if (shape.historyLength !== raw.maxLength) fail(`field "shape.historyLength" is ${JSON.stringify(shape.historyLength)}, maxLength is ${raw.maxLength}`);
  return raw;
}
