/**
 * Crash-consistent checkpoint directories (issue #10): a process saving run after run is
 * SIGKILLed at random moments, and every time the directory reads back as one whole run with
 * every hash matching; a retrain without a baseline leaves none of the old one; damaged files
 * are reported by name.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { Random } from '../../src/data/random.js';
import { openCheckpoint, writeCheckpointFiles } from '../../src/node/checkpoint-store.js';

const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'mind-store-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Reads every file of the directory's run (hash-checked) and checks they belong to one run. */
async function readWholeRun(path: string): Promise<number> {
  const checkpoint = await openCheckpoint(path);
  const config = JSON.parse(new TextDecoder().decode(await checkpoint.read('config.json')));
  expect([...checkpoint.names].sort()).toEqual(['config.json', ...config.files].sort());
  const model = await checkpoint.read('model.safetensors');
  // The sizes the writer recorded: a truncated (or empty) file must not pass the every() below.
  expect(model.length).toBe(config.bytes['model.safetensors']);
  expect(model.every((b) => b === config.run % 251)).toBe(true);
  if (checkpoint.has('baseline.json')) {
    expect(JSON.parse(new TextDecoder().decode(await checkpoint.read('baseline.json'))).run).toBe(config.run);
    const baseline = await checkpoint.read('baseline.safetensors');
    expect(baseline.length).toBe(config.bytes['baseline.safetensors']);
    expect(baseline.every((b) => b === config.run % 251)).toBe(true);
  }
  return config.run;
}

function saveUntilKilled(path: string, firstRun: number, delayMs: number): Promise<void> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/save-loop.ts', path, String(firstRun)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.once('data', () => setTimeout(() => child.kill('SIGKILL'), delayMs));
    child.on('exit', (code, signal) => (signal === 'SIGKILL' ? done() : fail(new Error(`save loop exited ${code}: ${stderr}`))));
  });
}

describe('checkpoint store', () => {
  test('SIGKILL at 25 random moments of repeated saves: always one whole run, hashes matching', async () => {
    const path = join(dir, 'killed');
    const random = new Random(10);
    let lastRun = 0;
    let advanced = 0;
    for (let kill = 0; kill < 25; kill++) {
      await saveUntilKilled(path, lastRun + 1000, 20 + random.int(400));
      let run: number;
      try {
        run = await readWholeRun(path);
      } catch (err) {
        // Only possible if the very first save was killed before its pointer was written.
        expect(lastRun, (err as Error).message).toBe(0);
        continue;
      }
      if (run > lastRun) advanced++;
      lastRun = run;
    }
    // The kills did land mid-run: the directory moved on between most of them.
    expect(advanced).toBeGreaterThan(10);
    // Nothing but the current version is left once a later save completes.
    await writeCheckpointFiles(path, new Map<string, string | Uint8Array>([['config.json', JSON.stringify({ run: 2, files: ['model.safetensors'], bytes: { 'model.safetensors': 8 } })], ['model.safetensors', new Uint8Array(8).fill(2)]]));
    expect(readdirSync(path).filter((n) => n.startsWith('run-')).length).toBe(1);
    expect(await readWholeRun(path)).toBe(2);
  }, 300_000);

  test('a new run replaces the old one as a whole: no baseline of an older run survives', async () => {
    const path = join(dir, 'replace');
    await writeCheckpointFiles(path, new Map([['config.json', '{}'], ['baseline.json', '{}']]));
    await writeCheckpointFiles(path, new Map([['config.json', '{"b":1}']]));
    const checkpoint = await openCheckpoint(path);
    expect(checkpoint.names).toEqual(['config.json']);
    expect(checkpoint.has('baseline.json')).toBe(false);
  });

  test('a changed or truncated file is reported with its path', async () => {
    const path = join(dir, 'damaged');
    const version = await writeCheckpointFiles(path, new Map([['a.bin', new Uint8Array(100).fill(1)], ['b.bin', new Uint8Array(100).fill(2)]]));
    writeFileSync(join(version, 'a.bin'), new Uint8Array(100).fill(3));
    truncateSync(join(version, 'b.bin'), 60);
    const checkpoint = await openCheckpoint(path);
    await expect(checkpoint.read('a.bin')).rejects.toThrow(`${join(version, 'a.bin')}: SHA-256`);
    await expect(checkpoint.read('b.bin')).rejects.toThrow(`${join(version, 'b.bin')}: 60 bytes, checkpoint.json says 100: truncated`);
  });

  test('a directory from before pointers still opens (legacy); a non-checkpoint is named', async () => {
    writeFileSync(join(dir, 'file'), 'x');
    await expect(openCheckpoint(join(dir, 'file'))).rejects.toThrow('not a checkpoint directory (it is a file)');
    await expect(openCheckpoint(join(dir, 'nope'))).rejects.toThrow(`${join(dir, 'nope')}: not a checkpoint directory`);
    const legacy = mkdtempSync(join(dir, 'legacy-'));
    writeFileSync(join(legacy, 'config.json'), '{}');
    writeFileSync(join(legacy, 'model.safetensors'), 'w');
    const checkpoint = await openCheckpoint(legacy);
    expect(checkpoint.legacy).toBe(true);
    expect(checkpoint.names.sort()).toEqual(['config.json', 'model.safetensors']);
    // The next save leaves only the new layout.
    await writeCheckpointFiles(legacy, new Map([['config.json', '{"new":1}']]));
    expect(readdirSync(legacy).filter((n) => !n.startsWith('run-'))).toEqual(['checkpoint.json']);
  });
});
