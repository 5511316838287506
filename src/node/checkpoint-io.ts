/** Reads and writes checkpoint directories: model.safetensors + config.json (+ baseline). */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CheckpointManifest, decodeManifest, decodeSafetensors, encodeManifest, encodeSafetensors } from '../train/checkpoint.js';

export const MANIFEST_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';
export const BASELINE_WEIGHTS_FILE = 'baseline.safetensors';
export const BASELINE_MANIFEST_FILE = 'baseline.json';

/** Writes to a temporary name first, then renames: a crash never leaves a half-written file. */
async function writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await writeFile(`${path}.tmp`, data);
  await rename(`${path}.tmp`, path);
}

export async function saveCheckpoint(
  dir: string,
  manifest: CheckpointManifest,
  weights: Map<string, Float32Array>,
  shapes: Map<string, number[]>,
  names = { manifest: MANIFEST_FILE, weights: WEIGHTS_FILE },
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeAtomic(join(dir, names.weights), encodeSafetensors(weights, shapes));
  await writeAtomic(join(dir, names.manifest), encodeManifest(manifest));
}

export async function loadCheckpoint(
  dir: string,
  names = { manifest: MANIFEST_FILE, weights: WEIGHTS_FILE },
): Promise<{ manifest: CheckpointManifest; weights: Map<string, Float32Array> }> {
  const manifestPath = join(dir, names.manifest);
  const weightsPath = join(dir, names.weights);
  let text: string;
  let bytes: Uint8Array;
  try {
    text = await readFile(manifestPath, 'utf8');
    bytes = new Uint8Array(await readFile(weightsPath));
  } catch (err) {
    throw new Error(`--model ${dir}: not a checkpoint directory (${(err as Error).message})`);
  }
  return { manifest: decodeManifest(text, manifestPath), weights: decodeSafetensors(bytes, weightsPath).weights };
}
