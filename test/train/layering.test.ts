/** The trainer takes its validation as a callback: nothing under src/train imports serving code. */
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, test } from 'vitest';

test('src/train imports nothing from src/serve (validation is the caller\'s callback)', () => {
  const dir = resolve(import.meta.dirname, '../../src/train');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    // Every module specifier: `import … from '…'`, `import '…'`, `export … from '…'`, `import('…')`.
    const text = readFileSync(join(dir, file), 'utf8');
    const imports = [...text.matchAll(/^(?:import|export)\b[^;]*?['"]([^'"]+)['"]/gm), ...text.matchAll(/import\(\s*['"]([^'"]+)['"]/g)].map((m) => m[1]);
    expect(imports.length, file).toBeGreaterThan(0);
    expect(imports.filter((path) => path.includes('/serve/')), file).toEqual([]);
  }
});
