/**
 * Everything the library entry pulls in must run in a browser: bundle src/index.ts for the
 * browser with a plugin that fails the build on any Node built-in module.
 */
import { builtinModules } from 'node:module';
import { resolve } from 'node:path';
import { build, type Plugin } from 'vite';
import { expect, test } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const nodeOnly = new Set([...builtinModules, ...builtinModules.map((m) => `node:${m}`), 'webgpu']);

function forbidNodeModules(found: string[]): Plugin {
  return {
    name: 'forbid-node-modules',
    enforce: 'pre',
    resolveId(source, importer) {
      if (nodeOnly.has(source) || source.startsWith('node:')) {
        found.push(`${source} (imported by ${importer ?? '?'})`);
      }
      return null;
    },
  };
}

test('the library entry bundles for the browser without Node-only imports', async () => {
  const found: string[] = [];
  await build({
    root,
    configFile: false,
    logLevel: 'silent',
    plugins: [forbidNodeModules(found)],
    build: {
      write: false,
      target: 'es2022',
      lib: { entry: resolve(root, 'src/index.ts'), formats: ['es'], fileName: 'index' },
    },
  });
  expect(found).toEqual([]);
});
