/**
 * The real-time session end to end, in headless Chromium on SwiftShader's WebGPU, against the
 * Node serving path on Dawn:
 *
 * 1. `mind train` (the CLI, as a user runs it) trains a tiny model on an interaction file with
 *    titles; the built page loads that checkpoint through its file picker, the visitor searches
 *    by title and clicks three items, removes one and lowers K. After each change the page's
 *    recommendations (ids, order, retrieving interest; scores within float tolerance), interest
 *    vectors and routing weights must equal what the Node Recommender (and the routing replay
 *    on Node's GPU) gives for the same history and settings, and must differ from the previous
 *    step's. No console errors.
 * 2. The other way: the page trains a model in the tab, the test downloads it, Node loads the
 *    downloaded files with the CLI's own loader and recommends for a history clicked in the page:
 *    the same lists.
 *
 * Needs Debian's Chromium at /usr/bin/chromium (.ci/setup-system.sh installs it); without it the
 * test fails rather than skipping. Saves test/out/session.png (docs/browser-session.png is a
 * committed copy).
 */
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { type Context, createContext } from '../../src/autograd/context.js';
import { resolveConfig } from '../../src/mind/config.js';
import { MindModel } from '../../src/mind/model.js';
import { loadCheckpoint } from '../../src/node/checkpoint-io.js';
import { Recommender } from '../../src/serve/recommender.js';
import { allItemVectors } from '../../src/serve/retrieval.js';
import type { CheckpointManifest } from '../../src/train/checkpoint.js';
import { RoutingReplayer } from '../../web/routing-weights.js';
import { mind } from '../cli/run.js';
import { maxRelativeError } from '../helpers/gpu.js';
import { CHROMIUM, CHROMIUM_FLAGS } from './chromium.js';

const root = resolve(import.meta.dirname, '../..');
const configFile = resolve(root, 'web/vite.config.ts');
const screenshot = resolve(root, 'test/out/session.png');
const work = mkdtempSync(join(tmpdir(), 'mind-session-'));
const outDir = join(work, 'site');

const N = 20;
/** f32 scores from two drivers (SwiftShader in the page, lavapipe in Node) of the same weights. */
const SCORE_RTOL = 1e-4;
const SCORE_ATOL = 1e-5;

const GENRES = ['Comedy', 'Western', 'Noir'];
const ITEMS_PER_GENRE = 20;

/**
 * A small interaction log with a plain structure: three genres of 20 titled items each; every
 * user watches items of one or two genres in turn. Deterministic (a fixed LCG), so the model and
 * every list are the same on every run.
 */
function writeData(dir: string): { ratings: string; titles: string } {
  let state = 12345;
  const next = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const lines = ['userId,movieId,rating,timestamp'];
  for (let user = 1; user <= 240; user++) {
    const first = Math.floor(next() * GENRES.length);
    const genres = next() < 0.5 ? [first] : [first, (first + 1) % GENRES.length];
    const length = 12 + Math.floor(next() * 10);
    for (let t = 0; t < length; t++) {
      const genre = genres[t % genres.length];
      const item = genre * ITEMS_PER_GENRE + 1 + Math.floor(next() * ITEMS_PER_GENRE);
      lines.push(`${user},${item},4,${1_000_000 + t}`);
    }
  }
  const titles = ['movieId,title,genres'];
  GENRES.forEach((genre, g) => {
    for (let i = 1; i <= ITEMS_PER_GENRE; i++) titles.push(`${g * ITEMS_PER_GENRE + i},${genre} picture ${i},${genre}`);
  });
  const ratings = join(dir, 'ratings.csv');
  const titlesPath = join(dir, 'movies.csv');
  writeFileSync(ratings, `${lines.join('\n')}\n`);
  writeFileSync(titlesPath, `${titles.join('\n')}\n`);
  return { ratings, titles: titlesPath };
}

/** What the Node serving path gives for one history: the list, the interests and the routing weights. */
interface Expected {
  ids: number[];
  scores: number[];
  interest: number[];
  vectors: number[][];
  /** Per routed capsule, per history position: the replayed routing weight. */
  weights: number[][];
}

/** The page's answer, read from the data attributes it renders. */
interface Shown {
  ids: number[];
  scores: number[];
  interest: number[];
  vectors: number[][];
  /** Per card (interest), item id → routing weight of the items it gathered. */
  gathered: Record<string, number>[];
  capsuleText: string;
}

class NodeServing {
  private constructor(
    private readonly ctx: Context,
    private readonly manifest: CheckpointManifest,
    private readonly weights: Map<string, Float32Array>,
  ) {}

  static async open(dir: string): Promise<NodeServing> {
    const { manifest, weights } = await loadCheckpoint(dir);
    return new NodeServing(await createContext(), manifest, weights);
  }

  get numItems(): number {
    return this.manifest.shape.numItems;
  }

  /** The Node Recommender's answer for `history` with serving K (default: the trained kMax) and dynamic K (default: as trained). */
  async expect(history: number[], serving: { k?: number; dynamicK?: boolean } = {}): Promise<Expected> {
    const { manifest, weights, ctx } = this;
    const config = resolveConfig({ ...manifest.config, kMax: serving.k ?? manifest.config.kMax, dynamicK: serving.dynamicK ?? manifest.config.dynamicK });
    const model = new MindModel(ctx, config, manifest.shape, manifest.itemFeatures, weights);
    const recommender = new Recommender(model, manifest.maxLength);
    try {
      const served = await recommender.recommend(history, N);
      const { vectors, activeK } = await recommender.interests(history);
      const d = config.dim;
      const replayer = await RoutingReplayer.create(model, manifest.maxLength);
      const window = history.slice(-manifest.maxLength);
      const items = (await ctx.tidy(() => allItemVectors(model).read())) as Float32Array;
      const rows = new Float32Array(window.length * d);
      window.forEach((id, i) => rows.set(items.subarray(id * d, (id + 1) * d), i * d));
      return {
        ids: served.ids,
        scores: served.scores,
        interest: served.interest,
        vectors: Array.from({ length: activeK }, (_, j) => Array.from(vectors.subarray(j * d, (j + 1) * d))),
        weights: replayer.replay(rows).weights,
      };
    } finally {
      recommender.dispose();
      model.dispose();
    }
  }

  destroy(): void {
    this.ctx.destroy();
  }
}

let server: PreviewServer | undefined;
let browser: Browser | undefined;
let baseUrl = '';

const modelDir = join(work, 'model');
let titles = '';

beforeAll(async () => {
  await build({ configFile, logLevel: 'warn', build: { outDir } });
  const data = writeData(work);
  titles = data.titles;
  const run = mind(['train', '--data', data.ratings, '--seq-len', '10', '--dim', '8', '--k', '3', '--hidden', '8', '--num-sampled', '16', '--epochs', '3', '--batch-size', '64', '--lr', '0.02', '--no-baseline', '--seed', '3', '--out', modelDir]);
  expect(run.status, run.stderr).toBe(0);
  // The checkpoint directory as `mind train` left it, served next to the page for the URL loader.
  cpSync(modelDir, join(outDir, 'models', 'node'), { recursive: true });
  copyFileSync(titles, join(outDir, 'models', 'movies.csv'));
  server = await preview({ configFile, logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port: 0, strictPort: true } });
  baseUrl = server.resolvedUrls?.local[0] ?? '';
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

/** A page that records every console error and uncaught exception into `problems`. */
async function openPage(query = ''): Promise<{ page: Page; problems: string[] }> {
  expect(baseUrl, 'the preview server has no local URL').not.toBe('');
  const page = await browser!.newPage({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true });
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  await page.goto(`${baseUrl}${query}`);
  expect(await page.evaluate(() => 'gpu' in navigator), 'navigator.gpu in the page').toBe(true);
  return { page, problems };
}

async function waitForStatus(page: Page, testId: string, wanted: string, problems: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let status = '';
  while (Date.now() < deadline) {
    status = (await page.getByTestId(testId).textContent())?.trim() ?? '';
    if (status === wanted || status.startsWith('error')) break;
    await page.waitForTimeout(100);
  }
  expect(status, problems.join('\n')).toBe(wanted);
}

async function shown(page: Page): Promise<Shown> {
  return page.evaluate(() => {
    const rows = Array.from(document.querySelectorAll<HTMLElement>('[data-testid="recommendations"] tr.recommendation'));
    const cards = Array.from(document.querySelectorAll<HTMLElement>('[data-testid="session-capsules"] .session-capsule'));
    return {
      ids: rows.map((r) => Number(r.dataset.id)),
      scores: rows.map((r) => Number(r.dataset.score)),
      interest: rows.map((r) => Number(r.dataset.interest)),
      vectors: cards.map((c) => JSON.parse(c.dataset.vector!) as number[]),
      gathered: cards.map((c) => Object.fromEntries(Array.from(c.querySelectorAll<HTMLElement>('.gathered-item'), (li) => [li.dataset.id!, Number(li.dataset.weight)]))),
      capsuleText: document.querySelector('[data-testid="session-capsules"]')!.textContent ?? '',
    };
  });
}

/** The page equals Node: same list (ids, order, interests), scores and vectors within tolerance, and each gathered item's weight. */
function expectEqual(page: Shown, node: Expected, history: number[], firstRouted: number, what: string): void {
  expect(page.ids, `${what}: ids`).toEqual(node.ids);
  expect(page.interest, `${what}: retrieving interests`).toEqual(node.interest);
  expect(maxRelativeError(page.scores, node.scores, SCORE_RTOL, SCORE_ATOL), `${what}: scores ${page.scores} vs ${node.scores}`).toBeLessThanOrEqual(1);
  expect(page.vectors.length, `${what}: active interests`).toBe(node.vectors.length);
  page.vectors.forEach((v, j) => expect(maxRelativeError(v, node.vectors[j], 1e-3, 1e-5), `${what}: interest ${j + 1}`).toBeLessThanOrEqual(1));
  // Every history item (the histories here are shorter than L) sits in exactly one routed
  // capsule, the one with its largest weight, with the weight Node's replay gives it.
  const routedCards = page.gathered.slice(firstRouted);
  expect(routedCards.length, `${what}: routed capsules`).toBe(node.weights.length);
  history.forEach((id, i) => {
    const column = node.weights.map((row) => row[i]);
    const best = column.indexOf(Math.max(...column));
    expect(routedCards[best][String(id)], `${what}: weight of item ${id} in capsule ${best + 1}`).toBeCloseTo(column[best], 3);
  });
}

test('a model trained by `mind train` serves the same lists in the page as in Node, click after click', async () => {
  const { version } = JSON.parse(readFileSync(join(modelDir, 'checkpoint.json'), 'utf8'));
  const node = await NodeServing.open(modelDir);
  try {
    const { page, problems } = await openPage();
    // Weights that are not the checkpoint's (one byte changed) are refused by their SHA-256.
    const tampered = join(work, 'tampered', 'model.safetensors');
    mkdirSync(join(work, 'tampered'), { recursive: true });
    const bytes = readFileSync(join(modelDir, version, 'model.safetensors'));
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(tampered, bytes);
    await page.getByTestId('model-files').setInputFiles([join(modelDir, 'checkpoint.json'), join(modelDir, version, 'config.json'), tampered]);
    await expect.poll(() => page.getByTestId('session-status').textContent(), { timeout: 60_000 }).toMatch(/^error: .*model\.safetensors: SHA-256 [0-9a-f]{64} does not match/);
    // The page reported it on the console; that error is the expected one, nothing else may be.
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/SHA-256/);
    problems.length = 0;

    await page.getByTestId('model-files').setInputFiles([join(modelDir, 'checkpoint.json'), join(modelDir, version, 'config.json'), join(modelDir, version, 'model.safetensors'), titles]);
    await waitForStatus(page, 'session-status', 'ready', problems, 120_000);
    const manifest = JSON.parse(readFileSync(join(modelDir, version, 'config.json'), 'utf8'));
    const firstRouted = manifest.config.globalInterest ? 1 : 0;

    const history: number[] = [];
    let previous: Shown | undefined;
    let updates = 0;
    const check = async (what: string, serving: { k?: number; dynamicK?: boolean } = {}) => {
      updates++;
      await waitForStatus(page, 'session-status', `updated ${updates}`, problems, 180_000);
      const now = await shown(page);
      expectEqual(now, await node.expect(history, serving), history, firstRouted, what);
      if (previous) {
        expect(now.ids, `${what}: the list did not change`).not.toEqual(previous.ids);
        expect(now.capsuleText, `${what}: the capsules did not change`).not.toBe(previous.capsuleText);
      }
      expect(await page.getByTestId('update-time').textContent()).toMatch(/\d+(\.\d+)? ms for the update/);
      expect(await page.locator('[data-testid="projection"] .history').count(), `${what}: history dots`).toBe(history.length);
      expect(await page.locator('[data-testid="projection"] .interest').count(), `${what}: interest markers`).toBe(now.vectors.length);
      previous = now;
    };

    // Three clicks found by title search, from two genres.
    for (const [query, what] of [['comedy picture 3', 'first click'], ['western picture 1', 'second click'], ['comedy picture 7', 'third click']] as const) {
      await page.getByTestId('item-search').fill(query);
      const result = page.getByTestId('search-results').locator('button').first();
      const id = Number(await result.getAttribute('data-id'));
      expect(await result.textContent(), `search "${query}"`).toMatch(new RegExp(query, 'i'));
      history.push(id);
      await result.click();
      await check(what);
    }

    // Removing an item re-serves the shorter history.
    await page.getByTestId('history').locator('li').nth(1).getByRole('button').click();
    history.splice(1, 1);
    await check('removed the second item');

    // Every one of the K = 3 capsules for the two items (dynamic K would route them into one),
    // then serving K = 1: one routed capsule.
    expect(manifest.config.dynamicK).toBe(true);
    await page.locator('#serve-dynamic-k').uncheck();
    await check('dynamic K off', { dynamicK: false });
    expect(previous!.vectors).toHaveLength(firstRouted + 3);
    await page.locator('#serve-k').fill('1');
    await page.locator('#serve-k').dispatchEvent('change');
    await check('K = 1', { k: 1, dynamicK: false });
    expect(previous!.vectors).toHaveLength(firstRouted + 1);

    // Back to K = 3, and two more clicks, on items of the list itself and of the third genre.
    await page.locator('#serve-k').fill('3');
    await page.locator('#serve-k').dispatchEvent('change');
    await check('K = 3', { k: 3, dynamicK: false });
    const listed = page.getByTestId('recommendations').locator('tr.recommendation').first();
    history.push(Number(await listed.getAttribute('data-id')));
    await listed.getByRole('button').click();
    await check('a click on the list', { k: 3, dynamicK: false });
    await page.getByTestId('item-search').fill('noir picture 4');
    const noir = page.getByTestId('search-results').locator('button').first();
    history.push(Number(await noir.getAttribute('data-id')));
    await noir.click();
    await check('a third genre', { k: 3, dynamicK: false });
    mkdirSync(resolve(root, 'test/out'), { recursive: true });
    await page.locator('#session').screenshot({ path: screenshot });
    expect(problems).toEqual([]);
    await page.close();

    // The same checkpoint directory served next to the page, loaded by URL: checkpoint.json is
    // read, the files' sizes and hashes checked, and the first click gives the same list.
    const byUrl = await openPage(`?${new URLSearchParams({ model: 'models/node/', titles: 'models/movies.csv' })}`);
    await waitForStatus(byUrl.page, 'session-status', 'ready', byUrl.problems, 120_000);
    expect(await byUrl.page.locator('#session-model').textContent()).toContain('/models/node/');
    await byUrl.page.getByTestId('item-search').fill('western picture 1');
    const first = byUrl.page.getByTestId('search-results').locator('button').first();
    const id = Number(await first.getAttribute('data-id'));
    await first.click();
    await waitForStatus(byUrl.page, 'session-status', 'updated 1', byUrl.problems, 180_000);
    expectEqual(await shown(byUrl.page), await node.expect([id]), [id], firstRouted, 'loaded by URL');
    expect(byUrl.problems).toEqual([]);
    await byUrl.page.close();
  } finally {
    node.destroy();
  }
}, 900_000);

test('a model trained in the page, downloaded, gives the same lists in Node', async () => {
  const query = new URLSearchParams({ autostart: '1', items: '60', categories: '3', users: '150', length: '8', dim: '8', k: '2', hidden: '8', sampled: '16', batch: '32', epochs: '1', steps: '12', seed: '2' });
  const { page, problems } = await openPage(`?${query}`);
  await waitForStatus(page, 'status', 'done', problems, 400_000);
  await waitForStatus(page, 'session-status', 'ready', problems, 120_000);
  const folder = join(work, 'downloaded');
  mkdirSync(folder, { recursive: true });
  const downloads: string[] = [];
  const saved: Promise<void>[] = [];
  page.on('download', (download) => {
    downloads.push(download.suggestedFilename());
    saved.push(download.saveAs(join(folder, download.suggestedFilename())));
  });
  await page.locator('#download-model').click();
  const deadline = Date.now() + 30_000;
  while (downloads.length < 2 && Date.now() < deadline) await page.waitForTimeout(100);
  expect(downloads.sort()).toEqual(['config.json', 'model.safetensors']);
  await Promise.all(saved);

  // Dynamic K would route three items into one capsule, where the routing's initial logits
  // cannot matter; all K = 2 capsules make the lists depend on every part of the model.
  await page.locator('#serve-dynamic-k').uncheck();
  const history: number[] = [];
  for (const [name, updates] of [['i5', 1], ['i33', 2], ['i12', 3]] as const) {
    await page.getByTestId('item-search').fill(name);
    const result = page.getByTestId('search-results').locator(`button`, { hasText: new RegExp(`^${name}$`) });
    history.push(Number(await result.getAttribute('data-id')));
    await result.click();
    await waitForStatus(page, 'session-status', `updated ${updates}`, problems, 180_000);
  }
  const onPage = await shown(page);
  // The two downloads in one folder are a checkpoint in the layout before pointers, which the CLI reads.
  const node = await NodeServing.open(folder);
  try {
    const manifest = JSON.parse(readFileSync(join(folder, 'config.json'), 'utf8'));
    expect(manifest.data.trainedIn).toBe('browser');
    expectEqual(onPage, await node.expect(history, { dynamicK: false }), history, manifest.config.globalInterest ? 1 : 0, 'the downloaded model');
    expect(onPage.vectors).toHaveLength((manifest.config.globalInterest ? 1 : 0) + 2);
  } finally {
    node.destroy();
  }
  expect(problems).toEqual([]);
  await page.close();
}, 900_000);
