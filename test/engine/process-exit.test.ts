import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { expect, test } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

test('a Node process that created and destroyed a context exits by itself', () => {
  const started = Date.now();
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--import', './scripts/wgsl-loader.mjs', 'test/fixtures/context-exit.ts'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  const seconds = (Date.now() - started) / 1000;
  expect(run.error, 'the process did not exit within 60 s').toBeUndefined();
  expect(run.status, run.stderr).toBe(0);
  expect(run.stdout.trim()).toBe('[4,6]');
  expect(seconds).toBeLessThan(30);
});
