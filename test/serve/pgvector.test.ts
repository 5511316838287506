/**
 * The pgvector backend against a real Postgres over the wire protocol: PGlite (Postgres compiled
 * to WebAssembly, with pgvector 0.8.0) served on 127.0.0.1 by pglite-socket, started and stopped
 * here, reached through the standard `pg` client. Items upserted with their ids, the HNSW
 * inner-product index, per-interest queries merged as SPEC §5 says.
 */
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite/vector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { exactTopK, pooledRecall } from '../../bench/ann.js';
import { syntheticCatalogue } from '../../bench/vectors.js';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { resolveConfig } from '../../src/mind/config.js';
import { MindModel, modelShapeOf } from '../../src/mind/model.js';
import { poolInterests } from '../../src/serve/metrics.js';
import { PgVectorIndex } from '../../src/serve/pgvector.js';
import { Recommender } from '../../src/serve/recommender.js';
import { allItemVectors } from '../../src/serve/retrieval.js';
import { searchInterests } from '../../src/serve/vector-index.js';
import { useContext } from '../helpers/gpu.js';

let db: PGlite;
let server: PGLiteSocketServer;
let url: string;

beforeAll(async () => {
  db = await PGlite.create({ extensions: { vector } });
  // Room for a closed pool's connection still being torn down when the next test connects; each
  // index uses one connection (pglite-socket's single backend cannot interleave two clients).
  server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 4 });
  await server.start();
  url = `postgres://postgres@${server.getServerConn()}/postgres`;
});

afterAll(async () => {
  await server?.stop();
  await db?.close();
});

describe('PgVectorIndex over the Postgres wire protocol', () => {
  const d = 16;
  const K = 3;
  const users = 30;
  const cat = syntheticCatalogue(3000, d, users, K, 9);
  const names = Array.from({ length: cat.numItems }, (_, id) => (id === 0 ? '<pad>' : `item-${id}`));

  test('upsert, HNSW index on inner product, merged per-interest queries: pooled recall@50 ≥ 0.95', async () => {
    const index = PgVectorIndex.connect(url, names, d, { table: 'catalogue', connections: 1 });
    await index.upsert(cat.items);
    await index.createIndex();
    expect(await index.count()).toBe(cat.numItems - 1);
    const { rows } = await db.query<{ indexdef: string }>("SELECT indexdef FROM pg_indexes WHERE tablename = 'catalogue' AND indexdef LIKE '%hnsw%'");
    expect(rows[0].indexdef).toContain('vector_ip_ops');

    const n = 50;
    const lists = await searchInterests(index, cat.items, cat.interests, K, Array.from({ length: users }, () => ({ n, activeK: K, exclude: [] })));
    const exact = exactTopK(cat.items, cat.interests, d, n);
    const exactPooled = Array.from({ length: users }, (_, u) => {
      const perInterest = exact.slice(u * K, (u + 1) * K).map((ids, j) => ({
        ids,
        scores: ids.map((id) => {
          let s = 0;
          for (let x = 0; x < d; x++) s += cat.interests[(u * K + j) * d + x] * cat.items[id * d + x];
          return Math.fround(s);
        }),
      }));
      return poolInterests(perInterest, n).ids;
    });
    expect(pooledRecall(lists.map((l) => poolInterests(l, n).ids), exactPooled)).toBeGreaterThanOrEqual(0.95);

    // Scores are the inner products, best first, and more rows than hnsw.ef_search come back.
    const top = await index.search(cat.interests.subarray(0, d), 250);
    expect(Array.from(top.ids).filter((id) => id > 0)).toHaveLength(250);
    const id = top.ids[0];
    let ip = 0;
    for (let x = 0; x < d; x++) ip += cat.interests[x] * cat.items[id * d + x];
    expect(top.scores[0]).toBeCloseTo(ip, 3);
    expect(Array.from(top.scores)).toEqual([...top.scores].sort((a, b) => b - a));
    await index.close();
  });

  test('an upsert replaces an item’s vector under the same id', async () => {
    const index = PgVectorIndex.connect(url, names, d, { table: 'catalogue', connections: 1 });
    const moved = cat.items.slice();
    const query = cat.interests.subarray(0, d);
    // Item 7 now points exactly along the query, twice as long: it must rank first.
    for (let x = 0; x < d; x++) moved[7 * d + x] = 2 * query[x];
    await index.upsert(moved);
    expect(await index.count()).toBe(cat.numItems - 1);
    const top = await index.search(query, 5);
    expect(top.ids[0]).toBe(7);
    await index.close();
  });

  test('bad arguments are named', async () => {
    expect(() => PgVectorIndex.connect(url, names, d, { table: 'Robert"; DROP TABLE x' })).toThrow(/table must be a lower-case identifier/);
    expect(() => PgVectorIndex.connect(url, names, 0)).toThrow(/dim must be an integer in \[1, 16000\], got 0/);
    expect(() => PgVectorIndex.connect(url, names, d, { connections: 0 })).toThrow(/connections must be an integer ≥ 1, got 0/);
    const index = PgVectorIndex.connect(url, names, d, { table: 'catalogue', connections: 1 });
    await expect(index.upsert(new Float32Array(5))).rejects.toThrow(/items has 5 values, expected \[3000, 16\]/);
    await expect(index.search(new Float32Array(d), 0)).rejects.toThrow(/k must be an integer ≥ 1, got 0/);
    await index.close();
  });
});

describe('Recommender with pgvector', () => {
  const getCtx = useContext();
  const L = 10;
  const dataset = generateSynthetic({ seed: 5, numItems: 300, numCategories: 8, numUsers: 40, minSequenceLength: 5, maxSequenceLength: 30, maxLength: L });
  const config = resolveConfig({ dim: 16, kMax: 4, hiddenUnits: [16], profileDim: 4, seed: 3 });

  test('equals exact GPU top-k on a 300-item catalogue (merge, exclusion, window)', async () => {
    const model = new MindModel(getCtx(), config, modelShapeOf(dataset), dataset.itemFeatures);
    const items = (await getCtx().tidy(() => allItemVectors(model)).read()) as Float32Array;
    const index = PgVectorIndex.connect(url, dataset.itemNames, config.dim, { table: 'model_items', connections: 1 });
    await index.upsert(items);
    await index.createIndex();
    const exact = new Recommender(model, L);
    const served = new Recommender(model, L, { index });
    expect(served.searchKind).toBe('pgvector-hnsw');
    for (const user of dataset.users.slice(0, 8)) {
      for (const excludeHistory of [true, false]) {
        const want = await exact.recommend(user.items, 20, {}, excludeHistory);
        const got = await served.recommend(user.items, 20, {}, excludeHistory);
        expect(got.ids).toEqual(want.ids);
        expect(got.interest).toEqual(want.interest);
        got.scores.forEach((s, r) => expect(s).toBeCloseTo(want.scores[r], 4));
      }
    }
    exact.dispose();
    served.dispose();
    model.dispose();
    await index.close();
  });
});
