/**
 * Side features: item attributes (MovieLens movies.csv genres, or u.item's genre flags) and
 * user profiles.
 *
 * A feature space is one column's vocabulary: `{ name, size, values }`, values[id] being the
 * text of value id. Item feature values of all spaces share one embedding table: space s owns
 * rows `offset_s .. offset_s + size_s - 1`, and item bags store those global row ids, so the
 * model gathers `W_f[values[offsets[i]] .. values[offsets[i+1]-1]]` for item i without caring
 * which space a row came from. User categorical spaces each keep id 0 for "unknown or empty".
 */

import { type TableLayout, findColumn, parseId, parseNumber, readTable } from './csv.js';
import { DataError } from './errors.js';
import type { TextSource } from './text.js';
import type { ItemVocabulary } from './vocabulary.js';

export interface FeatureSpace {
  /** The column name. */
  name: string;
  /** Number of ids in the space (values.length). */
  size: number;
  /** values[id] = the value's text. */
  values: string[];
}

export interface ItemFeatureSpace extends FeatureSpace {
  /** First global feature-row id of this space; local id v is global row offset + v. */
  offset: number;
}

/** Bags of feature values per item, CSR over item ids. */
export interface ItemFeatures {
  /** Spaces in column order; their ids are numbered from 0 within each space. */
  spaces: ItemFeatureSpace[];
  /** Total rows of the shared feature table: the sum of the spaces' sizes. */
  numRows: number;
  /** `[numItems + 1]` i32: item i's bag is values[offsets[i] .. offsets[i+1]). */
  offsets: Int32Array;
  /**
   * Global feature-row ids, per item in column order and, within a multi-value field, in the
   * order written, without duplicates. The padding item and items without a row have empty bags.
   */
  values: Int32Array;
}

/**
 * A feature space spread over 0/1 columns, one per value: an item's values are the names of its
 * columns set to 1 (MovieLens 100k's u.item has a flag column per genre).
 */
export interface FlagSpace {
  /** The space's name, as used in `featureColumns`. */
  name: string;
  /** The flag columns; each one's name is the value it stands for. */
  columns: readonly string[];
}

export interface ItemFeatureOptions extends TableLayout {
  /** Used in error messages. */
  fileName: string;
  /** Gives the item ids; rows for items not in it are ignored (counted in unknownItems). */
  vocabulary: ItemVocabulary;
  /** Default: the first of movieId, itemId, item, item_id. */
  itemColumn?: string;
  /** Feature spaces in order: column names, or names of `flagSpaces`. Default: ['genres']. */
  featureColumns?: readonly string[];
  /** Spaces read from flag columns, used where `featureColumns` names them; default none. */
  flagSpaces?: readonly FlagSpace[];
  /** Splits every feature field into several values; default '|'; null keeps fields whole. */
  multiValueSeparator?: string | null;
  /**
   * 'skip' counts bad rows (wrong field count, empty id, repeated item, a flag neither 0 nor 1)
   * instead of throwing.
   */
  onBadRow?: 'error' | 'skip';
}

export interface ItemFeatureTable extends ItemFeatures {
  rows: number;
  skipped: number;
  /** Rows whose item is not in the vocabulary (no interactions), ignored. */
  unknownItems: number;
}

const ITEM_COLUMNS = ['movieId', 'itemId', 'item', 'item_id'];
const USER_COLUMNS = ['userId', 'user', 'user_id'];

/** Gives ids to one column's values in first-appearance order, after its reserved values. */
class ValueIndex {
  private readonly idOf = new Map<string, number>();
  readonly values: string[];

  constructor(
    readonly name: string,
    reserved: string[],
  ) {
    this.values = [...reserved];
  }

  idFor(value: string): number {
    let id = this.idOf.get(value);
    if (id === undefined) {
      id = this.values.length;
      this.idOf.set(value, id);
      this.values.push(value);
    }
    return id;
  }

  space(): FeatureSpace {
    return { name: this.name, size: this.values.length, values: this.values };
  }
}

/**
 * Parses an item attribute file such as MovieLens movies.csv (`movieId,title,genres`, genres
 * written `Action|Comedy`). Values are taken literally ('(no genres listed)' is a value too);
 * empty fields and empty pieces between separators add nothing. A flag space's values are its
 * columns set to 1, in column order; a flag field other than 0 or 1 is a bad row.
 */
export async function parseItemFeatures(
  source: TextSource,
  options: ItemFeatureOptions,
): Promise<ItemFeatureTable> {
  const { fileName, vocabulary } = options;
  const separator = options.multiValueSeparator === undefined ? '|' : options.multiValueSeparator;
  if (separator === '') {
    throw new RangeError('multiValueSeparator must not be empty; use null to keep fields whole');
  }
  const columnNames = options.featureColumns ?? ['genres'];
  if (columnNames.length === 0) throw new RangeError('featureColumns must name at least one column');
  let itemIndex = -1;
  /** Per space, the column it is read from, or the flag columns it gathers. */
  let featureSources: ({ column: number } | { flags: number[] })[] = [];
  let header: string[] = [];
  const indices = columnNames.map((name) => new ValueIndex(name, []));
  // Local value ids per space, per item id; undefined = no row seen for that item.
  const bags = new Array<number[][] | undefined>(vocabulary.size);
  let unknownItems = 0;

  const onHeader = (names: string[]) => {
    header = names;
    itemIndex = findColumn(names, options, options.itemColumn, ITEM_COLUMNS, true);
    featureSources = columnNames.map((name) => {
      const flagSpace = options.flagSpaces?.find((space) => space.name === name);
      if (flagSpace === undefined) return { column: findColumn(names, options, name, [], true) };
      return { flags: flagSpace.columns.map((flag) => findColumn(names, options, flag, [], true)) };
    });
  };
  const isSet = (text: string, line: number, column: number): boolean => {
    const flag = text.trim();
    if (flag !== '0' && flag !== '1') {
      throw new DataError(fileName, line, header[column], `${JSON.stringify(text)} is not a 0/1 flag`);
    }
    return flag === '1';
  };
  const onRow = (fields: string[], line: number) => {
    const name = parseId(fields[itemIndex], fileName, line, header[itemIndex]);
    const item = vocabulary.idOf.get(name);
    if (item === undefined) {
      unknownItems++;
      return;
    }
    if (bags[item] !== undefined) {
      const what = `item ${JSON.stringify(name)} appears on an earlier row too`;
      throw new DataError(fileName, line, header[itemIndex], what);
    }
    // Every space's values first, so that a bad flag throws before any value gets an id.
    const spaceValues = featureSources.map((source) => {
      if ('flags' in source) {
        return source.flags.filter((column) => isSet(fields[column], line, column)).map((column) => header[column]);
      }
      const field = fields[source.column].trim();
      return separator === null ? [field] : field.split(separator).map((piece) => piece.trim());
    });
    bags[item] = spaceValues.map((pieces, space) => {
      const ids: number[] = [];
      for (const piece of pieces) {
        if (piece === '') continue;
        const id = indices[space].idFor(piece);
        if (!ids.includes(id)) ids.push(id);
      }
      return ids;
    });
  };

  const summary = await readTable(source, options, onHeader, onRow);
  if (unknownItems > 0 && unknownItems === summary.rows - summary.skipped) {
    // Every row was read fine but none matched: almost surely the wrong id column or file.
    throw new DataError(
      fileName,
      1,
      header[itemIndex],
      `none of the ${unknownItems} rows names an item that has interactions`,
    );
  }
  const spaces: ItemFeatureSpace[] = [];
  let numRows = 0;
  for (const index of indices) {
    spaces.push({ ...index.space(), offset: numRows });
    numRows += index.values.length;
  }
  const offsets = new Int32Array(vocabulary.size + 1);
  const values: number[] = [];
  for (let item = 0; item < vocabulary.size; item++) {
    const bag = bags[item];
    bag?.forEach((ids, space) => ids.forEach((id) => values.push(spaces[space].offset + id)));
    offsets[item + 1] = values.length;
  }
  return {
    spaces,
    numRows,
    offsets,
    values: Int32Array.from(values),
    rows: summary.rows,
    skipped: summary.skipped,
    unknownItems,
  };
}

export const UNKNOWN_VALUE = '<unknown>';

export interface UserProfile {
  /** `[categorical.length]` i32: per-column value id, 0 = unknown or empty. */
  categorical: Int32Array;
  /** `[dense.length]` f32: values as written (not standardised). */
  dense: Float32Array;
}

export interface UserFeatureOptions extends TableLayout {
  fileName: string;
  /** Default: the first of userId, user, user_id. */
  userColumn?: string;
  /** Categorical columns; each gets its own space with id 0 = unknown (values[0] = '<unknown>'). */
  categorical: readonly string[];
  /** Numeric columns; a non-numeric or empty value is a bad row. */
  dense: readonly string[];
  onBadRow?: 'error' | 'skip';
}

export interface UserFeatureTable {
  categorical: FeatureSpace[];
  dense: string[];
  /** User name → profile. */
  profiles: Map<string, UserProfile>;
  rows: number;
  skipped: number;
}

/**
 * Parses a user profile file: one row per user, some categorical and some dense columns.
 * Categorical value ids are 1.. in first-appearance order; an empty field is id 0 (unknown).
 */
export async function parseUserFeatures(
  source: TextSource,
  options: UserFeatureOptions,
): Promise<UserFeatureTable> {
  const { fileName } = options;
  if (options.categorical.length + options.dense.length === 0) {
    throw new RangeError('user features need at least one categorical or dense column');
  }
  let userIndex = -1;
  let categoricalIndices: number[] = [];
  let denseIndices: number[] = [];
  let header: string[] = [];
  const indices = options.categorical.map((name) => new ValueIndex(name, [UNKNOWN_VALUE]));
  const profiles = new Map<string, UserProfile>();

  const onHeader = (names: string[]) => {
    header = names;
    userIndex = findColumn(names, options, options.userColumn, USER_COLUMNS, true);
    categoricalIndices = options.categorical.map((name) => findColumn(names, options, name, [], true));
    denseIndices = options.dense.map((name) => findColumn(names, options, name, [], true));
  };
  const onRow = (fields: string[], line: number) => {
    const user = parseId(fields[userIndex], fileName, line, header[userIndex]);
    if (profiles.has(user)) {
      const what = `user ${JSON.stringify(user)} appears on an earlier row too`;
      throw new DataError(fileName, line, header[userIndex], what);
    }
    // Parse everything before touching the value indices, so a skipped row leaves no trace.
    const dense = Float32Array.from(denseIndices, (column) =>
      parseNumber(fields[column], fileName, line, header[column]),
    );
    const categorical = Int32Array.from(categoricalIndices, (column, space) => {
      const value = fields[column].trim();
      return value === '' ? 0 : indices[space].idFor(value);
    });
    profiles.set(user, { categorical, dense });
  };

  const summary = await readTable(source, options, onHeader, onRow);
  return {
    categorical: indices.map((index) => index.space()),
    dense: [...options.dense],
    profiles,
    rows: summary.rows,
    skipped: summary.skipped,
  };
}
