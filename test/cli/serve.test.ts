/**
 * The serving paths through the `mind` command on a small trained checkpoint: `mind index`
 * builds the ANN index next to it and `mind recommend` then uses it (at least 13 of the 15
 * items of `--exact`); `mind index/recommend --pgvector` against PGlite on 127.0.0.1; `mind serve`
 * answers over HTTP and, on SIGTERM, finishes the request in flight before it exits 0;
 * `mind export --format` writes items and users in every format.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite/vector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { generateSynthetic } from '../../src/data/synthetic.js';
import { mind, readRunFile, root } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'mind-serve-'));
const model = join(dir, 'model');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let history: string[];
/** Items in the checkpoint's catalogue (those the log mentions), padding id left out. */
let items: number;

beforeAll(() => {
  const source = generateSynthetic({ seed: 4, numItems: 300, numCategories: 10, numUsers: 100, minSequenceLength: 8, maxSequenceLength: 30 });
  const rows = ['userId,itemId,timestamp'];
  source.users.forEach((user) => user.items.forEach((id, t) => rows.push(`${user.name},${source.itemNames[id]},${t}`)));
  writeFileSync(join(dir, 'ratings.csv'), `${rows.join('\n')}\n`);
  history = Array.from(source.users[3].items, (id) => source.itemNames[id]);
  const run = mind([
    'train', '--data', join(dir, 'ratings.csv'), '--seq-len', '10', '--dim', '16', '--k', '4', '--hidden', '16',
    '--num-sampled', '32', '--batch-size', '64', '--epochs', '1', '--max-steps', '3', '--no-baseline', '--out', model,
  ]);
  expect(run.status, run.stderr.slice(-4000)).toBe(0);
  items = JSON.parse(readRunFile(model, 'config.json')).itemNames.length - 1;
}, 600_000);

function recommend(extra: string[]): { search: string; items: { item: string; score: number }[] } {
  const run = mind(['recommend', '--model', model, '--history', history.join(','), '--n', '15', '--json', ...extra]);
  expect(run.status, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
}

describe('mind index / recommend / serve / export', () => {
  test('mind index writes the ANN index and mind recommend uses it, close to the exact list', () => {
    const exact = recommend([]);
    expect(exact.search).toBe('exact-gpu');
    const run = mind(['index', '--model', model]);
    expect(run.status, run.stderr).toBe(0);
    expect(existsSync(join(model, 'items.usearch'))).toBe(true);
    expect(JSON.parse(readFileSync(join(model, 'items.usearch.json'), 'utf8'))).toMatchObject({ dim: 16, count: items });
    const approximate = recommend([]);
    expect(approximate.search).toBe('usearch-hnsw');
    // The graph is built on all cores, so what it reaches depends on thread timing: a recall
    // bound, not equality (test/serve/ann-index.test.ts checks the index path with an exact index).
    const exactItems = exact.items.map((r) => r.item);
    expect(approximate.items).toHaveLength(15);
    expect(approximate.items.filter((r) => exactItems.includes(r.item)).length).toBeGreaterThanOrEqual(13);
    expect(recommend(['--exact']).search).toBe('exact-gpu');
  });

  test('mind index and recommend with --pgvector against PGlite on 127.0.0.1', async () => {
    const db = await PGlite.create({ extensions: { vector } });
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 4 });
    await server.start();
    try {
      const url = `postgres://postgres@${server.getServerConn()}/postgres`;
      // The child processes talk to this process's PGlite: spawn asynchronously so it can answer.
      const index = await mindAsync(['index', '--model', model, '--pgvector', url, '--pg-connections', '1']);
      expect(index.status, index.stderr).toBe(0);
      const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM mind_items');
      expect(rows[0].n).toBe(items);
      const run = await mindAsync(['recommend', '--model', model, '--history', history.join(','), '--n', '15', '--json', '--pgvector', url, '--pg-connections', '1']);
      expect(run.status, run.stderr).toBe(0);
      const served = JSON.parse(run.stdout);
      expect(served.search).toBe('pgvector-hnsw');
      expect(served.items.map((r: { item: string }) => r.item)).toEqual(recommend(['--exact']).items.map((r) => r.item));
    } finally {
      await server.stop();
      await db.close();
    }
  });

  test('mind serve answers POST /recommend and GET /health, and on SIGTERM finishes the request in flight, then exits 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', './scripts/wgsl-loader.mjs', 'scripts/mind.ts', 'serve', '--model', model, '--port', '0'], { cwd: root });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const address = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no "listening" line: ${stderr}`)), 120_000);
      child.stderr.on('data', () => {
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      });
    });
    const health = await (await fetch(`${address}/health`)).json();
    expect(health).toMatchObject({ status: 'ok', search: 'usearch-hnsw', items });
    const request = (n: number) => fetch(`${address}/recommend`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ history, n }) });
    const first = await request(15);
    expect(first.status).toBe(200);
    expect((await first.json()).items.map((r: { id: string }) => r.id)).toEqual(recommend([]).items.map((r) => r.item));
    const inFlight = request(10);
    await new Promise((resolve) => setTimeout(resolve, 20));
    child.kill('SIGTERM');
    const last = await inFlight;
    expect(last.status).toBe(200);
    expect((await last.json()).items).toHaveLength(10);
    expect(await exited).toBe(0);
    expect(stderr).toContain('stopped');
    await expect(fetch(`${address}/health`)).rejects.toThrow();
  });

  test('mind export --format npy,fvecs,parquet writes items and users', () => {
    const out = join(dir, 'export');
    const run = mind(['export', '--model', model, '--out', out, '--format', 'npy,fvecs,parquet']);
    expect(run.status, run.stderr).toBe(0);
    for (const file of ['items/vector.npy', 'items/id.npy', 'items.fvecs', 'items.ids.txt', 'items.parquet', 'users/vector.npy', 'users/id.npy', 'users/user.npy', 'users/interest.npy', 'users.fvecs', 'users.parquet']) {
      expect(existsSync(join(out, file)), file).toBe(true);
    }
    const ids = readFileSync(join(out, 'items.ids.txt'), 'utf8').trim().split('\n');
    expect(ids).toHaveLength(items);
    expect(readFileSync(join(out, 'items.fvecs')).length).toBe(items * (4 + 4 * 16));
    const bad = mind(['export', '--model', model, '--out', out, '--format', 'npy,csv']);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain('--format must list some of npy, fvecs, parquet, jsonl, got "npy,csv"');
  });
});

/** `mind` in a child process without blocking this one (which may be serving its database). */
function mindAsync(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', './scripts/wgsl-loader.mjs', 'scripts/mind.ts', ...args], { cwd: root });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on('exit', (status) => resolve({ status, stdout, stderr })));
}
