/**
 * Nothing silently wrong through the `mind` command (issue #10): every option is checked before
 * training, errors are one line with a hint (the stack only with --verbose), bad encodings are
 * named with their line, what the data pipeline drops is reported, and evaluation refuses data
 * that changed since training and an empty test set.
 */
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openCheckpoint } from '../../src/node/checkpoint-store.js';
import { fingerprintFile } from '../../src/node/data-files.js';
import { TINY, writeInteractions } from './fixtures.js';
import { mind } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'mind-validation-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const path = (name: string) => join(dir, name);
const STACK = /\n\s+at /;

describe('options are checked before any training', () => {
  beforeAll(() => writeInteractions(path('ratings.csv')));

  test('an --out that is a file, --seed -1, --epochs 0 and a --data directory are refused up front', () => {
    writeFileSync(path('a-file'), 'x');
    const out = mind(['train', '--data', path('ratings.csv'), '--out', path('a-file')]);
    expect(out.status).toBe(1);
    expect(out.stderr).toBe(`mind: --out ${path('a-file')} is an existing file; a checkpoint is a directory\nhint: give a new or existing directory name\n`);
    const seed = mind(['train', '--seed', '-1', '--out', path('m')]);
    expect(seed.status).toBe(1);
    expect(seed.stderr).toContain('--seed must be an integer >= 0, got -1');
    const epochs = mind(['train', '--epochs', '0', '--out', path('m')]);
    expect(epochs.stderr).toContain('--epochs must be an integer >= 1, got 0');
    mkdirSync(path('data-dir'));
    const data = mind(['train', '--data', path('data-dir'), '--out', path('m')]);
    expect(data.status).toBe(1);
    expect(data.stderr).toContain(`mind: --data ${path('data-dir')} is a directory, not a file`);
    expect(data.stderr).not.toMatch(STACK);
  });

  test('--verbose shows the stack of an error', () => {
    const run = mind(['train', '--data', path('ratings.csv'), '--out', path('a-file'), '--verbose']);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(STACK);
  });

  test('a batch too large for the device names --batch-size and a size that fits, before the first step', async () => {
    const out = path('big-batch');
    const run = mind(['train', '--data', path('ratings.csv'), ...TINY, '--batch-size', '1000000', '--out', out]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/mind: --batch-size 1000000 is too large for this device: .* bytes, over its buffer limit of \d+\nhint: use --batch-size \d+ or less/);
    expect(run.stderr).not.toContain('training MIND');
    await expect(openCheckpoint(out)).rejects.toThrow('not a checkpoint directory');
  });
});

describe('input files', () => {
  test('invalid UTF-8 and UTF-16 are named with the file and line', async () => {
    const latin1 = path('latin1.csv');
    writeFileSync(latin1, Buffer.concat([Buffer.from('userId,itemId,timestamp\nJos'), Buffer.from([0xe9]), Buffer.from(',1,1\nJos'), Buffer.from([0xe8]), Buffer.from(',2,2\n')]));
    await expect(fingerprintFile(latin1, '--data')).rejects.toThrow(`${latin1}:2: not valid UTF-8: byte 0xE9 at byte offset 27 starts no UTF-8 character`);
    // A format read as latin-1 (MovieLens 100k and 1M) takes any byte.
    expect((await fingerprintFile(latin1, '--data', 'latin1')).bytes).toBe(readFileSync(latin1).length);
    const utf16 = path('utf16.csv');
    writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('userId,itemId\n1,2\n', 'utf16le')]));
    await expect(fingerprintFile(utf16, '--data')).rejects.toThrow(`${utf16}:1: the file is UTF-16 (little-endian byte order mark 0xFF 0xFE)`);
    const noMark = path('utf16-no-mark.csv');
    writeFileSync(noMark, Buffer.from('userId,itemId\n1,2\n', 'utf16le'));
    await expect(fingerprintFile(noMark, '--data')).rejects.toThrow('a NUL byte at byte offset 1: the file looks like UTF-16 without a byte order mark');
    // Valid multi-byte UTF-8 split across any boundary passes, and the hash is the file's.
    const fine = path('utf8.csv');
    writeFileSync(fine, 'userId,itemId\nJosé,1\n日本,2\n');
    const print = await fingerprintFile(fine, '--data');
    expect(print.bytes).toBe(readFileSync(fine).length);
    const run = mind(['train', '--data', latin1, '--out', path('m')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`mind: ${latin1}:2: not valid UTF-8`);
  });

  test('skipped rows, repeated rows and users dropped for one interaction are reported', () => {
    const data = path('messy.csv');
    writeInteractions(data);
    appendFileSync(data, 'lonely,1,5\nbroken-row\n,2,3\n');
    const lines = readFileSync(data, 'utf8').trim().split('\n');
    appendFileSync(data, `${lines[1]}\n${lines[2]}\n`);
    const run = mind(['train', '--data', data, ...TINY, '--skip-bad-rows', '--no-baseline', '--epochs', '1', '--max-steps', '1', '--out', path('messy')]);
    expect(run.status, run.stderr).toBe(0);
    expect(run.stderr).toContain('data: skipped 2 bad rows (--skip-bad-rows)');
    expect(run.stderr).toContain('data: 2 rows repeat an earlier (user, item, time) row');
    expect(run.stderr).toContain('data: dropped 1 users with fewer than 2 interactions');
  });
});

describe('evaluation refuses what it cannot report honestly', () => {
  test('data changed since training: refused, or a warning with --allow-data-change', () => {
    const data = path('changing.csv');
    writeInteractions(data);
    const out = path('changing-model');
    const train = mind(['train', '--data', data, ...TINY, '--no-baseline', '--epochs', '1', '--max-steps', '2', '--out', out]);
    expect(train.status, train.stderr).toBe(0);
    // A new user of known items: the catalogue stays, the split and the hash change.
    const [, first, second] = readFileSync(data, 'utf8').split('\n').map((line) => line.split(',')[1]);
    appendFileSync(data, `newcomer,${first},1\nnewcomer,${second},2\n`);
    const refused = mind(['eval', '--model', out]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(`mind: --model ${out} was trained on other data: ${data}: changed since training`);
    expect(refused.stderr).toContain('--allow-data-change');
    const allowed = mind(['eval', '--model', out, '--allow-data-change']);
    expect(allowed.status, allowed.stderr).toBe(0);
    expect(allowed.stderr).toContain(`warning: ${data}: changed since training`);
    // --n is named when out of range; above the catalogue, the whole catalogue comes back.
    const tooMany = mind(['recommend', '--model', out, '--history', first, '--n', '300']);
    expect(tooMany.status).toBe(1);
    expect(tooMany.stderr).toContain('--n must be at most 256');
    const zero = mind(['recommend', '--model', out, '--history', first, '--n', '0']);
    expect(zero.stderr).toContain('--n must be an integer >= 1, got 0');
    const all = mind(['recommend', '--model', out, '--history', first, '--n', '200', '--json']);
    expect(all.status, all.stderr).toBe(0);
    expect(JSON.parse(all.stdout).items.length).toBe(77);
    expect(all.stderr).toContain('note: --n 200 is more than the 77 items the catalogue can offer here; all of them are returned');
  });

  test('--validation-users and eval --users: a seeded sample of the held-out users, recorded for resume, named when invalid', async () => {
    const data = path('sampled.csv');
    writeInteractions(data);
    const out = path('sampled-model');
    const train = mind(['train', '--data', data, ...TINY, '--no-baseline', '--epochs', '3', '--max-steps', '1', '--validation-users', '3', '--out', out]);
    expect(train.status, train.stderr).toBe(0);
    // The unfinished run keeps the sample size, so --resume validates on the same users.
    const checkpoint = await openCheckpoint(out);
    expect(JSON.parse(new TextDecoder().decode(await checkpoint.read('resume.json'))).settings.validationUsers).toBe(3);
    const whole = JSON.parse(mind(['eval', '--model', out, '--json']).stdout);
    expect(whole.split.sample).toBeUndefined();
    const testUsers = whole.split.evaluatedUsers;
    expect(testUsers).toBeGreaterThan(4);
    const sampled = mind(['eval', '--model', out, '--users', '4', '--json']);
    expect(sampled.status, sampled.stderr).toBe(0);
    const report = JSON.parse(sampled.stdout);
    expect(report.split.evaluatedUsers).toBe(4);
    expect(report.split.sample).toEqual({ users: 4, of: testUsers, seed: 1 });
    expect(JSON.parse(mind(['eval', '--model', out, '--users', '4', '--json']).stdout).metrics).toEqual(report.metrics);
    const text = mind(['eval', '--model', out, '--users', '4']);
    expect(text.stdout).toContain(`evaluated 4 test users (a sample of the ${testUsers}, drawn with seed 1)`);
    expect(mind(['eval', '--model', out, '--users', '0']).stderr).toContain('--users must be an integer >= 1, got 0');
    expect(mind(['train', '--data', data, ...TINY, '--validation-users', '0', '--out', path('never')]).stderr).toContain('--validation-users must be an integer >= 1, got 0');
  });

  test('0 test users: refused rather than metrics of 0.0000', () => {
    const data = path('three-users.csv');
    writeFileSync(data, 'userId,itemId,timestamp\na,1,1\na,2,2\na,3,3\nb,1,1\nb,3,2\nc,2,1\nc,1,2\n');
    const out = path('three-users-model');
    const train = mind(['train', '--data', data, ...TINY, '--no-baseline', '--epochs', '1', '--out', out]);
    expect(train.status, train.stderr).toBe(0);
    const run = mind(['eval', '--model', out]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/mind: no test users to evaluate: the data set's 3 users split into 3 train, 0 validation and 0 test/);
  });
});
