import { describe, expect, test } from 'vitest';
import { batches, heldOutUsers, trainingSampleCount, type TrainingBatch } from '../../src/data/batches.js';
import { loadDatasetFromText } from '../../src/data/dataset.js';
import { DataError } from '../../src/data/errors.js';

// a's items by time: x(10) z(20) y(30) x(40) w(50); b's: y(5) z(6); c has one item and is dropped.
const TINY = [
  'userId,movieId,rating,timestamp',
  'a,x,5,10',
  'b,y,5,5',
  'a,y,4,30',
  'c,q,1,1',
  'a,z,3,20',
  'a,x,2,40',
  'b,z,5,6',
  'a,w,1,50',
].join('\n');

/** Every row of an epoch as 'user|history|target', history without the padding. */
function rowsOf(batch: TrainingBatch, maxLength: number): string[] {
  return Array.from(batch.targets, (target, row) => {
    const history = batch.histories.subarray(row * maxLength, row * maxLength + batch.lengths[row]);
    // Everything past the length must be padding.
    const padding = batch.histories.subarray(row * maxLength + batch.lengths[row], (row + 1) * maxLength);
    expect([...padding].every((id) => id === 0)).toBe(true);
    return `${batch.users[row]}|${history.join(',')}|${target}`;
  });
}

describe('loadDatasetFromText and batches on a hand-made example', () => {
  test('all users training: ids by frequency, every prefix once, last batch partial', async () => {
    const dataset = await loadDatasetFromText({ interactions: TINY, maxLength: 3, seed: 1, splitRatios: [1, 0, 0] });
    // Counted in training users' order (a, b), items in time order: x z y x w | y z.
    // x 2, z 2, y 2, w 1; the ties keep first appearance x, z, y.
    expect(dataset.itemNames).toEqual(['<pad>', 'x', 'z', 'y', 'w']);
    expect([...dataset.itemCounts]).toEqual([0, 2, 2, 2, 1]);
    expect(dataset.numItems).toBe(5);
    expect(dataset.users.map((u) => [u.name, [...u.items]])).toEqual([
      ['a', [1, 2, 3, 1, 4]],
      ['b', [3, 2]],
    ]);
    expect(dataset.stats).toEqual({
      interactions: 7,
      droppedUsers: 1,
      duplicateRows: 0,
      skippedRows: 0,
      belowMinRating: 0,
      usersWithoutProfile: 0,
    });
    expect(dataset.split).toEqual({ train: [0, 1], validation: [], test: [] });

    // a = user 0 with L = 3: t=1 [x]→z, t=2 [x,z]→y, t=3 [x,z,y]→x, t=4 [z,y,x]→w; b: [y]→z.
    const expected = ['0|1|2', '0|1,2|3', '0|1,2,3|1', '0|2,3,1|4', '1|3|2'];
    expect(trainingSampleCount(dataset)).toBe(5);
    const epoch = [...batches(dataset, { batchSize: 2, seed: 7, epoch: 0 })];
    expect(epoch.map((batch) => batch.targets.length)).toEqual([2, 2, 1]);
    for (const batch of epoch) {
      expect(batch.histories.length).toBe(batch.targets.length * 3);
      expect(batch.profileCategorical.length).toBe(0);
      expect(batch.profileDense.length).toBe(0);
    }
    const rows = epoch.flatMap((batch) => rowsOf(batch, 3));
    expect([...rows].sort()).toEqual([...expected].sort());

    // Same seed and epoch: same order; another epoch: another order of the same samples.
    const again = [...batches(dataset, { batchSize: 2, seed: 7, epoch: 0 })].flatMap((b) => rowsOf(b, 3));
    expect(again).toEqual(rows);
    const orders = new Set<string>();
    for (let e = 0; e < 8; e++) {
      const other = [...batches(dataset, { batchSize: 5, seed: 7, epoch: e })].flatMap((b) => rowsOf(b, 3));
      expect([...other].sort()).toEqual([...expected].sort());
      orders.add(other.join(' '));
    }
    expect(orders.size).toBeGreaterThan(1);
    expect(() => batches(dataset, { batchSize: 0, seed: 0, epoch: 0 })).toThrow(
      'batchSize must be a positive integer, got 0',
    );
  });

  test('all users held out: 80% history truncated to L, distinct targets, no training counts', async () => {
    const repeats = TINY + '\nd,x,1,1\nd,y,1,2\nd,z,1,3\nd,w,1,4\nd,x,1,5\nd,v,1,6\nd,v,1,7\nd,v,1,8\nd,y,1,9\nd,v,1,10';
    const dataset = await loadDatasetFromText({ interactions: repeats, maxLength: 3, seed: 1, splitRatios: [0, 0, 1] });
    // Nothing is counted, so ids follow first appearance over all users: x z y w, then d's v.
    expect(dataset.itemNames).toEqual(['<pad>', 'x', 'z', 'y', 'w', 'v']);
    expect([...dataset.itemCounts]).toEqual([0, 0, 0, 0, 0, 0]);
    const held = heldOutUsers(dataset, 'test');
    expect([...held.users]).toEqual([0, 1, 2]);
    // a (5 items): history = first 4 = x z y x, last 3 = z y x; target w.
    // b (2 items): history y; target z.
    // d (10 items): history = first 8 = x y z w x v v v, last 3 = v v v; targets y, v → {y, v}.
    expect([...held.lengths]).toEqual([3, 1, 3]);
    expect([...held.histories]).toEqual([2, 3, 1, 3, 0, 0, 5, 5, 5]);
    expect([...held.targetOffsets]).toEqual([0, 1, 2, 4]);
    expect([...held.targets]).toEqual([4, 2, 3, 5]);
    expect(heldOutUsers(dataset, 'validation').users.length).toBe(0);
    expect(trainingSampleCount(dataset)).toBe(0);
  });

  test('item counts come from training users only; held-out-only items get the last ids', async () => {
    const lines = ['user,item,time'];
    for (let u = 0; u < 40; u++) {
      lines.push(`u${u},common,1`, `u${u},only-${u},2`);
    }
    const dataset = await loadDatasetFromText({ interactions: lines.join('\n'), maxLength: 4, seed: 3 });
    expect(dataset.split.train.length).toBe(32);
    const trainCounts = new Float64Array(dataset.numItems);
    for (const user of dataset.split.train) for (const id of dataset.users[user].items) trainCounts[id]++;
    expect([...dataset.itemCounts]).toEqual([...trainCounts]);
    expect(dataset.itemCounts[1]).toBe(32);
    // Ids are sorted by training count: every held-out user's own item comes after all trained ones.
    const trainedIds = dataset.split.train.map((u) => dataset.users[u].items[1]);
    const heldIds = [...dataset.split.validation, ...dataset.split.test].map((u) => dataset.users[u].items[1]);
    expect(Math.min(...heldIds)).toBeGreaterThan(Math.max(...trainedIds));
    for (const id of heldIds) expect(dataset.itemCounts[id]).toBe(0);
  });

  test('features attach to items and users; batches carry profiles', async () => {
    const dataset = await loadDatasetFromText({
      interactions: TINY,
      maxLength: 2,
      seed: 1,
      splitRatios: [1, 0, 0],
      itemFeatures: { source: 'movieId,genres\nx,A|B\nw,B\n', fileName: 'movies.csv' },
      userFeatures: { source: 'userId,segment,age\nb,s2,30\n', categorical: ['segment'], dense: ['age'] },
    });
    expect(dataset.itemFeatures!.spaces.map((s) => s.values)).toEqual([['A', 'B']]);
    // ids: x 1, z 2, y 3, w 4.
    expect([...dataset.itemFeatures!.offsets]).toEqual([0, 0, 2, 2, 2, 3]);
    expect([...dataset.itemFeatures!.values]).toEqual([0, 1, 1]);
    expect(dataset.userFeatures).toEqual({
      categorical: [{ name: 'segment', size: 2, values: ['<unknown>', 's2'] }],
      dense: ['age'],
    });
    // a has no profile row: unknown category, dense 0.
    expect([...dataset.users[0].profileCategorical, ...dataset.users[0].profileDense]).toEqual([0, 0]);
    expect([...dataset.users[1].profileCategorical, ...dataset.users[1].profileDense]).toEqual([1, 30]);
    expect(dataset.stats.usersWithoutProfile).toBe(1);
    const [batch] = [...batches(dataset, { batchSize: 10, seed: 0, epoch: 0 })];
    batch.users.forEach((user, row) => {
      expect(batch.profileCategorical[row]).toBe(user === 1 ? 1 : 0);
      expect(batch.profileDense[row]).toBe(user === 1 ? 30 : 0);
    });
  });

  test('errors from the files it reads carry their file names', async () => {
    const error = await loadDatasetFromText({
      interactions: TINY,
      interactionOptions: { fileName: 'ratings.csv' },
      maxLength: 2,
      seed: 1,
      userFeatures: { source: 'userId,age\na,x\n', categorical: [], dense: ['age'], fileName: 'users.csv' },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).message).toBe('users.csv:2: column "age": "x" is not a finite number');
    await expect(loadDatasetFromText({ interactions: TINY, maxLength: 0, seed: 1 })).rejects.toThrow(
      'maxLength must be a positive integer, got 0',
    );
  });
});
