import { describe, expect, test } from 'vitest';
import type { Interaction } from '../../src/data/interactions.js';
import { groupByUser, heldOutHistoryLength, writeHistory } from '../../src/data/sequences.js';
import { splitUsers } from '../../src/data/split.js';
import { buildItemVocabulary } from '../../src/data/vocabulary.js';

describe('buildItemVocabulary', () => {
  test('ids by descending count, ties by first appearance, 0 for padding', () => {
    const vocabulary = buildItemVocabulary(['b', 'a', 'c', 'a', 'c', 'd', 'a'], ['e', 'b']);
    // Counts: a 3, c 2, b 1, d 1 (b first), e 0 (only in alsoInclude).
    expect(vocabulary.names).toEqual(['<pad>', 'a', 'c', 'b', 'd', 'e']);
    expect([...vocabulary.counts]).toEqual([0, 3, 2, 1, 1, 0]);
    expect(vocabulary.size).toBe(6);
    expect(vocabulary.idOf.get('a')).toBe(1);
    expect(vocabulary.idOf.get('e')).toBe(5);
    expect(vocabulary.idOf.has('<pad>')).toBe(false);
  });
});

describe('groupByUser', () => {
  const at = (user: string, item: string, time: number): Interaction => ({ user, item, time });

  test('orders by time, keeps file order on ties, drops short users', () => {
    const { sequences, droppedUsers } = groupByUser([
      at('u', 'x', 5),
      at('v', 'p', 1),
      at('u', 'y', 2),
      at('w', 'q', 1),
      at('u', 'z', 5),
      at('v', 'r', 0),
      at('u', 'a', 2),
    ]);
    expect(sequences).toEqual([
      { name: 'u', items: ['y', 'a', 'x', 'z'] },
      { name: 'v', items: ['r', 'p'] },
    ]);
    expect(droppedUsers).toBe(1);
    expect(groupByUser([at('u', 'x', 1), at('u', 'y', 2)], 3)).toEqual({ sequences: [], droppedUsers: 1, duplicateRows: 0 });
    expect(() => groupByUser([], 0)).toThrow('minSequence must be a positive integer, got 0');
  });

  test('counts rows repeating an earlier (user, item, time) row, and keeps them', () => {
    const { sequences, duplicateRows } = groupByUser([at('u', 'x', 1), at('u', 'y', 2), at('u', 'x', 1), at('v', 'x', 1), at('u', 'x', 3)]);
    expect(duplicateRows).toBe(1);
    expect(sequences[0].items).toEqual(['x', 'x', 'y', 'x']);
  });
});

describe('held-out rounding and history windows', () => {
  test('history = floor(4n/5) clamped to [1, n-1]', () => {
    // 4n/5 for n = 2..11: 1.6, 2.4, 3.2, 4, 4.8, 5.6, 6.4, 7.2, 8, 8.8.
    const expected = { 2: 1, 3: 2, 4: 3, 5: 4, 6: 4, 7: 5, 8: 6, 9: 7, 10: 8, 11: 8 };
    for (const [n, history] of Object.entries(expected)) expect(heldOutHistoryLength(Number(n))).toBe(history);
    expect(heldOutHistoryLength(100)).toBe(80);
    expect(() => heldOutHistoryLength(1)).toThrow('a held-out sequence needs at least 2 items, got 1');
  });

  test('writeHistory keeps the last L items before the end and pads with 0', () => {
    const sequence = Int32Array.of(5, 6, 7, 8);
    const out = new Int32Array(8).fill(-1);
    expect(writeHistory(sequence, 3, 2, out, 0)).toBe(2);
    expect(writeHistory(sequence, 1, 3, out, 2)).toBe(1);
    expect([...out]).toEqual([6, 7, 5, 0, 0, -1, -1, -1]);
  });
});

describe('splitUsers', () => {
  const ids = Array.from({ length: 101 }, (_, i) => i);

  test('deterministic per seed, disjoint, covering everyone, sizes by rounding', () => {
    const a = splitUsers(ids, 1);
    expect(splitUsers(ids, 1)).toEqual(a);
    expect(splitUsers(ids, 2)).not.toEqual(a);
    // round(10.1) = 10 test, round(10.1) = 10 validation, the rest train.
    expect([a.train.length, a.validation.length, a.test.length]).toEqual([81, 10, 10]);
    const all = [...a.train, ...a.validation, ...a.test].sort((x, y) => x - y);
    expect(all).toEqual(ids);
    for (const part of [a.train, a.validation, a.test]) {
      expect([...part].sort((x, y) => x - y)).toEqual(part);
    }
  });

  test('custom ratios, tiny inputs and bad ratios', () => {
    // 10 users at 2:1:1: test = round(2.5) = 3, validation = round(2.5) = 3, train the other 4.
    const quarters = splitUsers(ids.slice(0, 10), 3, [2, 1, 1]);
    expect([quarters.train.length, quarters.validation.length, quarters.test.length]).toEqual([4, 3, 3]);
    expect(splitUsers([7], 0, [0, 0.5, 0.5])).toEqual({ train: [], validation: [], test: [7] });
    expect(() => splitUsers(ids, 0, [1, -1, 0])).toThrow('ratios must be three finite non-negative numbers');
    expect(() => splitUsers(ids, 0, [0, 0, 0])).toThrow('ratios must not all be 0');
  });
});
