import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

// src/data must run unchanged in a browser: no Node built-ins, no Node globals, no packages
// whose browser build would drag in polyfills.
test('src/data imports nothing but its own modules and uses no Node globals', () => {
  const dir = fileURLToPath(new URL('../../src/data/', import.meta.url));
  const files = readdirSync(dir).filter((name) => name.endsWith('.ts'));
  expect(files.length).toBeGreaterThan(10);
  for (const name of files) {
    const code = readFileSync(dir + name, 'utf8')
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    const imports = [...code.matchAll(/from\s+'([^']+)'/g)].map((match) => match[1]);
    for (const source of imports) expect(source, `${name} imports ${source}`).toMatch(/^\.\/[\w-]+\.js$/);
    expect(code, name).not.toMatch(/\b(process|Buffer|require|__dirname)\b/);
  }
});
