/**
 * The demo page end to end in headless Chromium, with WebGPU on Chromium's software adapter
 * (SwiftShader): build the page (the build fails on any Node-only import), serve the build on
 * loopback, let `?autostart=1` train a small synthetic model, and check that the loss fell and
 * the run finished. Saves a screenshot to test/out/demo.png (docs/demo.png is a committed copy).
 *
 * Needs Debian's Chromium at /usr/bin/chromium (.ci/setup-system.sh installs it). Without it,
 * or without WebGPU in the page, the test fails: skipping would hide what it proves.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, expect, test } from 'vitest';
import { CHROMIUM, CHROMIUM_FLAGS } from './chromium.js';

const root = resolve(import.meta.dirname, '../..');
const configFile = resolve(root, 'web/vite.config.ts');
const screenshot = resolve(root, 'test/out/demo.png');
const outDir = mkdtempSync(join(tmpdir(), 'mind-web-'));


const STEPS = 300;
/**
 * The page's other defaults are a small synthetic run (400 items, d = 16, batch 64, 64
 * negatives) that SwiftShader trains on two cores in a few minutes.
 */
const QUERY = new URLSearchParams({ autostart: '1', steps: String(STEPS), seed: '1' });
const RUN_TIMEOUT_MS = 540_000;

let server: PreviewServer | undefined;
let browser: Browser | undefined;

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(outDir, { recursive: true, force: true });
});

test('the demo page trains MIND with WebGPU in headless Chromium', async () => {
  await build({ configFile, logLevel: 'warn', build: { outDir } });
  server = await preview({ configFile, logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1', port: 0, strictPort: true } });
  const url = server.resolvedUrls?.local[0];
  expect(url, 'the preview server has no local URL').toBeDefined();

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  await page.goto(`${url}?${QUERY}`);
  expect(await page.evaluate(() => 'gpu' in navigator), 'navigator.gpu in the page').toBe(true);

  const text = async (id: string) => (await page.getByTestId(id).textContent())?.trim() ?? '';
  let firstLoss: number | undefined;
  let status = await text('status');
  const deadline = Date.now() + RUN_TIMEOUT_MS;
  while (status !== 'done' && !status.startsWith('error') && Date.now() < deadline) {
    const loss = Number(await text('loss'));
    if (firstLoss === undefined && Number.isFinite(loss) && Number(await text('step')) > 0) firstLoss = loss;
    await page.waitForTimeout(250);
    status = await text('status');
  }

  mkdirSync(resolve(root, 'test/out'), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  expect(status, problems.join('\n')).toBe('done');
  expect(Number(await text('step'))).toBe(STEPS);
  const lastLoss = Number(await text('loss'));
  expect(firstLoss, 'no loss was shown while training').toBeDefined();
  expect(lastLoss, `loss went from ${firstLoss} to ${lastLoss}`).toBeLessThan(firstLoss! * 0.9);
  const recall = Number(await text('recall'));
  expect(recall).toBeGreaterThan(0);
  expect(recall).toBeLessThanOrEqual(1);
  expect(await page.locator('.capsule').count()).toBeGreaterThan(0);
  expect(problems).toEqual([]);
}, RUN_TIMEOUT_MS + 60_000);
