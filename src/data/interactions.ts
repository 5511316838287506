/**
 * User-item interaction logs: one row per event, with a header or with its columns named in the
 * options. MovieLens ratings.csv (`userId,movieId,rating,timestamp`) is recognised without options.
 */

import { type TableLayout, findColumn, parseId, parseNumber, readTable } from './csv.js';
import type { TextSource } from './text.js';

export interface Interaction {
  user: string;
  item: string;
  /** Event time in the file's own unit (MovieLens: seconds since 1970); only its order matters. */
  time: number;
  rating?: number;
}

/** `columns`, when given, are searched for the columns below just as a header row would be. */
export interface InteractionOptions extends TableLayout {
  /** Used in error messages. */
  fileName: string;
  /** Default: the first of userId, user, user_id (exact, then ignoring case). */
  userColumn?: string;
  /** Default: the first of movieId, itemId, item, item_id. */
  itemColumn?: string;
  /**
   * Default: the first of timestamp, time, ts, and an error if none is there. `null` says the
   * file has no time column and is already in time order: `time` is then the row's index.
   */
  timeColumn?: string | null;
  /** Default: 'rating' when the header has it (parsed and checked), otherwise no rating. */
  ratingColumn?: string;
  /** Rows rated below this are dropped and counted in `belowMinRating`; needs a rating column. */
  minRating?: number;
  /** 'skip' counts bad rows (wrong field count, empty id, bad number) instead of throwing. */
  onBadRow?: 'error' | 'skip';
}

export interface InteractionTable {
  /** Kept rows, in file order. */
  interactions: Interaction[];
  /** Data rows in the file (the header and empty lines excluded), whatever became of them. */
  rows: number;
  /** Bad rows passed over with `onBadRow: 'skip'`. */
  skipped: number;
  /** Good rows dropped by `minRating`. */
  belowMinRating: number;
}

const USER_COLUMNS = ['userId', 'user', 'user_id'];
const ITEM_COLUMNS = ['movieId', 'itemId', 'item', 'item_id'];
const TIME_COLUMNS = ['timestamp', 'time', 'ts'];
const RATING_COLUMNS = ['rating'];

/** Parses an interaction log; see InteractionOptions for the columns it looks for. */
export async function parseInteractions(
  source: TextSource,
  options: InteractionOptions,
): Promise<InteractionTable> {
  const { fileName, minRating } = options;
  if (minRating !== undefined && !Number.isFinite(minRating)) {
    throw new RangeError(`minRating must be a finite number, got ${minRating}`);
  }
  const interactions: Interaction[] = [];
  let belowMinRating = 0;
  let userIndex = -1;
  let itemIndex = -1;
  let timeIndex = -1;
  let ratingIndex = -1;
  let header: string[] = [];

  const onHeader = (names: string[]) => {
    header = names;
    userIndex = findColumn(names, options, options.userColumn, USER_COLUMNS, true);
    itemIndex = findColumn(names, options, options.itemColumn, ITEM_COLUMNS, true);
    if (options.timeColumn !== null) {
      timeIndex = findColumn(names, options, options.timeColumn, TIME_COLUMNS, true);
    }
    const ratingRequired = minRating !== undefined;
    ratingIndex = findColumn(names, options, options.ratingColumn, RATING_COLUMNS, ratingRequired);
  };

  let rowIndex = 0;
  const onRow = (fields: string[], line: number) => {
    const index = rowIndex++;
    const user = parseId(fields[userIndex], fileName, line, header[userIndex]);
    const item = parseId(fields[itemIndex], fileName, line, header[itemIndex]);
    const time =
      timeIndex < 0 ? index : parseNumber(fields[timeIndex], fileName, line, header[timeIndex]);
    if (ratingIndex < 0) {
      interactions.push({ user, item, time });
      return;
    }
    const rating = parseNumber(fields[ratingIndex], fileName, line, header[ratingIndex]);
    if (minRating !== undefined && rating < minRating) {
      belowMinRating++;
      return;
    }
    interactions.push({ user, item, time, rating });
  };

  const summary = await readTable(source, options, onHeader, onRow);
  return { interactions, rows: summary.rows, skipped: summary.skipped, belowMinRating };
}
