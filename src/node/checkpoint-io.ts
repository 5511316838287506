/**
 * Checkpoint directories of trained models, on top of the crash-consistent store
 * (checkpoint-store.ts): a run's files are MIND's `config.json` + `model.safetensors`, the
 * baseline's `baseline.json` + `baseline.safetensors` and, while a run is unfinished, its resume
 * state (training-run.ts). Every model read back is validated: the manifest's fields, the
 * safetensors layout, each tensor's shape against the configuration and every value finite.
 */
import { parameterSpecs } from '../mind/parameters.js';
import { type CheckpointManifest, checkWeights, decodeManifest, decodeSafetensors, encodeManifest, encodeSafetensors } from '../train/checkpoint.js';
import { type CheckpointDirectory, CheckpointError, openCheckpoint, writeCheckpointFiles } from './checkpoint-store.js';

export const MANIFEST_FILE = 'config.json';
export const WEIGHTS_FILE = 'model.safetensors';
export const BASELINE_WEIGHTS_FILE = 'baseline.safetensors';
export const BASELINE_MANIFEST_FILE = 'baseline.json';

/** The two files of one model in a checkpoint. */
export interface ModelFileNames {
  manifest: string;
  weights: string;
}

export const MIND_FILES: ModelFileNames = { manifest: MANIFEST_FILE, weights: WEIGHTS_FILE };
export const BASELINE_FILES: ModelFileNames = { manifest: BASELINE_MANIFEST_FILE, weights: BASELINE_WEIGHTS_FILE };

/** The tensors a manifest's configuration needs: name → shape. */
export function expectedShapes(manifest: CheckpointManifest): Map<string, number[]> {
  return new Map(parameterSpecs(manifest.config, manifest.shape).map((s) => [s.name, s.shape]));
}

/** A model's two files, encoded, to add to a run's file map. */
export function modelFiles(manifest: CheckpointManifest, weights: Map<string, Float32Array>, names: ModelFileNames = MIND_FILES): [string, string | Uint8Array][] {
  return [
    [names.manifest, encodeManifest(manifest)],
    [names.weights, encodeSafetensors(weights, expectedShapes(manifest))],
  ];
}

/**
 * Reads and validates one model of an opened checkpoint. Throws CheckpointError when the run
 * has no such model, and CheckpointError / CheckpointFormatError naming the file, the tensor or
 * field and the bad value when its files are corrupt.
 */
export async function readModel(
  checkpoint: CheckpointDirectory,
  names: ModelFileNames = MIND_FILES,
): Promise<{ manifest: CheckpointManifest; weights: Map<string, Float32Array> }> {
  for (const name of [names.manifest, names.weights]) {
    if (!checkpoint.has(name)) throw new CheckpointError(`${checkpoint.dir}: the checkpoint has no ${name}`);
  }
  const where = (name: string) => `${checkpoint.dir}/${checkpoint.version ? `${checkpoint.version}/` : ''}${name}`;
  const manifest = decodeManifest(new TextDecoder().decode(await checkpoint.read(names.manifest)), where(names.manifest));
  const { weights, shapes } = decodeSafetensors(await checkpoint.read(names.weights), where(names.weights));
  checkWeights(where(names.weights), weights, shapes, expectedShapes(manifest));
  return { manifest, weights };
}

/**
 * Saves one model as the directory's whole run (replacing any previous run, baseline and
 * resume state included), crash-consistently. `shapes` gives each tensor's shape.
 */
export async function saveCheckpoint(
  dir: string,
  manifest: CheckpointManifest,
  weights: Map<string, Float32Array>,
  shapes: Map<string, number[]>,
  names: ModelFileNames = MIND_FILES,
): Promise<void> {
  await writeCheckpointFiles(dir, new Map<string, string | Uint8Array>([
    [names.manifest, encodeManifest(manifest)],
    [names.weights, encodeSafetensors(weights, shapes)],
  ]));
}

/** Opens `dir` and reads one model (MIND's by default); see `readModel` for the errors. */
export async function loadCheckpoint(
  dir: string,
  names: ModelFileNames = MIND_FILES,
): Promise<{ manifest: CheckpointManifest; weights: Map<string, Float32Array> }> {
  return readModel(await openCheckpoint(dir), names);
}
