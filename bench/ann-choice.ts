/**
 * The measurement behind the choice of embedded ANN library (README.md, "Serving"): usearch's
 * HNSW against LanceDB's indexes on the same synthetic catalogue, recall@50 of each interest's
 * list against exact search, queries/s one query at a time (as a request arrives) and build time.
 * LanceDB is not a dependency of the package, so it is installed beside it for this run only:
 *
 *   npm install --no-save --omit=optional @lancedb/lancedb@0.31.0 @lancedb/lancedb-linux-x64-gnu@0.31.0 apache-arrow@18.1.0
 *   node --import tsx bench/ann-choice.ts [--items 100000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MetricKind, Index } from 'usearch';
import { exactTopK } from './ann.js';
import { syntheticCatalogue } from './vectors.js';

const { values } = parseArgs({ options: { items: { type: 'string', default: '100000' }, queries: { type: 'string', default: '400' } } });
const numItems = Number(values.items);
const queries = Number(values.queries);
const d = 64;
const k = 50;
const cat = syntheticCatalogue(numItems, d, queries, 1, 7);
const exact = exactTopK(cat.items, cat.interests, d, k);

function recallOf(found: (q: number) => number[]): number {
  let hits = 0;
  for (let q = 0; q < queries; q++) {
    const truth = new Set(exact[q]);
    for (const id of found(q)) if (truth.has(id)) hits++;
  }
  return hits / (queries * k);
}

function row(name: string, buildS: number, searchS: number, recall: number): void {
  process.stdout.write(`| ${name} | ${buildS.toFixed(1)} | ${(queries / searchS).toFixed(0)} | ${recall.toFixed(4)} |\n`);
}

process.stdout.write(`${numItems - 1} items, d = ${d}, ${queries} queries, recall@${k}\n\n| library, index | build s | queries/s | recall@${k} |\n| --- | --- | --- | --- |\n`);

{
  const t0 = performance.now();
  const index = new Index({ dimensions: d, metric: MetricKind.IP, connectivity: 16, expansion_add: 128, expansion_search: 128 } as never);
  const keys = BigUint64Array.from({ length: numItems - 1 }, (_, i) => BigInt(i + 1));
  index.add(keys, cat.items.subarray(d), 0);
  const t1 = performance.now();
  const results: number[][] = [];
  for (let q = 0; q < queries; q++) results.push(Array.from(index.search(cat.interests.subarray(q * d, (q + 1) * d), k, 1).keys, Number));
  const t2 = performance.now();
  row('usearch 2.26.2, HNSW M=16 ef=128', (t1 - t0) / 1000, (t2 - t1) / 1000, recallOf((q) => results[q]));
}

const lancedb = (await import('@lancedb/lancedb' as string)) as {
  connect(uri: string): Promise<{ createTable(name: string, data: unknown[]): Promise<LanceTable> }>;
  Index: { hnswSq(o: object): unknown; ivfPq(o: object): unknown; ivfFlat(o: object): unknown };
};
interface LanceTable {
  createIndex(column: string, options: object): Promise<void>;
  dropIndex(name: string): Promise<void>;
  search(v: Float32Array): LanceQuery;
}
interface LanceQuery {
  distanceType(t: string): LanceQuery;
  limit(n: number): LanceQuery;
  nprobes(n: number): LanceQuery;
  ef(n: number): LanceQuery;
  refineFactor(n: number): LanceQuery;
  bypassVectorIndex(): LanceQuery;
  toArray(): Promise<{ id: number }[]>;
}
const dir = mkdtempSync(join(tmpdir(), 'lance-'));
try {
  const db = await lancedb.connect(dir);
  const t0 = performance.now();
  const table = await db.createTable(
    'items',
    Array.from({ length: numItems - 1 }, (_, i) => ({ id: i + 1, vector: Array.from(cat.items.subarray((i + 1) * d, (i + 2) * d)) })),
  );
  const loadS = (performance.now() - t0) / 1000;
  // Each index with LanceDB's default search settings, then with wider ones (more partitions
  // probed, a wider HNSW list, PQ candidates re-ranked on the full vectors).
  const configs: [string, unknown, ((q: LanceQuery) => LanceQuery)[]][] = [
    ['no index (flat scan)', undefined, [(q) => q.bypassVectorIndex()]],
    ['IVF-HNSW-SQ', lancedb.Index.hnswSq({ distanceType: 'dot' }), [(q) => q, (q) => q.nprobes(64).ef(256)]],
    ['IVF-PQ', lancedb.Index.ivfPq({ distanceType: 'dot' }), [(q) => q, (q) => q.nprobes(64).refineFactor(10)]],
  ];
  for (const [name, config, tunings] of configs) {
    const t1 = performance.now();
    if (config) await table.createIndex('vector', { config, replace: true });
    const t2 = performance.now();
    for (const [i, tune] of tunings.entries()) {
      const t3 = performance.now();
      const results: number[][] = [];
      for (let q = 0; q < queries; q++) {
        const rows = await tune(table.search(cat.interests.subarray(q * d, (q + 1) * d)).distanceType('dot').limit(k)).toArray();
        results.push(rows.map((r) => Number(r.id)));
      }
      const t4 = performance.now();
      const label = `LanceDB 0.31.0, ${name}${config ? (i === 0 ? ', default search' : ', wider search') : ''} (table load ${loadS.toFixed(1)} s)`;
      row(label, (t2 - t1) / 1000, (t4 - t3) / 1000, recallOf((q) => results[q]));
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
