/**
 * Node glue between a checkpoint directory and the serving backends, for `mind index`,
 * `mind recommend`, `mind serve` and `mind export`: the item vectors of a model, every user's
 * interest vectors, and the item search a command should use (the embedded index when the
 * checkpoint has one, pgvector when asked, exact GPU top-k otherwise).
 */
import type { Dataset } from '../data/dataset.js';
import { writeHistory } from '../data/sequences.js';
import type { MindModel, UserBatch } from '../mind/model.js';
import { UsearchIndex } from '../serve/ann-index.js';
import { openCheckpoint, sha256 } from './checkpoint-store.js';
import { PgVectorIndex, type PgVectorOptions } from '../serve/pgvector.js';
import { allItemVectors } from '../serve/retrieval.js';
import type { VectorIndex } from '../serve/vector-index.js';
import type { CheckpointManifest } from '../train/checkpoint.js';
import { WEIGHTS_FILE } from './checkpoint-io.js';
import type { VectorTable } from './exports.js';

/** Every item vector of `model`: `[numItems, d]` f32 row-major, row i = item id i (row 0 zeros). */
export async function itemVectorsOf(model: MindModel): Promise<Float32Array> {
  return (await model.ctx.tidy(() => allItemVectors(model)).read()) as Float32Array;
}

/**
 * Each user's interest vectors from the last L (= `dataset.maxLength`) items of the whole
 * sequence, as a served user would have them (the serving routing draw), `chunk` users per GPU
 * call: one row per active interest, with columns `id` ("<user>#<j>", the primary key), `user`
 * (the data's user id) and `interest` (j). Throws as MindModel.userInterests does.
 */
export async function userInterestTable(model: MindModel, dataset: Dataset, chunk = 256): Promise<VectorTable> {
  const { ctx, config } = model;
  const d = config.dim;
  const L = dataset.maxLength;
  const K = model.numInterests;
  const vectors: Float32Array[] = [];
  const id: string[] = [];
  const user: string[] = [];
  const interest: number[] = [];
  for (let from = 0; from < dataset.users.length; from += chunk) {
    const users = dataset.users.slice(from, from + chunk);
    const cu = model.shape.profileSpaces.length;
    const du = model.shape.profileDense;
    const batch: UserBatch = {
      histories: new Int32Array(users.length * L),
      lengths: new Int32Array(users.length),
      profileCategorical: new Int32Array(users.length * cu),
      profileDense: new Float32Array(users.length * du),
    };
    users.forEach((u, b) => {
      batch.lengths[b] = writeHistory(u.items, u.items.length, L, batch.histories, b * L);
      batch.profileCategorical.set(u.profileCategorical, b * cu);
      batch.profileDense.set(u.profileDense, b * du);
    });
    const { all, activeK } = await ctx.tidy(async () => {
      const out = ctx.noGrad(() => model.userInterests(batch));
      return { all: (await out.interests.read()) as Float32Array, activeK: out.activeK };
    });
    users.forEach((u, b) => {
      for (let j = 0; j < activeK[b]; j++) {
        vectors.push(all.subarray((b * K + j) * d, (b * K + j + 1) * d));
        id.push(`${u.name}#${j}`);
        user.push(u.name);
        interest.push(j);
      }
    });
  }
  const flat = new Float32Array(vectors.length * d);
  vectors.forEach((v, r) => flat.set(v, r * d));
  return { name: 'users', dim: d, vectors: flat, columns: { id, user, interest: Int32Array.from(interest) } };
}

/** The item vectors as an export table: columns `id` (the data's item id) in id order, padding left out. */
export function itemTable(manifest: CheckpointManifest, items: Float32Array): VectorTable {
  const d = manifest.config.dim;
  return { name: 'items', dim: d, vectors: items.subarray(d), columns: { id: manifest.itemNames.slice(1) } };
}

/** How a command searches the items: `exact` forces GPU top-k; `pgvector` a connection string. */
export interface SearchChoice {
  exact?: boolean;
  pgvector?: string;
  pgTable?: string;
  /** Most pgvector connections (1 for PGlite over pglite-socket). */
  pgConnections?: number;
}

/**
 * The index a command should search `dir`'s items with: none (exact GPU top-k) when `exact`,
 * pgvector's table when `pgvector` is given, else the embedded index `mind index` saved in `dir`,
 * or none when there is none. Throws (UsearchIndex.load) when the saved index is stale or broken,
 * and a RangeError for a bad table name.
 */
export async function openItemIndex(dir: string, manifest: CheckpointManifest, choice: SearchChoice): Promise<VectorIndex | undefined> {
  if (choice.exact) return undefined;
  const d = manifest.config.dim;
  if (choice.pgvector) return PgVectorIndex.connect(choice.pgvector, manifest.itemNames, d, pgOptions(choice));
  return UsearchIndex.load(dir, await weightsSha256(dir), d);
}

/**
 * SHA-256 (hex) of the MIND weights of the checkpoint in `dir`, read through its pointer (the
 * file sits in a version sub-directory): what an ANN index records, so that an index built from
 * other weights is refused. Throws a CheckpointError when `dir` is not a whole checkpoint.
 */
export async function weightsSha256(dir: string): Promise<string> {
  return sha256(await (await openCheckpoint(dir)).read(WEIGHTS_FILE));
}

/** The PgVectorIndex options a command's flags ask for. */
export function pgOptions(choice: SearchChoice): PgVectorOptions & { connections?: number } {
  return { ...(choice.pgTable ? { table: choice.pgTable } : {}), ...(choice.pgConnections ? { connections: choice.pgConnections } : {}) };
}
