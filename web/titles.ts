/**
 * Item titles for the capsule view, from an optional CSV or TSV with a header: the item column
 * is found by the same names as in interaction files (MovieLens movies.csv: movieId), the title
 * column is `title` or `name`.
 */
import { findColumn, readTable } from '../src/data/csv.js';
import { textFromStream } from '../src/data/text.js';

const ITEM_COLUMNS = ['movieId', 'itemId', 'item', 'item_id'];
const TITLE_COLUMNS = ['title', 'name'];

/** Item name (as in the interactions file) → title. */
export async function readTitles(file: File): Promise<Map<string, string>> {
  const titles = new Map<string, string>();
  let itemIndex = -1;
  let titleIndex = -1;
  const table = { fileName: file.name };
  await readTable(
    textFromStream(file.stream()),
    table,
    (header) => {
      itemIndex = findColumn(header, table, undefined, ITEM_COLUMNS, true);
      titleIndex = findColumn(header, table, undefined, TITLE_COLUMNS, true);
    },
    (fields) => titles.set(fields[itemIndex].trim(), fields[titleIndex].trim()),
  );
  return titles;
}
