/**
 * Checkpoint directories of trained models, on top of the crash-consistent store
 * (checkpoint-store.ts): a run's files are MIND's `config.json` + `model.safetensors`, the
 * baseline's `baseline.json` + `baseline.safetensors` and, while a run is unfinished, its resume
 * state (training-run.ts). Every model read back is validated: the manifest's fields, the
 * safetensors layout, each tensor's shape against the configuration and every value finite.
 */
import { type CheckpointManifest, encodeManifest, encodeSafetensors } from '../train/checkpoint.js';
import { MIND_FILES, type ModelFileNames, decodeModelFiles, encodeModelFiles } from '../train/model-files.js';
import { type CheckpointDirectory, CheckpointError, openCheckpoint, writeCheckpointFiles } from './checkpoint-store.js';

// The in-memory format lives in train/model-files.ts (shared with the browser); re-exported for
// the Node callers that name the files.
export {
  BASELINE_FILES,
  BASELINE_MANIFEST_FILE,
  BASELINE_WEIGHTS_FILE,
  MANIFEST_FILE,
  MIND_FILES,
  type ModelFileNames,
  WEIGHTS_FILE,
  expectedShapes,
} from '../train/model-files.js';

/** A model's two files, encoded, to add to a run's file map (train/model-files.ts encodeModelFiles). */
export const modelFiles = encodeModelFiles;

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
  return decodeModelFiles(await checkpoint.read(names.manifest), await checkpoint.read(names.weights), {
    manifest: where(names.manifest),
    weights: where(names.weights),
  });
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
