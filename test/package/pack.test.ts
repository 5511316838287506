/**
 * The published package works from a fresh directory: `npm pack` (which builds dist/), install
 * the tarball elsewhere, import the library, run a kernel, read a .wgsl file as text, and run
 * the installed `mind` command.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, test } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'mind-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const consumer = `
import { readFile } from 'node:fs/promises';
import { createContext, add } from 'mind-webgpu';
const ctx = await createContext();
const values = Array.from(await add(ctx.tensor([1, 2], [2]), ctx.tensor([10, 20], [2])).read());
ctx.destroy();
const routing = await readFile(new URL(import.meta.resolve('mind-webgpu/kernels/routing.wgsl')), 'utf8');
console.log(JSON.stringify({ values, routingHasCompute: routing.includes('@compute') }));
`;

test('npm pack installs in a fresh directory and works', () => {
  execFileSync('npm', ['pack', '--pack-destination', work], { cwd: root, stdio: 'pipe' });
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  expect(tarball).toBeDefined();
  const app = join(work, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', type: 'module', private: true }));
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(work, tarball!)], { cwd: app, stdio: 'pipe' });
  writeFileSync(join(app, 'main.mjs'), consumer);
  const started = Date.now();
  const run = spawnSync(process.execPath, ['main.mjs'], { cwd: app, encoding: 'utf8', timeout: 60_000 });
  expect(run.status, run.stderr).toBe(0);
  expect(JSON.parse(run.stdout.trim())).toEqual({ values: [11, 22], routingHasCompute: true });
  expect(Date.now() - started).toBeLessThan(30_000);
  const help = spawnSync(join(app, 'node_modules/.bin/mind'), ['--help'], { cwd: app, encoding: 'utf8', timeout: 60_000 });
  expect(help.status, help.stderr).toBe(0);
  expect(help.stdout).toContain('train');
  expect(help.stdout).toContain('recommend');
}, 300_000);
