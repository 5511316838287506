/**
 * The checkpoint format modules the demo page loads and saves models with must run unchanged in
 * a browser: every module they reach at run time (type-only imports are erased) is one of the
 * library's own, imports no Node built-in or package, and uses no Node global. The page's build
 * (web/vite.config.ts) refuses Node modules too; this test names the module that broke the rule.
 */
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { expect, test } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const ENTRIES = ['src/train/model-files.ts', 'src/train/checkpoint-pointer.ts'];

function withoutComments(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
}

/** The run-time import specifiers of a module: `import type` and `export type` are left out. */
function runtimeImports(code: string): string[] {
  return [...code.matchAll(/^\s*(import|export)\s+(type\s+)?[^;]*?from\s+'([^']+)'/gm)].filter((m) => !m[2]).map((m) => m[3]);
}

test('the checkpoint format modules reach only browser-safe code', () => {
  const seen = new Set<string>();
  const queue = ENTRIES.map((path) => resolve(root, path));
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const name = relative(root, file);
    const code = withoutComments(readFileSync(file, 'utf8'));
    expect(code, `${name} uses a Node global`).not.toMatch(/\b(process|Buffer|require|__dirname|__filename)\b/);
    for (const source of runtimeImports(code)) {
      // WGSL kernels come in as text (Vite's `?raw`, the page's build inlines them).
      if (/^(\.\.\/)+kernels\/[\w/-]+\.wgsl\?raw$/.test(source)) continue;
      expect(source, `${name} imports ${source}`).toMatch(/^\.\.?\/[\w./-]+\.js$/);
      queue.push(resolve(dirname(file), source.replace(/\.js$/, '.ts')));
    }
  }
  // The closure reaches the manifest checks (config) and the parameter shapes, not only the entries.
  expect([...seen].map((f) => relative(root, f)).sort()).toEqual(expect.arrayContaining(['src/mind/config.ts', 'src/mind/parameters.ts', 'src/train/checkpoint.ts']));
});
