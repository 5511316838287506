/** Builds a Dataset from a description (files on disk or the synthetic generator) in Node. */
import { resolve } from 'node:path';
import { type Dataset, loadDatasetFromText } from '../data/dataset.js';
import { type SyntheticOptions, generateSynthetic } from '../data/synthetic.js';
import { readTextChunks } from './files.js';

/** Where a data set comes from; stored in checkpoints so `eval` rebuilds the same split. */
export type DataSpec =
  | { kind: 'synthetic'; options: SyntheticOptions }
  | {
      kind: 'files';
      interactions: string;
      userColumn?: string;
      itemColumn?: string;
      timeColumn?: string;
      minRating?: number;
      skipBadRows?: boolean;
      itemFeatures?: { path: string; columns?: string[] };
      userFeatures?: { path: string; categorical: string[]; dense: string[] };
      maxLength: number;
      seed: number;
    };

/** Absolute paths, so a checkpoint's DataSpec works from any working directory. */
export function absoluteDataSpec(spec: DataSpec): DataSpec {
  if (spec.kind === 'synthetic') return spec;
  return {
    ...spec,
    interactions: resolve(spec.interactions),
    itemFeatures: spec.itemFeatures && { ...spec.itemFeatures, path: resolve(spec.itemFeatures.path) },
    userFeatures: spec.userFeatures && { ...spec.userFeatures, path: resolve(spec.userFeatures.path) },
  };
}

export async function loadData(spec: DataSpec): Promise<Dataset> {
  if (spec.kind === 'synthetic') return generateSynthetic(spec.options);
  const onBadRow = spec.skipBadRows ? 'skip' : 'error';
  return loadDatasetFromText({
    interactions: readTextChunks(spec.interactions),
    interactionOptions: {
      fileName: spec.interactions,
      userColumn: spec.userColumn,
      itemColumn: spec.itemColumn,
      timeColumn: spec.timeColumn,
      minRating: spec.minRating,
      onBadRow,
    },
    itemFeatures: spec.itemFeatures && {
      source: readTextChunks(spec.itemFeatures.path),
      fileName: spec.itemFeatures.path,
      featureColumns: spec.itemFeatures.columns,
      onBadRow,
    },
    userFeatures: spec.userFeatures && {
      source: readTextChunks(spec.userFeatures.path),
      fileName: spec.userFeatures.path,
      categorical: spec.userFeatures.categorical,
      dense: spec.userFeatures.dense,
      onBadRow,
    },
    maxLength: spec.maxLength,
    seed: spec.seed,
  });
}
