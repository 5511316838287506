/**
 * `npm run bench:serving [-- options]`: the serving measurements of README.md's "Serving" table.
 *   ann    at each --sizes N (synthetic clustered catalogue, d = 64, K = 4 interests per user):
 *          the embedded HNSW index at its default settings (build time, interest queries/s one
 *          user at a time, pooled recall@50 against exact GPU top-k) next to exact GPU top-k
 *          itself (queries/s, batched 64 users per call, on --exact-users users);
 *   pg     pgvector (PGlite over the wire protocol on 127.0.0.1) at --pg-size items: upsert and
 *          HNSW build time, queries/s, pooled recall@50;
 *   load   `mind serve`'s service in this process on 127.0.0.1, driven by autocannon from a child
 *          process at 1, 8 and 64 connections for --seconds each: requests/s, p50/p99 latency,
 *          errors, and the service's memory (RSS, heap, GPU buffer pool) after each phase.
 * Writes bench/serving-results.md and .json (or under --out).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite/vector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { createContext, type Context } from '../src/autograd/context.js';
import { generateSynthetic } from '../src/data/synthetic.js';
import { resolveConfig } from '../src/mind/config.js';
import { MindModel, modelShapeOf } from '../src/mind/model.js';
import { DEFAULT_ANN_SETTINGS, UsearchIndex } from '../src/serve/ann-index.js';
import { buildService } from '../src/serve/http.js';
import { poolInterests } from '../src/serve/metrics.js';
import { PgVectorIndex } from '../src/serve/pgvector.js';
import { Recommender } from '../src/serve/recommender.js';
import { allItemVectors } from '../src/serve/retrieval.js';
import { topKInnerProduct } from '../src/serve/topk.js';
import { type VectorIndex, searchInterests } from '../src/serve/vector-index.js';
import { pooledRecall } from './ann.js';
import { syntheticCatalogue } from './vectors.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string', default: '100000,1000000' },
    users: { type: 'string', default: '250' },
    // Users whose exact lists are computed, per size: exact top-k on a CPU adapter is slow at 1M.
    'exact-users': { type: 'string', default: '100,40' },
    'pg-size': { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '10' },
    parts: { type: 'string', default: 'ann,pg,load' },
    // Search widths to measure on the same graph (saved, then loaded with each width).
    'ef-search': { type: 'string', default: String(DEFAULT_ANN_SETTINGS.expansionSearch) },
    out: { type: 'string', default: 'bench' },
  },
});
const parts = new Set(values.parts!.split(','));
const d = 64;
const K = 4;
const n = 50;
const log = (line: string) => process.stderr.write(`${line}\n`);
const report: Record<string, unknown> = { machine: `${(await import('node:os')).cpus().length} CPU cores`, annSettings: DEFAULT_ANN_SETTINGS };
const md: string[] = [];
const outDir = values.out!;
mkdirSync(outDir, { recursive: true });
/** Writes what is measured so far: a long run that dies keeps its finished parts. */
function save(): void {
  writeFileSync(join(outDir, 'serving-results.json'), `${JSON.stringify(report, null, 1)}\n`);
  writeFileSync(join(outDir, 'serving-results.md'), `${md.join('\n')}\n`);
}

/**
 * Exact pooled top-50 lists and the queries/s of exact GPU top-k over `users` users, 64 users per
 * call. The item table is cut into blocks that fit the adapter's maxStorageBufferBindingSize
 * (128 MiB on lavapipe: 524,288 items at d = 64), each block searched on the GPU and the blocks'
 * lists merged on the host, so 1M items work where one [N, d] tensor would not.
 */
async function exactGpu(ctx: Context, items: Float32Array, interests: Float32Array, users: number) {
  const N = items.length / d;
  const blockRows = Math.floor(ctx.gpu.limits.maxStorageBufferBindingSize / (4 * d));
  const blocks = Array.from({ length: Math.ceil(N / blockRows) }, (_, b) => ({
    offset: b * blockRows,
    table: ctx.tensor(items.subarray(b * blockRows * d, Math.min(N, (b + 1) * blockRows) * d), [Math.min(N, (b + 1) * blockRows) - b * blockRows, d]),
  }));
  const search = async (queries: Float32Array) => {
    const Q = queries.length / d;
    const found = Array.from({ length: Q }, () => [] as { id: number; score: number }[]);
    for (const { offset, table } of blocks) {
      const top = await ctx.tidy(() => topKInnerProduct(ctx.tensor(queries, [Q, d]), table, n, { firstItem: offset === 0 ? 1 : 0 }));
      for (let q = 0; q < Q; q++) for (let r = 0; r < n; r++) if (top.ids[q * n + r] >= 0) found[q].push({ id: top.ids[q * n + r] + offset, score: top.scores[q * n + r] });
    }
    return found.map((list) => list.sort((a, b) => b.score - a.score || a.id - b.id).slice(0, n));
  };
  await search(interests.slice(0, K * d)); // compiles the pipelines
  const perUser: number[][] = [];
  const chunk = 64;
  const started = performance.now();
  for (let from = 0; from < users; from += chunk) {
    const to = Math.min(users, from + chunk);
    const lists = await search(interests.slice(from * K * d, to * K * d));
    for (let u = 0; u < to - from; u++) {
      perUser.push(poolInterests(lists.slice(u * K, (u + 1) * K).map((l) => ({ ids: l.map((c) => c.id), scores: l.map((c) => c.score) })), n).ids);
    }
  }
  const seconds = (performance.now() - started) / 1000;
  for (const { table } of blocks) table.dispose();
  return { perUser, queriesPerSecond: (users * K) / seconds, seconds };
}

/** Interest queries/s through `index`, one user (K queries) per call, and the pooled lists. */
async function indexQueries(index: VectorIndex, items: Float32Array, interests: Float32Array, users: number) {
  await searchInterests(index, items, interests, K, [{ n, activeK: K, exclude: [] }]);
  const perUser: number[][] = [];
  const latencies: number[] = [];
  const started = performance.now();
  for (let u = 0; u < users; u++) {
    const t0 = performance.now();
    const [lists] = await searchInterests(index, items, interests.subarray(u * K * d, (u + 1) * K * d), K, [{ n, activeK: K, exclude: [] }]);
    latencies.push(performance.now() - t0);
    perUser.push(poolInterests(lists, n).ids);
  }
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { perUser, queriesPerSecond: (users * K) / seconds, p50Ms: latencies[Math.floor(users * 0.5)], p99Ms: latencies[Math.min(users - 1, Math.floor(users * 0.99))] };
}

const exactCounts = values['exact-users']!.split(',').map(Number);
const ctx = await createContext();
try {
  if (parts.has('ann')) {
    md.push('| items | method | build s | interest queries/s | pooled recall@50 vs exact | users measured |', '| --- | --- | --- | --- | --- | --- |');
    for (const [s, size] of values.sizes!.split(',').map(Number).entries()) {
      const users = Number(values.users);
      const exactUsers = Math.min(users, exactCounts[Math.min(s, exactCounts.length - 1)]);
      log(`ann: ${size} items, ${users} users`);
      const cat = syntheticCatalogue(size + 1, d, users, K, 17);
      const exact = await exactGpu(ctx, cat.items, cat.interests, exactUsers);
      log(`  exact GPU top-k: ${exact.queriesPerSecond.toFixed(1)} queries/s over ${exactUsers} users (${exact.seconds.toFixed(1)} s)`);
      const t0 = performance.now();
      const built = UsearchIndex.build(cat.items, d);
      const buildSeconds = (performance.now() - t0) / 1000;
      const graphDir = mkdtempSync(join(tmpdir(), 'mind-ann-bench-'));
      for (const ef of values['ef-search']!.split(',').map(Number)) {
        const settings = { ...DEFAULT_ANN_SETTINGS, expansionSearch: ef };
        await built.save(graphDir, { format: 'mind-webgpu/usearch-1', weightsSha256: 'bench', dim: d, count: built.size, settings, buildSeconds });
        const index = (await UsearchIndex.load(graphDir, 'bench', d))!;
        const ann = await indexQueries(index, cat.items, cat.interests, users);
        const recall = pooledRecall(ann.perUser.slice(0, exactUsers), exact.perUser);
        log(`  usearch ef ${ef}: build ${buildSeconds.toFixed(1)} s, ${ann.queriesPerSecond.toFixed(0)} queries/s, recall ${recall.toFixed(4)}`);
        report[`ann@${size}@ef${ef}`] = { buildSeconds, ...ann, perUser: undefined, recall, exactQueriesPerSecond: exact.queriesPerSecond, exactUsers, users, settings };
        const mark = ef === DEFAULT_ANN_SETTINGS.expansionSearch ? ' (default)' : '';
        md.push(`| ${size.toLocaleString('en')} | usearch HNSW, M ${settings.connectivity}, ef_add ${settings.expansionAdd}, ef_search ${ef}${mark} | ${buildSeconds.toFixed(1)} | ${ann.queriesPerSecond.toFixed(0)} (p50 ${ann.p50Ms.toFixed(2)} ms, p99 ${ann.p99Ms.toFixed(2)} ms per user of 4) | ${recall.toFixed(4)} | ${exactUsers} |`);
      }
      rmSync(graphDir, { recursive: true, force: true });
      md.push(`| ${size.toLocaleString('en')} | exact GPU top-k (reference) | – | ${exact.queriesPerSecond.toFixed(1)} (64 users per call) | 1 | ${exactUsers} |`);
      save();
    }
  }

  if (parts.has('pg')) {
    const size = Number(values['pg-size']);
    const users = Math.min(Number(values.users), 100);
    log(`pgvector: ${size} items, ${users} users`);
    const cat = syntheticCatalogue(size + 1, d, users, K, 17);
    const exact = await exactGpu(ctx, cat.items, cat.interests, Math.min(users, exactCounts[0]));
    const db = await PGlite.create({ extensions: { vector } });
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0 });
    await server.start();
    const names = Array.from({ length: size + 1 }, (_, id) => (id === 0 ? '<pad>' : `i${id}`));
    const index = PgVectorIndex.connect(`postgres://postgres@${server.getServerConn()}/postgres`, names, d, { connections: 1 });
    const t0 = performance.now();
    await index.upsert(cat.items);
    const upsertSeconds = (performance.now() - t0) / 1000;
    log(`  upsert ${upsertSeconds.toFixed(1)} s`);
    const t1 = performance.now();
    await index.createIndex();
    const indexSeconds = (performance.now() - t1) / 1000;
    log(`  HNSW build ${indexSeconds.toFixed(1)} s`);
    const pg = await indexQueries(index, cat.items, cat.interests, users);
    const recall = pooledRecall(pg.perUser.slice(0, exact.perUser.length), exact.perUser);
    log(`  ${pg.queriesPerSecond.toFixed(1)} queries/s, recall ${recall.toFixed(4)}`);
    report[`pgvector@${size}`] = { upsertSeconds, indexSeconds, queriesPerSecond: pg.queriesPerSecond, p50Ms: pg.p50Ms, p99Ms: pg.p99Ms, recall, users };
    md.push(`| ${size.toLocaleString('en')} | pgvector 0.8.0 HNSW in PGlite 0.3.16, 1 connection (m 16, ef_construction 128, ef_search 200) | upsert ${upsertSeconds.toFixed(1)} + index ${indexSeconds.toFixed(1)} | ${pg.queriesPerSecond.toFixed(1)} (p50 ${pg.p50Ms.toFixed(1)} ms, p99 ${pg.p99Ms.toFixed(1)} ms per user of 4) | ${recall.toFixed(4)} | ${users} |`);
    await index.close();
    await server.stop();
    await db.close();
    save();
  }

  if (parts.has('load')) {
    md.push('', '| search | clients | requests/s | p50 ms | p99 ms | requests | errors + non-2xx | RSS MB | heap MB | GPU pool MB |', '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    const dataset = generateSynthetic({ seed: 1, numItems: 100_000, numCategories: 300, numUsers: 500, minInterests: 3, maxInterests: 6, maxLength: 20 });
    const config = resolveConfig({ dim: d, kMax: K, seed: 1 });
    const model = new MindModel(ctx, config, modelShapeOf(dataset), dataset.itemFeatures);
    const items = (await ctx.tidy(() => allItemVectors(model)).read()) as Float32Array;
    const ann = UsearchIndex.build(items, d);
    const bodies = dataset.users.slice(0, 200).map((u) => JSON.stringify({ history: Array.from(u.items, (id) => dataset.itemNames[id]), n: 20 }));
    const loads: Record<string, unknown>[] = [];
    for (const [label, index] of [['usearch HNSW', ann], ['exact GPU top-k', undefined]] as const) {
      const recommender = new Recommender(model, 20, { index });
      const app = buildService({ recommender, itemNames: dataset.itemNames, userFeatures: dataset.userFeatures });
      const address = await app.listen({ host: '127.0.0.1', port: 0 });
      const memory = async () => (await (await fetch(`${address}/health`)).json()).memory as { rssBytes: number; heapUsedBytes: number; gpuPoolBytes: number };
      const probe = await fetch(`${address}/recommend`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: bodies[0] });
      if (probe.status !== 200) throw new Error(`the service refused a benchmark request: ${probe.status} ${await probe.text()}`);
      // Warm-up at the highest concurrency: pipelines, every batch size the GPU pool will see, JIT.
      await drive(address, bodies, 64, 5);
      for (const connections of [1, 8, 64]) {
        const result = await drive(address, bodies, connections, Number(values.seconds));
        const m = await memory();
        loads.push({ search: label, connections, ...result, memory: m });
        log(`load ${label} ${connections}: ${JSON.stringify(result)} ${JSON.stringify(m)}`);
        const mb = (b: number) => (b / 2 ** 20).toFixed(0);
        md.push(`| ${label} | ${connections} | ${result.requestsPerSecond.toFixed(0)} | ${result.p50} | ${result.p99} | ${result.total} | ${result.errors + result.non2xx} | ${mb(m.rssBytes)} | ${mb(m.heapUsedBytes)} | ${mb(m.gpuPoolBytes)} |`);
      }
      await app.close();
      recommender.dispose();
    }
    report.load = { items: dataset.numItems - 1, loads };
    model.dispose();
  }
} finally {
  ctx.destroy();
}

/** autocannon in a child process (so it does not share this event loop), cycling through `bodies`. */
function drive(url: string, bodies: string[], connections: number, seconds: number): Promise<{ requestsPerSecond: number; p50: number; p99: number; total: number; errors: number; non2xx: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'load-client.ts'), url, String(connections), String(seconds)], { stdio: ['pipe', 'pipe', 'inherit'] });
  child.stdin.end(JSON.stringify(bodies));
  let out = '';
  child.stdout.on('data', (chunk) => (out += chunk));
  return new Promise((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`load client exited ${code}`)))));
}

save();
process.stdout.write(`${md.join('\n')}\n`);
