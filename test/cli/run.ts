/** Runs the `mind` command from source, as `npm run mind` does, and captures its output. */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const root = resolve(import.meta.dirname, '../..');

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function mind(args: string[], timeoutMs = 900_000): CliRun {
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--import', './scripts/wgsl-loader.mjs', 'scripts/mind.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.error) throw run.error;
  return { status: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** A file of the run a checkpoint directory holds (through its checkpoint.json), as text. */
export function readRunFile(dir: string, name: string): string {
  const { version } = JSON.parse(readFileSync(join(dir, 'checkpoint.json'), 'utf8'));
  return readFileSync(join(dir, version, name), 'utf8');
}
