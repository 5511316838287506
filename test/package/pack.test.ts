/**
 * The published package works from a fresh directory. `npm pack` (which builds dist/) once, then:
 * - a Node app installs the tarball with `webgpu` (an optional peer dependency), imports the
 *   library, runs a kernel, reads a .wgsl file as text, and runs the installed `mind` command;
 * - an app installs the tarball without `webgpu`: `require.resolve` finds both entries, a
 *   context in Node fails with a message naming the install command, and a browser bundle of an
 *   entry that imports the library holds no module of the `webgpu` package and no Dawn binary.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { WEBGPU_PACKAGE_VERSION } from '../../src/gpu/provider.js';

const root = resolve(import.meta.dirname, '../..');
const work = mkdtempSync(join(tmpdir(), 'mind-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
let tarball = '';

beforeAll(() => {
  execFileSync('npm', ['pack', '--pack-destination', work], { cwd: root, stdio: 'pipe' });
  const name = readdirSync(work).find((f) => f.endsWith('.tgz'));
  expect(name).toBeDefined();
  tarball = join(work, name!);
}, 300_000);

/** A fresh app directory with `packages` installed from the npm cache when it has them. */
function app(name: string, packages: string[]): string {
  const dir = join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', type: 'module', private: true }));
  execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...packages], { cwd: dir, stdio: 'pipe' });
  return dir;
}

const consumer = `
import { readFile } from 'node:fs/promises';
import { createContext, add } from 'mind-webgpu';
const ctx = await createContext();
const values = Array.from(await add(ctx.tensor([1, 2], [2]), ctx.tensor([10, 20], [2])).read());
ctx.destroy();
const routing = await readFile(new URL(import.meta.resolve('mind-webgpu/kernels/routing.wgsl')), 'utf8');
console.log(JSON.stringify({ values, routingHasCompute: routing.includes('@compute') }));
`;

test('webgpu is an optional peer dependency at the version the provider names', () => {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  expect(pkg.dependencies.webgpu).toBeUndefined();
  expect(pkg.peerDependencies.webgpu).toBe(WEBGPU_PACKAGE_VERSION);
  expect(pkg.peerDependenciesMeta.webgpu.optional).toBe(true);
  expect(pkg.devDependencies.webgpu).toBe(WEBGPU_PACKAGE_VERSION);
});

test('with webgpu installed beside it, the package runs kernels in Node and its mind command works', () => {
  const dir = app('node-app', [tarball, `webgpu@${WEBGPU_PACKAGE_VERSION}`]);
  writeFileSync(join(dir, 'main.mjs'), consumer);
  const started = Date.now();
  const run = spawnSync(process.execPath, ['main.mjs'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  expect(run.status, run.stderr).toBe(0);
  expect(JSON.parse(run.stdout.trim())).toEqual({ values: [11, 22], routingHasCompute: true });
  expect(Date.now() - started).toBeLessThan(30_000);
  const help = spawnSync(join(dir, 'node_modules/.bin/mind'), ['--help'], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
  expect(help.status, help.stderr).toBe(0);
  expect(help.stdout).toContain('train');
  expect(help.stdout).toContain('recommend');
}, 300_000);

test('without webgpu: require.resolve works, Node names the install command, the browser bundle has no Dawn', async () => {
  const dir = app('browser-app', [tarball]);
  expect(existsSync(join(dir, 'node_modules/webgpu'))).toBe(false);

  const resolved = spawnSync(process.execPath, ['-p', "[require.resolve('mind-webgpu'), require.resolve('mind-webgpu/node')].join('\\n')"], {
    cwd: dir,
    encoding: 'utf8',
  });
  expect(resolved.status, resolved.stderr).toBe(0);
  expect(resolved.stdout.trim().split('\n')).toEqual([
    join(dir, 'node_modules/mind-webgpu/dist/index.js'),
    join(dir, 'node_modules/mind-webgpu/dist/node.js'),
  ]);

  const node = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', "import { createContext } from 'mind-webgpu'; await createContext().catch((e) => console.log(e.message));"],
    { cwd: dir, encoding: 'utf8', timeout: 60_000 },
  );
  expect(node.status, node.stderr).toBe(0);
  expect(node.stdout).toContain(`Install it with: npm install webgpu@${WEBGPU_PACKAGE_VERSION}`);

  writeFileSync(
    join(dir, 'browser.js'),
    "import { createContext, add } from 'mind-webgpu';\nexport async function start() { const ctx = await createContext(); return add(ctx.tensor([1], [1]), ctx.tensor([2], [1])).read(); }\n",
  );
  const output = await build({
    root: dir,
    configFile: false,
    logLevel: 'silent',
    build: { write: false, target: 'es2022', lib: { entry: join(dir, 'browser.js'), formats: ['es'], fileName: 'app' } },
  });
  const outputs = (Array.isArray(output) ? output : [output]).flatMap((o) => ('output' in o ? o.output : []));
  const chunks = outputs.filter((o) => o.type === 'chunk');
  const modules = chunks.flatMap((c) => c.moduleIds);
  // The library itself is in the bundle, webgpu's modules and any native binary are not.
  expect(modules.some((m) => m.includes('node_modules/mind-webgpu/dist/'))).toBe(true);
  expect(modules.filter((m) => m.includes('node_modules/webgpu'))).toEqual([]);
  expect(outputs.filter((o) => o.fileName.endsWith('.node') || o.fileName.includes('dawn'))).toEqual([]);
  const bytes = chunks.reduce((n, c) => n + c.code.length, 0);
  expect(bytes).toBeLessThan(5_000_000);
}, 300_000);
