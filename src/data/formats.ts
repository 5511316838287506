/**
 * File formats known by name: CSV/TSV logs (a header row, or columns named in the options), and
 * the MovieLens 100k and 1M releases read as they are distributed: no header row, their own
 * delimiters, no quoting, latin-1 text (titles such as `Misérables`).
 *
 * - movielens-100k: u.data `user\titem\trating\ttimestamp`; u.item `movie id | title | release
 *   date | video release date | IMDb URL | 19 genre flags`; u.user `user id | age | gender |
 *   occupation | zip code`.
 * - movielens-1m: ratings.dat `UserID::MovieID::Rating::Timestamp`; movies.dat
 *   `MovieID::Title::Genres` with genres `Action|Comedy`; users.dat
 *   `UserID::Gender::Age::Occupation::Zip-code` (age and occupation are codes).
 *
 * Columns get the names below (userId, movieId, rating, timestamp as in ratings.csv), which the
 * column options and error messages use.
 */

import type { TableLayout } from './csv.js';
import type { FlagSpace } from './features.js';

export type DataFormat = 'csv' | 'movielens-100k' | 'movielens-1m';

export const DATA_FORMATS: readonly DataFormat[] = ['csv', 'movielens-100k', 'movielens-1m'];

/**
 * A TextDecoder label. 'latin1' decodes as windows-1252 (the Encoding Standard's reading of the
 * label), which agrees with ISO-8859-1 on every printable character.
 */
export type TextEncoding = 'utf-8' | 'latin1';

/** How to decode and tokenize one file. */
export interface FileLayout extends TableLayout {
  encoding: TextEncoding;
}

/**
 * The three files of a MovieLens release. Items' default feature space is `genres`, as for any
 * item file (parseItemFeatures); in u.item it is a flag space.
 */
export interface MovieLensLayout {
  interactions: FileLayout;
  itemFeatures: FileLayout & { flagSpaces?: readonly FlagSpace[] };
  /** `categorical` and `dense` are the profile columns used when none are asked for. */
  userFeatures: FileLayout & { categorical: readonly string[]; dense: readonly string[] };
}

/** u.item's genre flag columns, in file order; each column's name is the genre it stands for. */
const GENRES_100K = [
  'unknown',
  'Action',
  'Adventure',
  'Animation',
  "Children's",
  'Comedy',
  'Crime',
  'Documentary',
  'Drama',
  'Fantasy',
  'Film-Noir',
  'Horror',
  'Musical',
  'Mystery',
  'Romance',
  'Sci-Fi',
  'Thriller',
  'War',
  'Western',
];

const RATING_COLUMNS = ['userId', 'movieId', 'rating', 'timestamp'];

function movieLensFile(delimiter: string, columns: readonly string[]): FileLayout {
  return { encoding: 'latin1', delimiter, columns, quoting: false };
}

export const MOVIELENS_LAYOUTS: Record<Exclude<DataFormat, 'csv'>, MovieLensLayout> = {
  'movielens-100k': {
    interactions: movieLensFile('\t', RATING_COLUMNS),
    itemFeatures: {
      ...movieLensFile('|', ['movieId', 'title', 'releaseDate', 'videoReleaseDate', 'imdbUrl', ...GENRES_100K]),
      flagSpaces: [{ name: 'genres', columns: GENRES_100K }],
    },
    // Ages are whole years here; as categories they need no scaling.
    userFeatures: {
      ...movieLensFile('|', ['userId', 'age', 'gender', 'occupation', 'zip']),
      categorical: ['gender', 'age', 'occupation'],
      dense: [],
    },
  },
  'movielens-1m': {
    interactions: movieLensFile('::', RATING_COLUMNS),
    itemFeatures: movieLensFile('::', ['movieId', 'title', 'genres']),
    userFeatures: {
      ...movieLensFile('::', ['userId', 'gender', 'age', 'occupation', 'zip']),
      categorical: ['gender', 'age', 'occupation'],
      dense: [],
    },
  },
};

/**
 * The format of an interactions file, from its name (a path's directories are ignored): u.data
 * is movielens-100k, ratings.dat is movielens-1m, anything else csv.
 */
export function detectFormat(fileName: string): DataFormat {
  const base = fileName.split(/[/\\]/).pop();
  if (base === 'u.data') return 'movielens-100k';
  if (base === 'ratings.dat') return 'movielens-1m';
  return 'csv';
}
