/**
 * One model's two checkpoint files, `config.json` (the manifest) and `model.safetensors` (the
 * weights), encoded and decoded in memory, so that Node (node/checkpoint-io.ts, which adds the
 * crash-consistent directory) and the browser (the demo page's file picker, URL loader and
 * download) read and write exactly the same bytes. Browser-safe: no Node built-ins, bytes in,
 * bytes out.
 */
import { parameterSpecs } from '../mind/parameters.js';
import { type CheckpointManifest, checkWeights, decodeManifest, decodeSafetensors, encodeManifest, encodeSafetensors } from './checkpoint.js';

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

/**
 * A model's two files, encoded: `[names.manifest, JSON text]` and `[names.weights, safetensors
 * bytes]`, each tensor with the shape the manifest's configuration gives it (`weights` maps
 * parameter name → f32 values, row-major).
 */
export function encodeModelFiles(manifest: CheckpointManifest, weights: Map<string, Float32Array>, names: ModelFileNames = MIND_FILES): [string, string | Uint8Array][] {
  return [
    [names.manifest, encodeManifest(manifest)],
    [names.weights, encodeSafetensors(weights, expectedShapes(manifest))],
  ];
}

/**
 * Decodes and validates one model from its two files' contents: the manifest's fields
 * (decodeManifest), the safetensors layout (decodeSafetensors), then every tensor's shape against
 * the configuration and every value finite (checkWeights). `where` names the two files in error
 * messages (a path, a URL, a picked file's name). Throws CheckpointFormatError naming the file,
 * the tensor or field and the bad value.
 */
export function decodeModelFiles(
  manifestBytes: Uint8Array | string,
  weightsBytes: Uint8Array,
  where: ModelFileNames = MIND_FILES,
): { manifest: CheckpointManifest; weights: Map<string, Float32Array> } {
  const text = typeof manifestBytes === 'string' ? manifestBytes : new TextDecoder().decode(manifestBytes);
  const manifest = decodeManifest(text, where.manifest);
  const { weights, shapes } = decodeSafetensors(weightsBytes, where.weights);
  checkWeights(where.weights, weights, shapes, expectedShapes(manifest));
  return { manifest, weights };
}
