/** Builds a Dataset from a description (files on disk or the synthetic generator) in Node. */
import { resolve } from 'node:path';
import type { TableLayout } from '../data/csv.js';
import { type Dataset, loadDatasetFromText } from '../data/dataset.js';
import type { FlagSpace } from '../data/features.js';
import { type DataFormat, DATA_FORMATS, detectFormat, type FileLayout, MOVIELENS_LAYOUTS } from '../data/formats.js';
import { type SyntheticOptions, generateSynthetic } from '../data/synthetic.js';
import { readTextChunks } from './files.js';

/**
 * Where a data set comes from; stored in checkpoints (as JSON) so `eval` rebuilds the same split.
 * Fields added later are optional, so that older checkpoints load as before.
 */
export type DataSpec =
  | { kind: 'synthetic'; options: SyntheticOptions }
  | {
      kind: 'files';
      /**
       * How all three files are laid out. Absent (as in checkpoints from before formats):
       * detectFormat on the interactions file name, which is 'csv' for any name but u.data and
       * ratings.dat.
       */
      format?: DataFormat;
      interactions: string;
      /** csv only: the interactions file has no header row; its column names, in order. */
      columns?: string[];
      /** csv only: the interactions file's delimiter; sniffed (',' or tab) when absent. */
      delimiter?: string;
      userColumn?: string;
      itemColumn?: string;
      timeColumn?: string;
      minRating?: number;
      skipBadRows?: boolean;
      /** `columns` absent: the genres space. */
      itemFeatures?: { path: string; columns?: string[] };
      userFeatures?: { path: string; categorical: string[]; dense: string[] };
      maxLength: number;
      seed: number;
    };

export type FilesSpec = Extract<DataSpec, { kind: 'files' }>;

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

export interface Layouts {
  interactions: FileLayout;
  itemFeatures: FileLayout & { flagSpaces?: readonly FlagSpace[] };
  userFeatures: FileLayout;
}

function tableLayout({ delimiter, columns, quoting }: FileLayout): TableLayout {
  return { delimiter, columns, quoting };
}

/**
 * The three files' layouts for a spec. RangeError for an unknown format, and for `columns` or
 * `delimiter` given with a MovieLens format, which fixes both.
 */
export function layoutsOf(spec: FilesSpec): Layouts {
  const format = spec.format ?? detectFormat(spec.interactions);
  if (format === 'csv') {
    const csv: FileLayout = { encoding: 'utf-8' };
    return {
      interactions: { ...csv, columns: spec.columns, delimiter: spec.delimiter },
      itemFeatures: csv,
      userFeatures: csv,
    };
  }
  if (!Object.hasOwn(MOVIELENS_LAYOUTS, format)) {
    throw new RangeError(`format must be one of ${DATA_FORMATS.join(', ')}, got ${JSON.stringify(format)}`);
  }
  for (const option of ['columns', 'delimiter'] as const) {
    if (spec[option] !== undefined) {
      throw new RangeError(
        `${option} describes a csv file, but format ${format} fixes the layout of ` +
          `${spec.interactions}; got ${option} ${JSON.stringify(spec[option])}`,
      );
    }
  }
  return MOVIELENS_LAYOUTS[format];
}

/**
 * Reads the files a spec names (streamed, decoded as their format says) or generates the
 * synthetic set. Bad rows throw DataErrors naming file and line (or are counted with
 * skipBadRows); a bad format, or layout options it fixes, throw RangeErrors.
 */
export async function loadData(spec: DataSpec): Promise<Dataset> {
  if (spec.kind === 'synthetic') return generateSynthetic(spec.options);
  const { interactions, itemFeatures, userFeatures } = layoutsOf(spec);
  const onBadRow = spec.skipBadRows ? 'skip' : 'error';
  return loadDatasetFromText({
    interactions: readTextChunks(spec.interactions, interactions.encoding),
    interactionOptions: {
      ...tableLayout(interactions),
      fileName: spec.interactions,
      userColumn: spec.userColumn,
      itemColumn: spec.itemColumn,
      timeColumn: spec.timeColumn,
      minRating: spec.minRating,
      onBadRow,
    },
    itemFeatures: spec.itemFeatures && {
      ...tableLayout(itemFeatures),
      source: readTextChunks(spec.itemFeatures.path, itemFeatures.encoding),
      fileName: spec.itemFeatures.path,
      featureColumns: spec.itemFeatures.columns,
      flagSpaces: itemFeatures.flagSpaces,
      onBadRow,
    },
    userFeatures: spec.userFeatures && {
      ...tableLayout(userFeatures),
      source: readTextChunks(spec.userFeatures.path, userFeatures.encoding),
      fileName: spec.userFeatures.path,
      categorical: spec.userFeatures.categorical,
      dense: spec.userFeatures.dense,
      onBadRow,
    },
    maxLength: spec.maxLength,
    seed: spec.seed,
  });
}
