/**
 * Nothing lost, nothing mixed (issue #10), through the `mind` command: Ctrl-C and SIGTERM save a
 * resumable checkpoint and exit 130 / 143; `--resume` continues a run stopped by a signal or by
 * --max-steps to weights bitwise equal to a run never stopped; a retrain with --no-baseline
 * keeps no old baseline; a damaged file is reported as damaged, by name.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openCheckpoint } from '../../src/node/checkpoint-store.js';
import { TINY, writeInteractions } from './fixtures.js';
import { type CliRun, mind, root } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'mind-resume-'));
const data = join(dir, 'ratings.csv');
const train = (out: string, ...extra: string[]) => ['train', '--data', data, ...TINY, '--batch-size', '8', '--epochs', '2', '--out', out, ...extra];
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the command and sends `signal` once it has reported its first training step. */
function interrupted(args: string[], signal: NodeJS.Signals): Promise<CliRun> {
  return new Promise((done) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', './scripts/wgsl-loader.mjs', 'scripts/mind.ts', ...args], { cwd: root });
    let stdout = '';
    let stderr = '';
    let sent = false;
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!sent && / step \d+\//.test(stderr)) {
        sent = true;
        child.kill(signal);
      }
    });
    child.on('exit', (status) => done({ status, stdout, stderr }));
  });
}

/** The bytes of a file of the run a checkpoint directory holds (hash-checked). */
async function runFile(path: string, name: string): Promise<Buffer> {
  return Buffer.from(await (await openCheckpoint(path)).read(name));
}

async function expectSameWeights(a: string, b: string, names = ['model.safetensors', 'baseline.safetensors']): Promise<void> {
  for (const name of names) expect((await runFile(b, name)).equals(await runFile(a, name)), `${name} of ${b}`).toBe(true);
}

describe('interrupt and resume through the command', () => {
  const whole = join(dir, 'whole');
  beforeAll(() => {
    writeInteractions(data);
    const run = mind(train(whole));
    expect(run.status, run.stderr).toBe(0);
  }, 300_000);

  test('--max-steps, then --resume with a larger budget: bitwise the uninterrupted run, baseline included', async () => {
    const out = join(dir, 'capped');
    const first = mind(train(out, '--max-steps', '5'));
    expect(first.status, first.stderr).toBe(0);
    expect(first.stderr).toContain(`continue with: mind train --resume ${out} --max-steps N`);
    expect((await openCheckpoint(out)).has('resume.json')).toBe(true);
    const second = mind(['train', '--resume', out, '--max-steps', '100000']);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stderr).toContain('resuming MIND at step 5');
    await expectSameWeights(whole, out);
    expect((await openCheckpoint(out)).has('resume.json')).toBe(false);
    // A finished run has nothing to resume; settings cannot change on resume.
    const again = mind(['train', '--resume', out]);
    expect(again.status).toBe(1);
    expect(again.stderr).toContain('the run there is finished, there is nothing to resume');
    const changed = mind(['train', '--resume', out, '--dim', '16']);
    expect(changed.status).toBe(1);
    expect(changed.stderr).toContain('--dim cannot be given with it');
  }, 300_000);

  test('SIGINT, resume, SIGTERM, resume: exits 130 and 143, then bitwise the uninterrupted run', async () => {
    const out = join(dir, 'signalled');
    const first = await interrupted(train(out), 'SIGINT');
    expect(first.status, first.stderr).toBe(130);
    expect(first.stderr).toMatch(new RegExp(`mind: interrupted by SIGINT: MIND stopped at step \\d+ of \\d+; saved a resumable checkpoint to ${out}\\nhint: continue with: mind train --resume ${out}`));
    expect(first.stderr).not.toMatch(/\n\s+at /);
    const second = await interrupted(['train', '--resume', out], 'SIGTERM');
    expect(second.status, second.stderr).toBe(143);
    expect(second.stderr).toContain('interrupted by SIGTERM');
    const third = mind(['train', '--resume', out]);
    expect(third.status, third.stderr).toBe(0);
    await expectSameWeights(whole, out);
  }, 300_000);

  test('retraining with --no-baseline leaves no baseline of the older run', async () => {
    const out = join(dir, 'retrained');
    cpSync(whole, out, { recursive: true });
    expect((await openCheckpoint(out)).has('baseline.json')).toBe(true);
    const run = mind(train(out, '--no-baseline', '--max-steps', '2', '--seed', '7'));
    expect(run.status, run.stderr).toBe(0);
    const checkpoint = await openCheckpoint(out);
    expect(checkpoint.has('baseline.json')).toBe(false);
    expect(checkpoint.has('baseline.safetensors')).toBe(false);
  }, 300_000);

  test('a damaged baseline is reported as damaged, not as missing; an older layout still evaluates', async () => {
    const out = join(dir, 'damaged');
    cpSync(whole, out, { recursive: true });
    const checkpoint = await openCheckpoint(out);
    const path = join(out, checkpoint.version!, 'baseline.safetensors');
    const bytes = readFileSync(path);
    bytes[bytes.length - 3] ^= 0xff;
    writeFileSync(path, bytes);
    const run = mind(['eval', '--model', out]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${path}: SHA-256`);
    expect(run.stderr).not.toContain('no baseline');
    // The layout before checkpoint.json: the run's files at the top level.
    const legacy = join(dir, 'legacy');
    cpSync(join(whole, (await openCheckpoint(whole)).version!), legacy, { recursive: true });
    const old = mind(['eval', '--model', legacy, '--json']);
    expect(old.status, old.stderr).toBe(0);
    expect(old.stderr).toContain('from before hashed checkpoints');
    expect(Object.keys(JSON.parse(old.stdout).metrics)).toEqual(['mind', 'youtubednn', 'popularity']);
  }, 300_000);
});
