/** The command's errors name the file, line, column, flag or value at fault, and exit non-zero. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { mind } from './run.js';

const dir = mkdtempSync(join(tmpdir(), 'mind-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('mind command errors', () => {
  test('a missing data file is named', () => {
    const run = mind(['train', '--data', join(dir, 'nope.csv'), '--out', join(dir, 'm')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('nope.csv');
  });

  test('a non-numeric timestamp names file, line and column', () => {
    const path = file('bad-time.csv', 'userId,movieId,rating,timestamp\n1,10,4.0,100\n1,11,3.0,yesterday\n');
    const run = mind(['train', '--data', path, '--out', join(dir, 'm')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${path}:3: column "timestamp"`);
  });

  test('a missing column is named', () => {
    const path = file('no-item.csv', 'userId,rating,timestamp\n1,4.0,100\n');
    const run = mind(['train', '--data', path, '--out', join(dir, 'm')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/no-item\.csv:1: .*item/);
  });

  test('an empty file is reported as such', () => {
    const path = file('empty.csv', '');
    const run = mind(['train', '--data', path, '--out', join(dir, 'm')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('empty.csv');
    expect(run.stderr).toMatch(/empty/i);
  });

  test('a headerless log: --columns and --delimiter (\\t for tab) read it, a bad row names file, line and column', () => {
    const path = file('events.tsv', 'u1\ta\t5\t100\nu1\tb\t3\t50\nu2\ta\t4\tsoon\n');
    const run = mind(['train', '--data', path, '--columns', 'user,item,rating,time', '--delimiter', '\\t', '--out', join(dir, 'm')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`mind: ${path}:3: column "time": "soon" is not a finite number`);
  });

  test('MovieLens files: a bad row names file and line; layout flags the format fixes are refused', () => {
    const path = file('ratings.dat', '1::10::5::100\n1::11::4\n');
    const run = mind(['train', '--data', path, '--out', join(dir, 'm')]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`mind: ${path}:2: malformed row: expected 4 fields as columns are named, got 3`);
    const csv = file('log.csv', 'user;item;time\n1;10;1\n1;11;2\n');
    const forced = mind(['train', '--data', csv, '--format', 'movielens-1m', '--delimiter', ';', '--out', join(dir, 'm')]);
    expect(forced.status).toBe(1);
    expect(forced.stderr).toContain(`mind: delimiter describes a csv file, but format movielens-1m fixes the layout of ${csv}; got delimiter ";"`);
    const empty = mind(['train', '--data', csv, '--columns', 'user,,time', '--out', join(dir, 'm')]);
    expect(empty.status).toBe(1);
    expect(empty.stderr).toContain('--columns must name every column in order, comma separated, got "user,,time"');
  });

  test('bad option values name the option and value', () => {
    const k = mind(['train', '--k', '0', '--out', join(dir, 'm')]);
    expect(k.status).toBe(1);
    expect(k.stderr).toContain('kMax must be an integer in [1, 16], got 0');
    const dim = mind(['train', '--dim', 'wide', '--out', join(dir, 'm')]);
    expect(dim.status).toBe(1);
    expect(dim.stderr).toContain('--dim must be an integer, got "wide"');
  });

  test('a directory that is not a checkpoint is named', () => {
    const run = mind(['eval', '--model', dir]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`--model ${dir}: not a checkpoint directory`);
  });
});
