/**
 * Checkpoints: weights as safetensors (8-byte little-endian header length, a JSON header of
 * name → {dtype, shape, data_offsets}, then the raw little-endian bytes) plus a JSON manifest
 * with the configuration, the model shape, the id maps and where the data came from, so that
 * eval, recommend and resume can rebuild everything. Browser-safe: bytes in, bytes out.
 */
import type { ItemFeatures } from '../data/features.js';
import type { MindConfig } from '../mind/config.js';
import type { ModelShape } from '../mind/parameters.js';

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
  /** Training summary. */
  training?: Record<string, unknown>;
}

/** Encodes f32 tensors as a safetensors file. `shapes` gives each tensor's shape. */
export function encodeSafetensors(weights: Map<string, Float32Array>, shapes: Map<string, number[]>): Uint8Array {
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
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const w = weights.get(name)!;
    out.set(new Uint8Array(w.buffer, w.byteOffset, w.byteLength), at);
    at += w.byteLength;
  }
  return out;
}

/** Decodes a safetensors file of F32 tensors. */
export function decodeSafetensors(bytes: Uint8Array, fileName = 'model.safetensors'): { weights: Map<string, Float32Array>; shapes: Map<string, number[]> } {
  if (bytes.length < 8) throw new Error(`${fileName}: too short to be a safetensors file (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > bytes.length) throw new Error(`${fileName}: header length ${headerLength} runs past the end of the file`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  } catch (err) {
    throw new Error(`${fileName}: the header is not valid JSON (${(err as Error).message})`);
  }
  const base = 8 + headerLength;
  const weights = new Map<string, Float32Array>();
  const shapes = new Map<string, number[]>();
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (entry.dtype !== 'F32') throw new Error(`${fileName}: tensor "${name}" has dtype ${entry.dtype}; only F32 is supported`);
    const [from, to] = entry.data_offsets;
    const count = entry.shape.reduce((a, b) => a * b, 1);
    if (to - from !== count * 4 || base + to > bytes.length) throw new Error(`${fileName}: tensor "${name}" has inconsistent offsets`);
    // Copy: the data may not be 4-byte aligned inside `bytes`.
    weights.set(name, new Float32Array(bytes.slice(base + from, base + to).buffer));
    shapes.set(name, entry.shape);
  }
  return { weights, shapes };
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

export function decodeManifest(text: string, fileName = 'config.json'): CheckpointManifest {
  let raw: CheckpointManifest;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${fileName}: not valid JSON (${(err as Error).message})`);
  }
  if (raw.format !== 'mind-webgpu/1') throw new Error(`${fileName}: unknown checkpoint format ${JSON.stringify(raw.format)}`);
  const power = raw.config.attentionPower as unknown;
  if (typeof power === 'string') raw.config.attentionPower = Number(power);
  if (raw.itemFeatures) {
    raw.itemFeatures.offsets = Int32Array.from(raw.itemFeatures.offsets);
    raw.itemFeatures.values = Int32Array.from(raw.itemFeatures.values);
  }
  return raw;
}
